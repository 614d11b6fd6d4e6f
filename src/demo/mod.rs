//! `flowscope demo`: a private nats-server, a simulated order system with
//! injected faults, and the live views on top. Without a nats-server the
//! simulation feeds the engine in-process and the status line says so.
//! `--no-tui` runs only the simulation against `--server` (a load generator).

pub mod jetstream;
pub mod server;
pub mod services;

use std::time::{Duration, Instant};

use async_nats::{Client, HeaderMap};
use color_eyre::Result;
use tokio_util::sync::CancellationToken;

use crate::analysis::{AnalysisConfig, Engine, EngineConfig, LinkEvent};
use crate::cli::{ConnArgs, DemoArgs};
use crate::error::UserError;
use crate::host::SourceEvent;
use crate::host::live::Ingest;
use crate::session;
use crate::sim::{self, SimConfig, SimMessage, SimReport, Simulation};
use crate::source::connect::{self, Resolved, Tuning};
use crate::source::live::now_ns;
use crate::tui::app::UiOptions;

/// Where simulated messages go.
pub trait Sink {
    fn send(&mut self, m: SimMessage) -> impl Future<Output = Result<()>> + Send;
    fn flush(&mut self) -> impl Future<Output = Result<()>> + Send;
}

/// Publishes to NATS.
pub struct NatsSink(pub Client);

impl Sink for NatsSink {
    async fn send(&mut self, m: SimMessage) -> Result<()> {
        let mut headers = HeaderMap::new();
        for (k, v) in &m.headers {
            headers.append(k.as_str(), v.as_str());
        }
        self.0
            .publish_with_headers(m.subject, headers, m.payload)
            .await?;
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        connect::settle(&self.0, Duration::from_secs(5)).await
    }
}

/// Feeds the engine directly, for a demo without a nats-server.
pub struct EngineSink(pub Ingest);

impl Sink for EngineSink {
    async fn send(&mut self, m: SimMessage) -> Result<()> {
        self.0.offer(m.envelope(now_ns()));
        Ok(())
    }

    async fn flush(&mut self) -> Result<()> {
        Ok(())
    }
}

impl From<&DemoArgs> for SimConfig {
    fn from(a: &DemoArgs) -> Self {
        SimConfig {
            seed: a.seed,
            dup_rate: a.dup_rate,
            ooo_rate: a.ooo_rate,
            gap_rate: a.gap_rate,
            fail_rate: a.fail_rate,
            stuck_rate: a.stuck_rate,
            drift_after: (a.drift_after > 0).then_some(a.drift_after),
            ..SimConfig::default()
        }
    }
}

/// How far behind its schedule the simulation may fall before it skips ahead.
const MAX_BEHIND_SECS: f64 = 0.25;
/// Longest stretch of sending before the pacing loop looks at the clock.
const MAX_BATCH_TIME: Duration = Duration::from_millis(50);
/// How long finishing the orders in flight may take once stopped.
const FINISH_TIMEOUT: Duration = Duration::from_secs(3);

