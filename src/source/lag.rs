//! The consumer lag poller: lists every stream and consumer (paged API
//! calls, which nats-server 2.9 and current servers both answer) each
//! interval and sends the result to the engine, off the UI's path.

use std::collections::HashMap;
use std::time::Duration;

use async_nats::Client;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy};
use async_nats::jetstream::stream::RetentionPolicy;
use async_nats::jetstream::{self, Context, consumer, stream};
use crossbeam_channel::Sender;
use futures::StreamExt;

use super::live::now_ns;
use super::stream::READER_DESCRIPTION;
use crate::analysis::lag::{ConsumerConfig, ConsumerState, LagPoll, StreamState};
use crate::host::SourceEvent;

/// Default `--lag-interval`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(2);
/// Streams whose consumers are listed at the same time.
const PARALLEL: usize = 8;
/// Publish times of oldest unacknowledged messages remembered.
const MAX_CACHED: usize = 20_000;

/// Polls one account's streams and consumers.
pub struct LagPoller {
    js: Context,
    /// (stream, first sequence after the ack floor, filter) → publish time.
    oldest: HashMap<(String, u64, String), Option<i64>>,
}

fn ns(t: &chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp_nanos_opt().unwrap_or(0)
}

fn retention_name(r: RetentionPolicy) -> &'static str {
    match r {
        RetentionPolicy::Limits => "limits",
        RetentionPolicy::Interest => "interest",
        RetentionPolicy::WorkQueue => "workqueue",
    }
}

fn ack_name(a: AckPolicy) -> &'static str {
    match a {
        AckPolicy::Explicit => "explicit",
        AckPolicy::All => "all",
        AckPolicy::None => "none",
        AckPolicy::FlowControl => "flow-control",
    }
}

fn deliver_name(d: &DeliverPolicy) -> String {
    match d {
        DeliverPolicy::All => "all".into(),
        DeliverPolicy::Last => "last".into(),
        DeliverPolicy::New => "new".into(),
        DeliverPolicy::ByStartSequence { start_sequence } => format!("seq={start_sequence}"),
        DeliverPolicy::ByStartTime { start_time } => format!("time={}", start_time.to_rfc3339()),
        DeliverPolicy::LastPerSubject => "last-per-subject".into(),
    }
}

/// A stream's state from its info.
pub fn stream_state(info: &stream::Info) -> StreamState {
    let s = &info.state;
    StreamState {
        name: info.config.name.clone(),
        retention: retention_name(info.config.retention).into(),
        messages: s.messages,
        bytes: s.bytes,
        first_seq: s.first_sequence,
        first_ns: ns(&s.first_timestamp),
        last_seq: s.last_sequence,
        last_ns: ns(&s.last_timestamp),
        subjects: s.subjects_count,
        consumers: s.consumer_count as u64,
        subject_filters: info.config.subjects.clone(),
    }
}

/// A consumer's state from its info.
pub fn consumer_state(info: &consumer::Info) -> ConsumerState {
    let c = &info.config;
    let filter = if c.filter_subject.is_empty() {
        c.filter_subjects.join(",")
    } else {
        c.filter_subject.clone()
    };
    ConsumerState {
        stream: info.stream_name.clone(),
        name: info.name.clone(),
        durable: c.durable_name.is_some(),
        pull: c.deliver_subject.is_none(),
        filter,
        ack_policy: ack_name(c.ack_policy).into(),
        unprocessed: info.num_pending,
        outstanding: info.num_ack_pending as u64,
        redelivered: info.num_redelivered as u64,
        waiting: info.num_waiting as u64,
        delivered_seq: info.delivered.stream_sequence,
        delivered_cseq: info.delivered.consumer_sequence,
        delivered_ns: info.delivered.last_active.as_ref().map(ns),
        ack_floor_seq: info.ack_floor.stream_sequence,
        ack_floor_ns: info.ack_floor.last_active.as_ref().map(ns),
        oldest_unacked_ns: None,
        flowscope: c
            .description
            .as_deref()
            .is_some_and(|d| d.starts_with(READER_DESCRIPTION)),
        config: ConsumerConfig {
            deliver_policy: deliver_name(&c.deliver_policy),
            ack_wait_ms: c.ack_wait.as_millis() as u64,
            max_deliver: c.max_deliver,
            max_ack_pending: c.max_ack_pending,
            description: c.description.clone(),
        },
    }
}

