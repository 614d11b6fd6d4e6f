//! Wiring of a live session: connect, start the engine pipeline, start the
//! sources and the connection-event forwarder, and run a front end on top.

use async_nats::Client;
use color_eyre::Result;
use tokio::task::JoinHandle;

use std::path::PathBuf;

use crate::analysis::store::Retention;
use crate::analysis::{AnalysisConfig, Engine, EngineConfig, LinkEvent};
use crate::error::UserError;
use crate::host::live::Inputs;
use crate::host::{Host, RecordingDefaults, SourceEvent};
use crate::recording::{Recorder, SourceInfo};
use crate::replay::{Replay, ReplayOptions};
use crate::source::connect::{self, Resolved, Tuning};
use crate::source::forward_events;
use crate::source::live::{self, CoreSpec, now_ns};
use crate::source::stream::{self, StreamSpec};
use crate::source::{flow, lag};
use crate::subject::SubjectPattern;
use crate::tui::{self, app::App, app::UiOptions};

/// How a live session captures and keeps events (`watch`, `demo`,
/// `record`, `analyze --live` fill it from their flags).
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSettings {
    /// Also show `_INBOX.>`, `$JS.>`, `$SYS.>` traffic.
    pub include_internal: bool,
    /// Capacity of the ingest queue, in events.
    pub queue_capacity: usize,
    /// Messages the NATS client buffers per subscription.
    pub subscription_capacity: usize,
    /// History kept for browsing.
    pub retain: Retention,
    /// How often lag and connections are polled (zero: never).
    pub lag_interval: std::time::Duration,
    /// The server's monitoring address, for who consumes what.
    pub monitor: Option<String>,
}

impl Default for SessionSettings {
    fn default() -> Self {
        SessionSettings {
            include_internal: false,
            queue_capacity: crate::host::live::DEFAULT_QUEUE_CAPACITY,
            subscription_capacity: live::SUBSCRIPTION_CAPACITY,
            retain: Retention::default(),
            // Off unless a command sets it from --lag-interval.
            lag_interval: std::time::Duration::ZERO,
            monitor: None,
        }
    }
}

/// How `flowscope replay` plays a recording.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplaySettings {
    pub file: PathBuf,
    /// Speed factor; infinite: as fast as possible.
    pub speed: f64,
    pub paused: bool,
    /// Start this far into the recording.
    pub start: Option<std::time::Duration>,
    pub retain: Retention,
}

/// A running session: the engine host and the tasks feeding it.
pub struct LiveSession {
    pub host: Host,
    /// Where the sources write (kept so the host's queues stay open).
    pub inputs: Inputs,
    pub client: Option<Client>,
    tasks: Vec<JoinHandle<()>>,
    /// Stream readers' consumers, removed by [`LiveSession::close`].
    cleanups: Vec<stream::Cleanup>,
}

/// Checks subjects before connecting, so a typo is a clear error.
pub fn validate_subjects(subjects: &[String]) -> Result<()> {
    for s in subjects {
        SubjectPattern::parse(s).map_err(|e| UserError(format!("cannot subscribe: {e}")))?;
    }
    Ok(())
}

/// Everything a live session is made of besides the connection.
pub struct AttachOptions<'a> {
    pub subjects: Vec<String>,
    pub view: &'a SessionSettings,
    pub analysis: &'a AnalysisConfig,
    /// Analyse (and record) at most this many events.
    pub stop_after: Option<u64>,
    /// What `r` needs (its folder and redaction).
    pub recording: RecordingDefaults,
    /// A recording to write from the first event (created once connected,
    /// so a connection problem leaves no empty file).
    pub initial_recording: Option<PathBuf>,
    /// JetStream streams to read.
    pub streams: Vec<StreamSpec>,
}