/// Runs the simulation at `rate` events/s until `duration` passes or
/// `cancel` fires, then lets the orders in flight finish.
pub async fn drive<S: Sink>(
    mut sim: Simulation,
    sink: &mut S,
    rate: f64,
    duration: Option<Duration>,
    cancel: CancellationToken,
) -> Result<SimReport> {
    let start = Instant::now();
    let rate = rate.max(0.0);
    let mut sent: u64 = 0;
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    'pace: loop {
        tokio::select! {
            _ = cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        if duration.is_some_and(|d| start.elapsed() >= d) {
            break;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let due = (elapsed * rate) as u64;
        // When the sink cannot keep up, forget the backlog instead of
        // sending ever bigger batches.
        sent = sent.max(((elapsed - MAX_BEHIND_SECS).max(0.0) * rate) as u64);
        let batch = Instant::now();
        while sent < due {
            if cancel.is_cancelled() {
                break 'pace;
            }
            let Some(m) = sim.next(now_ns()) else { break };
            sink.send(m).await?;
            sent += 1;
            if sent.is_multiple_of(256) {
                // Look at the clock (and the duration) between batches.
                if batch.elapsed() >= MAX_BATCH_TIME {
                    break;
                }
                tokio::task::yield_now().await;
            }
        }
    }
    sim.finish();
    // Let the orders in flight finish, but never hang on a sink that is gone.
    let finish = async {
        while let Some(m) = sim.next(now_ns()) {
            sink.send(m).await?;
        }
        sink.flush().await
    };
    match tokio::time::timeout(FINISH_TIMEOUT, finish).await {
        Ok(result) => result?,
        Err(_) => tracing::warn!("the simulation's last messages could not be sent in time"),
    }
    Ok(sim.report().clone())
}

/// One line describing a report.
pub fn summary(r: &SimReport) -> String {
    use crate::format::{count, counted, plural};
    format!(
        "published {} for {} (and {}): {} completed, {} compensated, {} failed, {} stuck; \
         injected {}, {} out-of-order, {}",
        plural(r.events, "event"),
        plural(r.orders, "order"),
        plural(r.side_events, "side event"),
        count(r.completed),
        count(r.compensated),
        count(r.failed),
        count(r.stuck),
        plural(r.duplicates, "duplicate"),
        count(r.out_of_order),
        counted(
            r.gaps,
            "skipped sequence number",
            "skipped sequence numbers"
        )
    )
}

/// `flowscope demo`.
pub async fn run(
    conn: &ConnArgs,
    args: &DemoArgs,
    ui: UiOptions,
    analysis: &AnalysisConfig,
) -> Result<()> {
    if args.no_tui {
        return run_headless(conn, args).await;
    }
    // The demo follows its own order saga unless the config defines sagas.
    let mut with_saga = analysis.clone();
    if with_saga.sagas.is_empty() {
        with_saga.sagas.push(sim::order_saga());
    }
    let analysis = &with_saga;
    if args.in_process {
        let notice = "demo --in-process: the simulation feeds flowscope directly, without NATS";
        return run_in_process(args, ui, notice.into(), analysis).await;
    }
    match server::find_binary() {
        Ok(_) => run_with_server(args, ui, analysis).await,
        Err(why) => {
            let notice = format!("{why} — meanwhile the simulation runs in-process, without NATS");
            run_in_process(args, ui, notice, analysis).await
        }
    }
}

async fn run_headless(conn: &ConnArgs, args: &DemoArgs) -> Result<()> {
    let resolved = connect::resolve(&conn.into())?;
    let c = connect::connect(
        &resolved,
        &Tuning {
            name: "flowscope-demo".into(),
            ..Tuning::default()
        },
    )
    .await?;
    let cancel = CancellationToken::new();
    let js = jetstream::start(&c.client, args.rate, cancel.clone()).await?;
    services::start(&resolved, cancel.clone()).await?;
    if js.is_none() {
        crate::output::say(&format!(
            "{} has no JetStream; simulating core NATS events only",
            c.display
        ));
    }
    let stop = cancel.clone();
    tokio::spawn(async move {
        // The first Ctrl-C stops cleanly; a second one does not wait.
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
        let _ = tokio::signal::ctrl_c().await;
        std::process::exit(130);
    });
    let mut sink = NatsSink(c.client.clone());
    let report = drive(
        Simulation::new(args.into()),
        &mut sink,
        args.rate,
        args.duration,
        cancel.clone(),
    )
    .await?;
    cancel.cancel();
    crate::output::print(&format!("{}\n", summary(&report)))?;
    Ok(())
}

async fn run_with_server(args: &DemoArgs, ui: UiOptions, analysis: &AnalysisConfig) -> Result<()> {
    // Started on this (the main) thread: see `server::die_with_parent`.
    let server = server::NatsServer::start()
        .map_err(|e| UserError(format!("cannot start the demo's nats-server: {e}")))?;
    let resolved = Resolved {
        servers: vec![server.url()],
        ..Resolved::default()
    };
    let publisher = connect::connect(
        &resolved,
        &Tuning {
            name: "flowscope-demo".into(),
            ..Tuning::default()
        },
    )
    .await?;
    let cancel = CancellationToken::new();
    jetstream::start(&publisher.client, args.rate, cancel.clone()).await?;
    services::start(&resolved, cancel.clone()).await?;
    let sim = Simulation::new(args.into());
    let (rate, duration, token) = (args.rate, args.duration, cancel.clone());
    let client = publisher.client.clone();
    let sim_task =
        tokio::spawn(async move { drive(sim, &mut NatsSink(client), rate, duration, token).await });
    let view = (&args.view).into();
    let live = session::attach(&resolved, vec![">".into()], &view, analysis).await?;
    live.inputs.send(SourceEvent::Notice(Some(format!(
        "demo: private nats-server at {} with a simulated order system ({} ev/s)",
        server.url(),
        args.rate
    ))));
    let result = live.run_tui(ui).await;
    cancel.cancel();
    let _ = sim_task.await;
    drop(server);
    result
}

async fn run_in_process(
    args: &DemoArgs,
    ui: UiOptions,
    notice: String,
    analysis: &AnalysisConfig,
) -> Result<()> {
    let engine = Engine::new(EngineConfig {
        source: "in-process simulation".into(),
        initial_link: crate::analysis::snapshot::LinkState::Offline,
        retention: args.view.retain,
        analysis: analysis.clone(),
        ..EngineConfig::default()
    });
    let (host, inputs) = crate::host::live::start(
        engine,
        args.view.source.queue_capacity,
        crate::host::RecordingDefaults {
            source: crate::recording::SourceInfo {
                kind: "demo".into(),
                ..Default::default()
            },
            analysis: Some(crate::config::document(analysis)),
            ..Default::default()
        },
        None,
    );
    inputs.send(SourceEvent::Link(LinkEvent::Offline, now_ns()));
    inputs.send(SourceEvent::Notice(Some(notice)));
    let cancel = CancellationToken::new();
    let mut sink = EngineSink(inputs.ingest.clone());
    let (sim, rate, duration, token) = (
        Simulation::new(args.into()),
        args.rate,
        args.duration,
        cancel.clone(),
    );
    let sim_task = tokio::spawn(async move { drive(sim, &mut sink, rate, duration, token).await });
    let live = session::LiveSession::offline(host, inputs);
    let result = live.run_tui(ui).await;
    cancel.cancel();
    let _ = sim_task.await;
    result
}