impl LagPoller {
    pub fn new(client: Client) -> Self {
        LagPoller {
            js: jetstream::new(client),
            oldest: HashMap::new(),
        }
    }

    /// One poll of every stream and consumer. Errors are reported in the
    /// poll (with what could be read), never as a failure.
    pub async fn poll(&mut self) -> LagPoll {
        let mut out = LagPoll::default();
        let mut streams = self.js.streams();
        while let Some(item) = streams.next().await {
            match item {
                Ok(info) => out.streams.push(stream_state(&info)),
                Err(e) => {
                    out.error = Some(format!("cannot list streams: {e}"));
                    break;
                }
            }
        }
        let names: Vec<String> = out.streams.iter().map(|s| s.name.clone()).collect();
        let lists: Vec<(Vec<ConsumerState>, Option<String>)> = futures::stream::iter(names)
            .map(|name| {
                let js = self.js.clone();
                async move { list_consumers(&js, &name).await }
            })
            .buffered(PARALLEL)
            .collect()
            .await;
        for (consumers, error) in lists {
            out.consumers.extend(consumers);
            if out.error.is_none() {
                out.error = error;
            }
        }
        let firsts: HashMap<&str, u64> = out
            .streams
            .iter()
            .map(|s| (s.name.as_str(), s.first_seq))
            .collect();
        let mut oldest = Vec::with_capacity(out.consumers.len());
        for c in &out.consumers {
            let first = firsts.get(c.stream.as_str()).copied().unwrap_or(1);
            oldest.push(if c.lag() > 0 {
                self.oldest_unacked(c, first).await
            } else {
                None
            });
        }
        for (c, t) in out.consumers.iter_mut().zip(oldest) {
            c.oldest_unacked_ns = t;
        }
        out
    }

    /// Publish time of the first message after the ack floor (that the
    /// consumer's filter takes), fetched once per floor.
    async fn oldest_unacked(&mut self, c: &ConsumerState, first_seq: u64) -> Option<i64> {
        let seq = (c.ack_floor_seq + 1).max(first_seq);
        let key = (c.stream.clone(), seq, c.filter.clone());
        if let Some(t) = self.oldest.get(&key) {
            return *t;
        }
        let stream = self.js.get_stream_no_info(&c.stream).await.ok()?;
        let mut get = stream.raw_message_builder().sequence(seq);
        if !c.filter.is_empty() && !c.filter.contains(',') {
            get = get.next_by_subject(c.filter.clone());
        } else {
            get = get.next_by_subject(">");
        }
        let t = match get.send().await {
            Ok(m) => Some(ns(&m.time)),
            // Older servers may not know next-by-subject: the exact sequence.
            Err(_) => stream.get_raw_message(seq).await.ok().map(|m| ns(&m.time)),
        };
        if self.oldest.len() >= MAX_CACHED {
            self.oldest.clear();
        }
        self.oldest.insert(key, t);
        t
    }
}

/// Every consumer of one stream.
async fn list_consumers(js: &Context, name: &str) -> (Vec<ConsumerState>, Option<String>) {
    let stream = match js.get_stream_no_info(name).await {
        Ok(s) => s,
        Err(e) => return (Vec::new(), Some(format!("stream {name}: {e}"))),
    };
    let mut out = Vec::new();
    let mut list = stream.consumers();
    while let Some(item) = list.next().await {
        match item {
            Ok(info) => out.push(consumer_state(&info)),
            Err(e) => return (out, Some(format!("consumers of {name}: {e}"))),
        }
    }
    (out, None)
}

/// Polls every `interval` until the engine stops.
pub async fn run(mut poller: LagPoller, interval: Duration, control: Sender<SourceEvent>) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let limit = (interval * 5).max(Duration::from_secs(10));
    loop {
        tick.tick().await;
        let poll = match tokio::time::timeout(limit, poller.poll()).await {
            Ok(p) => p,
            Err(_) => LagPoll {
                error: Some(format!(
                    "the server did not answer the lag poll within {}",
                    humantime::format_duration(limit)
                )),
                ..LagPoll::default()
            },
        };
        if control
            .send(SourceEvent::Lag(now_ns(), Box::new(poll)))
            .is_err()
        {
            return;
        }
    }
}