impl<'a> AttachOptions<'a> {
    pub fn new(
        subjects: Vec<String>,
        view: &'a SessionSettings,
        analysis: &'a AnalysisConfig,
    ) -> Self {
        AttachOptions {
            subjects,
            view,
            analysis,
            stop_after: None,
            recording: RecordingDefaults::default(),
            initial_recording: None,
            streams: Vec::new(),
        }
    }
}

/// Connects and starts watching `subjects`.
pub async fn attach(
    resolved: &Resolved,
    subjects: Vec<String>,
    view: &SessionSettings,
    analysis: &AnalysisConfig,
) -> Result<LiveSession> {
    attach_with(resolved, AttachOptions::new(subjects, view, analysis)).await
}

/// What a live session's recordings say about it.
pub fn source_info(
    servers: &str,
    subjects: &[String],
    streams: &[StreamSpec],
    include_internal: bool,
) -> SourceInfo {
    SourceInfo {
        kind: "live".into(),
        server: Some(servers.to_owned()),
        subjects: subjects.to_vec(),
        stream: (!streams.is_empty()).then(|| describe_streams(streams)),
        include_internal,
    }
}

/// What a session reads, for one-line messages: `orders.> and stream ORDERS from=all`.
pub fn describe_sources(subjects: &[String], streams: &[StreamSpec]) -> String {
    match (subjects.is_empty(), streams.is_empty()) {
        (false, true) => subjects.join(" "),
        (true, false) => format!("stream {}", describe_streams(streams)),
        _ => format!(
            "{} and stream {}",
            subjects.join(" "),
            describe_streams(streams)
        ),
    }
}

