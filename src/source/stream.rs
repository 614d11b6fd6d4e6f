//! JetStream stream readers (`--stream NAME --from SPEC --filter SUBJECT`).
//!
//! A stream is read with an ordered consumer that flowscope supervises
//! itself: ephemeral, no acks, in memory, described as flowscope's. It
//! tracks the last stream sequence delivered and, on any error, a missed
//! heartbeat, a consumer sequence that skips, or a server restart, creates a
//! new consumer starting right after it. Messages at or below the last
//! sequence are never passed on, so after a restart every stored message is
//! delivered exactly once and an idle reader on `new` does not replay the
//! stream.
//!
//! Work queue streams cannot take a second consumer on the same subjects;
//! they are read message by message with get-by-sequence instead, which
//! disturbs nobody but misses what workers remove before it gets there.

use std::time::Duration;

use async_nats::Client;
use async_nats::jetstream::consumer::{AckPolicy, Consumer, DeliverPolicy, ReplayPolicy, pull};
use async_nats::jetstream::stream::{LastRawMessageErrorKind, RetentionPolicy, Stream};
use async_nats::jetstream::{self, Context};
use color_eyre::Result;
use crossbeam_channel::Sender;
use futures::StreamExt;

use super::live::{envelope_of, header_pairs, now_ns};
use super::start::StartSpec;
use crate::analysis::snapshot::{ReadMode, ReaderStatus};
use crate::envelope::{Envelope, JsMeta};
use crate::error::{UserError, user_error};
use crate::host::SourceEvent;
use crate::host::live::Ingest;
use crate::subject::SubjectPattern;

/// The description every flowscope reader carries; the lag view hides
/// consumers whose description starts with it.
pub const READER_DESCRIPTION: &str = "flowscope reader (ordered, no acks, read-only)";