/// `ORDERS from=all filter=orders.>, PAYMENTS from=new`.
pub fn describe_streams(streams: &[StreamSpec]) -> String {
    streams
        .iter()
        .map(|s| {
            let filter = s
                .filter
                .as_ref()
                .map_or(String::new(), |f| format!(" filter={f}"));
            format!("{} from={}{filter}", s.stream, s.from)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// [`attach`] with all options.
pub async fn attach_with(resolved: &Resolved, opts: AttachOptions<'_>) -> Result<LiveSession> {
    let AttachOptions {
        subjects,
        view,
        analysis,
        stop_after,
        mut recording,
        initial_recording,
        streams,
    } = opts;
    validate_subjects(&subjects)?;
    let conn = connect::connect(
        resolved,
        &Tuning {
            name: "flowscope".into(),
            subscription_capacity: Some(view.subscription_capacity),
        },
    )
    .await?;
    // Stream readers and the pollers (lag, CONNZ) use a connection of their
    // own, so that their traffic never counts as subscriber drops.
    let polling = !view.lag_interval.is_zero();
    let wants_lag = polling && conn.client.server_info().jetstream;
    let js_client = if streams.is_empty() && !polling {
        None
    } else {
        let tuning = Tuning {
            name: "flowscope-jetstream".into(),
            subscription_capacity: None,
        };
        Some(connect::connect(resolved, &tuning).await?.client)
    };
    let mut readers = Vec::with_capacity(streams.len());
    if let Some(js) = &js_client {
        for spec in &streams {
            readers.push(stream::open(js, &conn.display, spec).await?);
        }
    }
    let engine = Engine::new(EngineConfig {
        source: conn.display.clone(),
        retention: view.retain,
        analysis: analysis.clone(),
        stop_after,
        ..EngineConfig::default()
    });
    recording.source = source_info(&conn.display, &subjects, &streams, view.include_internal);
    recording.analysis = Some(crate::config::document(analysis));
    let initial = match initial_recording {
        Some(path) => {
            let header = recording.header(now_ns());
            Some(Recorder::create(&path, header, recording.redactor.clone()).map_err(UserError)?)
        }
        None => None,
    };
    let (host, inputs) = crate::host::live::start(engine, view.queue_capacity, recording, initial);
    inputs.send(SourceEvent::Link(
        LinkEvent::Connected {
            version: Some(conn.client.server_info().version),
        },
        now_ns(),
    ));
    let client = conn.client.clone();
    let events = tokio::spawn(forward_events(
        conn.events,
        client.clone(),
        inputs.events.clone(),
    ));
    let spec = CoreSpec {
        subjects,
        include_internal: view.include_internal,
        subscription_capacity: view.subscription_capacity,
    };
    let mut tasks = vec![events];
    if !spec.subjects.is_empty() {
        let subscribed = live::subscribe(client.clone(), spec).await?;
        tasks.push(tokio::spawn(live::pump(
            subscribed,
            inputs.ingest.clone(),
            inputs.events.clone(),
        )));
    }
    if let Some(c) = js_client.as_ref().filter(|_| polling) {
        tasks.push(tokio::spawn(flow::run(
            c.clone(),
            view.monitor.clone(),
            view.lag_interval,
            inputs.events.clone(),
        )));
    }
    if let Some(js) = js_client.as_ref().filter(|_| wants_lag) {
        tasks.push(tokio::spawn(lag::run(
            lag::LagPoller::new(js.clone()),
            view.lag_interval,
            inputs.events.clone(),
        )));
    }
    let cleanups = readers.iter().map(stream::Opened::cleanup).collect();
    for reader in readers {
        tasks.push(tokio::spawn(stream::pump(
            reader,
            inputs.ingest.clone(),
            inputs.events.clone(),
        )));
    }
    Ok(LiveSession {
        host,
        inputs,
        client: Some(client),
        tasks,
        cleanups,
    })
}

impl LiveSession {
    /// A session fed by something other than a NATS connection.
    pub fn offline(host: Host, inputs: Inputs) -> Self {
        LiveSession {
            host,
            inputs,
            client: None,
            tasks: Vec::new(),
            cleanups: Vec::new(),
        }
    }

    /// Runs the TUI until the user quits, then stops everything.
    pub async fn run_tui(self, ui: UiOptions) -> Result<()> {
        let app = App::new(self.host.snapshots.borrow().clone(), ui);
        let result = tui::run(app, self.host.snapshots.clone(), self.host.requests.clone()).await;
        self.close().await;
        result
    }

    /// Stops the sources, removes the stream readers' consumers (rather
    /// than leave them for the server to expire), and stops the engine.
    pub async fn close(self) -> Engine {
        for t in &self.tasks {
            t.abort();
        }
        futures::future::join_all(self.cleanups.iter().map(stream::Cleanup::run)).await;
        self.stop()
    }

    /// Stops the sources and the engine (stream readers' consumers expire
    /// on the server; [`LiveSession::close`] removes them).
    pub fn stop(self) -> Engine {
        for t in &self.tasks {
            t.abort();
        }
        self.host.shutdown()
    }
}

/// The engine settings a replay of `args.file` runs with.
pub fn replay_config(args: &ReplaySettings, analysis: &AnalysisConfig) -> EngineConfig {
    EngineConfig {
        source: format!("replay {}", args.file.display()),
        retention: args.retain,
        initial_link: crate::analysis::snapshot::LinkState::Offline,
        analysis: analysis.clone(),
        ..EngineConfig::default()
    }
}

/// What `flowscope replay` asks of the player.
pub fn replay_options(args: &ReplaySettings, tz: crate::format::TimeZone) -> ReplayOptions {
    ReplayOptions {
        tz,
        speed: args.speed,
        paused: args.paused,
        start_offset_ns: args
            .start
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)),
        ..ReplayOptions::default()
    }
}

/// `flowscope replay`: opens a recording and runs the views over it.
pub async fn replay_tui(
    args: &ReplaySettings,
    ui: UiOptions,
    analysis: &AnalysisConfig,
) -> Result<()> {
    let replay = Replay::start(
        &args.file,
        replay_config(args, analysis),
        replay_options(args, ui.tz),
    )
    .map_err(UserError)?;
    let app = App::new(replay.snapshots.borrow().clone(), ui);
    let result = tui::run(app, replay.snapshots.clone(), replay.requests.clone()).await;
    replay.stop();
    result
}