/// The server sends an idle heartbeat this often while a pull waits.
const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long one pull request waits for messages.
const PULL_EXPIRES: Duration = Duration::from_secs(30);
/// The reader's position is reported at least this often while it changes.
const REPORT_EVERY: Duration = Duration::from_millis(250);
/// Messages asked for in one pull.
const BATCH: usize = 500;
/// A consumer left behind by a crashed flowscope is removed after this.
const INACTIVE_THRESHOLD: Duration = Duration::from_secs(30);
/// How often a work queue stream is looked at when everything was read.
const DIRECT_POLL: Duration = Duration::from_millis(250);
/// Waits between attempts to recreate a reader, growing up to the last.
const RETRY: [Duration; 4] = [
    Duration::from_millis(250),
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

/// What to read.
#[derive(Debug, Clone)]
pub struct StreamSpec {
    pub stream: String,
    pub from: StartSpec,
    /// Only messages on subjects matching this (NATS wildcards).
    pub filter: Option<String>,
}

/// A stream found and checked, ready to be read.
pub struct Opened {
    spec: StreamSpec,
    stream: Stream,
    mode: ReadMode,
    /// The first sequence to read when the start point is a position.
    start_seq: Option<u64>,
    /// The subjects the consumer is filtered on (none: all of them).
    filters: Vec<String>,
    /// The first consumer, created by [`open`] so that a reader is in
    /// place when it returns and a refused start point is reported at once.
    first: Option<Consumer<pull::Config>>,
    warning: Option<String>,
    current: Cleanup,
}

/// The consumer a reader is using right now, so that a session can remove
/// it when it ends (an aborted task cannot clean up after itself).
#[derive(Clone)]
pub struct Cleanup {
    stream: Stream,
    name: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Cleanup {
    fn set(&self, name: Option<String>) {
        *self.name.lock().unwrap_or_else(|e| e.into_inner()) = name;
    }

    /// Deletes the reader's consumer, if it has one.
    pub async fn run(&self) {
        let name = self.name.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(name) = name {
            delete_quietly(&self.stream, &name).await;
        }
    }
}

impl Opened {
    pub fn mode(&self) -> ReadMode {
        self.mode
    }

    pub fn warning(&self) -> Option<&str> {
        self.warning.as_deref()
    }

    /// What removes the reader's consumer when the session ends.
    pub fn cleanup(&self) -> Cleanup {
        self.current.clone()
    }

    fn status(&self) -> ReaderStatus {
        ReaderStatus {
            stream: self.spec.stream.clone(),
            mode: self.mode,
            warning: self.warning.clone(),
            ..ReaderStatus::default()
        }
    }
}

/// Says plainly when the server has no JetStream.
pub fn require_jetstream(client: &Client, servers: &str) -> Result<()> {
    if client.server_info().jetstream {
        Ok(())
    } else {
        user_error(format!(
            "{servers} has no JetStream: start nats-server with -js (or jetstream {{}} in its config) to read streams"
        ))
    }
}

/// Finds the stream and decides how to read it.
pub async fn open(client: &Client, servers: &str, spec: &StreamSpec) -> Result<Opened> {
    require_jetstream(client, servers)?;
    if let Some(f) = &spec.filter {
        SubjectPattern::parse(f).map_err(|e| UserError(format!("--filter: {e}")))?;
    }
    let js = jetstream::new(client.clone());
    let mut stream = match js.get_stream(&spec.stream).await {
        Ok(s) => s,
        Err(e) => return Err(no_stream(&js, &spec.stream, &e.to_string()).await.into()),
    };
    let info = stream
        .info()
        .await
        .map_err(|e| UserError(format!("cannot read stream {}: {e}", spec.stream)))?
        .clone();
    let state = &info.state;
    let mode = match info.config.retention {
        RetentionPolicy::WorkQueue => ReadMode::DirectGet,
        _ => ReadMode::Ordered,
    };
    let warning = match info.config.retention {
        RetentionPolicy::Interest => Some(
            "interest stream: flowscope's reader counts as interest and holds messages back until it has read them"
                .to_owned(),
        ),
        RetentionPolicy::WorkQueue => Some(
            "work queue stream: read by get-by-sequence; messages workers remove first are not seen"
                .to_owned(),
        ),
        RetentionPolicy::Limits => None,
    };
    let start_seq = match (spec.from, mode) {
        (StartSpec::New, _) => Some(state.last_sequence + 1),
        (StartSpec::Seq(n), _) => Some(n),
        (StartSpec::All, ReadMode::DirectGet) => Some(state.first_sequence.max(1)),
        (StartSpec::Last, ReadMode::DirectGet) => Some(state.last_sequence.max(1)),
        (StartSpec::LastPerSubject, ReadMode::DirectGet) => {
            return user_error(format!(
                "{} is a work queue stream: --from last-per-subject is not possible there; use all or last",
                spec.stream
            ));
        }
        _ => None,
    };
    let filters = match (&spec.filter, spec.from, mode) {
        (Some(f), _, _) => vec![f.clone()],
        // The server wants a filter for last-per-subject: the stream's own
        // subjects (several need nats-server 2.10).
        (None, StartSpec::LastPerSubject, ReadMode::Ordered) => {
            let subjects = &info.config.subjects;
            if subjects.len() > 1 && !server_at_least(client, 2, 10) {
                return user_error(format!(
                    "--from last-per-subject on {}, a stream of several subjects, needs nats-server 2.10 or newer; add --filter SUBJECT",
                    spec.stream
                ));
            }
            if subjects.is_empty() {
                vec![">".to_owned()]
            } else {
                subjects.clone()
            }
        }
        _ => Vec::new(),
    };
    let current = Cleanup {
        stream: stream.clone(),
        name: Default::default(),
    };
    let mut opened = Opened {
        spec: spec.clone(),
        current,
        stream,
        mode,
        start_seq,
        filters,
        first: None,
        warning,
    };
    if mode == ReadMode::Ordered {
        let consumer = opened
            .stream
            .create_consumer(consumer_config(&opened, 0))
            .await
            .map_err(|e| UserError(format!("cannot read stream {}: {e}", spec.stream)))?;
        opened
            .current
            .set(Some(consumer.cached_info().name.clone()));
        opened.first = Some(consumer);
    }
    Ok(opened)
}

/// True when the server's version is at least `major.minor`.
fn server_at_least(client: &Client, major: u64, minor: u64) -> bool {
    let version = client.server_info().version;
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let (ma, mi) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (ma, mi) >= (major, minor)
}

/// The error for a stream that is not there, naming the ones that are.
async fn no_stream(js: &Context, name: &str, why: &str) -> UserError {
    let mut names: Vec<String> = Vec::new();
    let mut list = js.stream_names();
    while let Some(Ok(n)) = list.next().await {
        names.push(n);
        if names.len() > 20 {
            break;
        }
    }
    if why.contains("not found") || !names.is_empty() {
        let known = if names.is_empty() {
            "the server has no streams".to_owned()
        } else {
            format!("streams: {}", names.join(", "))
        };
        UserError(format!("no stream named {name} ({known})"))
    } else {
        UserError(format!("cannot read stream {name}: {why}"))
    }
}

/// Reads the stream into the ingest queue until the engine stops.
pub async fn pump(opened: Opened, ingest: Ingest, control: Sender<SourceEvent>) {
    let status = opened.status();
    let _ = control.send(SourceEvent::Reader(status.clone()));
    match opened.mode {
        ReadMode::Ordered => ordered(opened, status, ingest, control).await,
        ReadMode::DirectGet => direct(opened, status, ingest, control).await,
    }
}

/// The consumer to create: from the start point until something was
/// delivered, then from right after the last delivered sequence.
fn consumer_config(opened: &Opened, last_seq: u64) -> pull::Config {
    let deliver_policy = if last_seq > 0 {
        DeliverPolicy::ByStartSequence {
            start_sequence: last_seq + 1,
        }
    } else if let Some(seq) = opened.start_seq {
        DeliverPolicy::ByStartSequence {
            start_sequence: seq.max(1),
        }
    } else {
        match opened.spec.from {
            StartSpec::All => DeliverPolicy::All,
            StartSpec::Last => DeliverPolicy::Last,
            StartSpec::LastPerSubject => DeliverPolicy::LastPerSubject,
            spec => {
                let ns = spec.start_time_ns(now_ns()).unwrap_or(0);
                DeliverPolicy::ByStartTime {
                    start_time: chrono::DateTime::from_timestamp_nanos(ns),
                }
            }
        }
    };
    pull::Config {
        description: Some(READER_DESCRIPTION.to_owned()),
        deliver_policy,
        ack_policy: AckPolicy::None,
        max_deliver: 1,
        replay_policy: ReplayPolicy::Instant,
        filter_subject: match opened.filters.as_slice() {
            [one] => one.clone(),
            _ => String::new(),
        },
        filter_subjects: if opened.filters.len() > 1 {
            opened.filters.clone()
        } else {
            Vec::new()
        },
        inactive_threshold: INACTIVE_THRESHOLD,
        num_replicas: 1,
        memory_storage: true,
        ..pull::Config::default()
    }
}

/// Why one consumer's run ended.
enum Ended {
    /// The engine stopped: stop reading.
    Stopped,
    /// Recreate the consumer, for this reason.
    Recreate(String),
}

async fn ordered(
    mut opened: Opened,
    mut status: ReaderStatus,
    ingest: Ingest,
    control: Sender<SourceEvent>,
) {
    let mut attempt = 0usize;
    loop {
        let before = status.last_seq;
        let first = opened.first.take();
        let reason = match run_consumer(&opened, first, &mut status, &ingest, &control).await {
            Ended::Stopped => return,
            Ended::Recreate(reason) => reason,
        };
        if status.last_seq > before {
            attempt = 0; // it worked for a while: retry at once
        }
        tracing::warn!(stream = %status.stream, last_seq = status.last_seq, %reason, "recreating the stream reader");
        status.restarts += 1;
        status.state = Some(format!("recreating reader: {reason}"));
        if control.send(SourceEvent::Reader(status.clone())).is_err() {
            return;
        }
        tokio::time::sleep(RETRY[attempt.min(RETRY.len() - 1)]).await;
        attempt += 1;
    }
}

/// Creates one consumer and reads from it until something goes wrong.
async fn run_consumer(
    opened: &Opened,
    ready: Option<Consumer<pull::Config>>,
    status: &mut ReaderStatus,
    ingest: &Ingest,
    control: &Sender<SourceEvent>,
) -> Ended {
    let consumer = match ready {
        Some(c) => c,
        None => {
            let config = consumer_config(opened, status.last_seq);
            match opened.stream.create_consumer(config).await {
                Ok(c) => c,
                Err(e) => return Ended::Recreate(format!("cannot create consumer: {e}")),
            }
        }
    };
    let name = consumer.cached_info().name.clone();
    opened.current.set(Some(name.clone()));
    let messages = consumer
        .stream()
        .max_messages_per_batch(BATCH)
        .heartbeat(HEARTBEAT)
        .expires(PULL_EXPIRES)
        .messages()
        .await;
    let mut messages = match messages {
        Ok(m) => m,
        Err(e) => {
            opened.current.set(None);
            delete_quietly(&opened.stream, &name).await;
            return Ended::Recreate(format!("cannot pull: {e}"));
        }
    };
    if status.state.take().is_some() && control.send(SourceEvent::Reader(status.clone())).is_err() {
        return Ended::Stopped;
    }
    let mut expected_cseq = 1u64;
    let mut reported = status.clone();
    let mut reported_at = std::time::Instant::now();
    let ended = loop {
        let next = tokio::time::timeout(REPORT_EVERY, messages.next()).await;
        let due = next.is_err() || reported_at.elapsed() >= REPORT_EVERY;
        if due && *status != reported {
            reported = status.clone();
            reported_at = std::time::Instant::now();
            if control.send(SourceEvent::Reader(reported.clone())).is_err() {
                break Ended::Stopped;
            }
        }
        let msg = match next {
            Err(_) => continue, // idle: the status was brought up to date
            Ok(Some(Ok(m))) => m,
            Ok(Some(Err(e))) => break Ended::Recreate(e.to_string()),
            Ok(None) => break Ended::Recreate("the consumer went away".into()),
        };
        let env = envelope_of(&msg.message, now_ns());
        let Some(js) = env.js.as_ref() else {
            continue; // a status message without metadata
        };
        if js.consumer_seq != expected_cseq {
            break Ended::Recreate(format!(
                "consumer sequence jumped from {} to {}",
                expected_cseq - 1,
                js.consumer_seq
            ));
        }
        expected_cseq += 1;
        if js.stream_seq <= status.last_seq {
            continue; // already delivered before a restart
        }
        status.last_seq = js.stream_seq;
        status.pending = js.pending;
        if !ingest.send(env).await {
            break Ended::Stopped;
        }
    };
    drop(messages);
    opened.current.set(None);
    delete_quietly(&opened.stream, &name).await;
    ended
}

/// Removes a consumer flowscope no longer reads from; the server removes
/// it anyway after [`INACTIVE_THRESHOLD`] when this fails.
async fn delete_quietly(stream: &Stream, name: &str) {
    let _ = tokio::time::timeout(Duration::from_secs(2), stream.delete_consumer(name)).await;
}

/// Reads a work queue stream message by message.
async fn direct(
    opened: Opened,
    mut status: ReaderStatus,
    ingest: Ingest,
    control: Sender<SourceEvent>,
) {
    let filter = opened
        .spec
        .filter
        .as_deref()
        .and_then(|f| SubjectPattern::parse(f).ok());
    let mut next = opened.start_seq.unwrap_or(1);
    // time= and ago=: skip what was stored before (a work queue is short).
    let since_ns = opened.spec.from.start_time_ns(now_ns());
    let mut stream = opened.stream.clone();
    let mut skipped: u64 = 0;
    loop {
        let (first, last) = match stream.info().await {
            Ok(info) => (info.state.first_sequence, info.state.last_sequence),
            Err(e) => {
                status.state = Some(format!("cannot read stream info: {e}"));
                if control.send(SourceEvent::Reader(status.clone())).is_err() {
                    return;
                }
                tokio::time::sleep(RETRY[RETRY.len() - 1]).await;
                continue;
            }
        };
        if next < first {
            skipped += first - next;
            next = first;
        }
        status.pending = (last + 1).saturating_sub(next);
        status.state = None;
        if skipped > 0 {
            status.warning = Some(format!(
                "work queue stream: read by get-by-sequence; {} removed by workers before flowscope read them",
                crate::format::counted(skipped, "message was", "messages were")
            ));
        }
        if control.send(SourceEvent::Reader(status.clone())).is_err() {
            return;
        }
        while next <= last {
            match stream.get_raw_message(next).await {
                Ok(m) => {
                    let keep = filter
                        .as_ref()
                        .is_none_or(|f| f.matches(m.subject.as_str()))
                        && since_ns.is_none_or(|t| m.time.timestamp_nanos_opt().unwrap_or(0) >= t);
                    if keep {
                        let env = direct_envelope(&opened.spec.stream, &m, last);
                        if !ingest.send(env).await {
                            return;
                        }
                    }
                    status.last_seq = next;
                }
                Err(e) if matches!(e.kind(), LastRawMessageErrorKind::NoMessageFound) => {
                    // Removed by a worker (or deleted) before we got to it.
                }
                Err(e) => {
                    status.state = Some(format!("get-by-sequence failed: {e}"));
                    break;
                }
            }
            next += 1;
            status.pending = (last + 1).saturating_sub(next);
        }
        if status.state.is_some() {
            let _ = control.send(SourceEvent::Reader(status.clone()));
            tokio::time::sleep(RETRY[RETRY.len() - 1]).await;
        } else {
            tokio::time::sleep(DIRECT_POLL).await;
        }
    }
}

/// The envelope of a message read by sequence.
fn direct_envelope(
    stream: &str,
    m: &async_nats::jetstream::message::StreamMessage,
    last: u64,
) -> Envelope {
    let mut env = Envelope::new(now_ns(), m.subject.as_str(), m.payload.clone());
    env.headers = header_pairs(&m.headers);
    env.js = Some(JsMeta {
        stream: stream.into(),
        consumer: "".into(),
        stream_seq: m.sequence,
        consumer_seq: 0,
        delivered: 0,
        published_ns: m.time.timestamp_nanos_opt().unwrap_or(0),
        pending: last.saturating_sub(m.sequence),
    });
    env
}
