//! Core NATS source: subscribes to subjects and feeds envelopes into the
//! ingest queue, never blocking on the engine.
//!
//! It also counts what the NATS client dropped. The client counts every
//! message it reads off the socket (`in_messages`); what we received plus what
//! is still buffered in the subscription makes up the rest. The estimate is
//! exact whenever the subscription is empty (the reader is idle), which is
//! when it is confirmed; under sustained overload a lower bound is reported.

use std::time::Duration;

use async_nats::{Client, Message};
use crossbeam_channel::Sender;
use futures::{FutureExt, StreamExt};

use crate::envelope::{Envelope, JsMeta};
use crate::host::SourceEvent;
use crate::host::live::Ingest;
use crate::subject::is_internal_message;

/// The client's default per-subscription buffer (async-nats).
pub const SUBSCRIPTION_CAPACITY: usize = 65_536;

/// How often the client drop count is confirmed while the reader is idle.
const DROP_SAMPLE: Duration = Duration::from_millis(200);

/// Nanoseconds since the Unix epoch, now.
pub use crate::host::core::wall_ns as now_ns;

/// Messages taken off the subscriptions in one go while they are ready,
/// before the pump looks at its clock again.
const PUMP_BATCH: usize = 1_024;

/// Converts a received message into an envelope stamped with `received_ns`.
pub fn envelope_of(msg: &Message, received_ns: i64) -> Envelope {
    let headers = msg.headers.as_ref().map(header_pairs).unwrap_or_default();
    let reply = msg.reply.as_ref().map(|r| Box::<str>::from(r.as_str()));
    let js = reply.as_deref().and_then(JsMeta::from_ack_subject);
    Envelope {
        index: 0,
        received_ns,
        subject: msg.subject.as_str().into(),
        reply,
        headers,
        payload: msg.payload.clone(),
        js,
    }
}

/// Headers as name/value pairs. The client keeps values of one name in
/// order but not the order of names; names are sorted so the result is
/// stable.
pub fn header_pairs(map: &async_nats::HeaderMap) -> Vec<(Box<str>, Box<str>)> {
    let mut names: Vec<_> = map.iter().collect();
    names.sort_by(|a, b| AsRef::<str>::as_ref(a.0).cmp(b.0.as_ref()));
    let mut out = Vec::new();
    for (name, values) in names {
        for v in values {
            out.push((AsRef::<str>::as_ref(name).into(), v.as_str().into()));
        }
    }
    out
}

/// Tracks the client-side drop count; see the module docs.
#[derive(Debug, Default)]
pub struct DropEstimate {
    confirmed: u64,
    last_idle: Option<u64>,
    settled: bool,
}

impl DropEstimate {
    /// A sample taken while the subscription was empty.
    pub fn idle_sample(&mut self, in_messages: u64, received: u64) -> u64 {
        let est = in_messages.saturating_sub(received);
        // A message counted by the client a moment before it reached the
        // subscription shows as a drop in one sample only: confirm what two
        // idle samples in a row agree on.
        if let Some(prev) = self.last_idle {
            self.confirmed = self.confirmed.max(prev.min(est));
        }
        self.settled = self.last_idle == Some(est) && est <= self.confirmed;
        self.last_idle = Some(est);
        self.confirmed
    }

    /// The last two samples were idle and agree with the count: nothing
    /// was dropped that is not counted.
    pub fn settled(&self) -> bool {
        self.settled
    }

    /// A sample taken under load: at most `buffered` messages are in flight.
    pub fn busy_sample(&mut self, in_messages: u64, received: u64, buffered: u64) -> u64 {
        let lower = in_messages
            .saturating_sub(received)
            .saturating_sub(buffered);
        self.confirmed = self.confirmed.max(lower);
        self.last_idle = None;
        self.settled = false;
        self.confirmed
    }
}

/// Reply subjects of shown requests, so that answers hidden as internal
/// traffic (inbox replies) can still be counted as answers.
#[derive(Debug, Default)]
pub struct ReplyWatch {
    pending: std::collections::HashSet<Box<str>>,
    order: std::collections::VecDeque<Box<str>>,
}

/// Reply subjects remembered by [`ReplyWatch`].
const MAX_WATCHED_REPLIES: usize = 10_000;

impl ReplyWatch {
    /// Remembers the reply subject of a shown message.
    pub fn expect(&mut self, reply: &str) {
        if reply.starts_with("$JS.") || !self.pending.insert(reply.into()) {
            return;
        }
        self.order.push_back(reply.into());
        if self.order.len() > MAX_WATCHED_REPLIES
            && let Some(old) = self.order.pop_front()
        {
            self.pending.remove(&old);
        }
    }

    /// True (once) when `subject` is a remembered reply subject.
    pub fn answers(&mut self, subject: &str) -> bool {
        self.pending.remove(subject)
    }
}

/// How long the server gets to confirm the subscriptions.
const SUBSCRIBE_CONFIRM: Duration = Duration::from_secs(10);

/// What to subscribe to.
#[derive(Debug, Clone)]
pub struct CoreSpec {
    pub subjects: Vec<String>,
    pub include_internal: bool,
    /// The client's per-subscription buffer (for the drop lower bound).
    pub subscription_capacity: usize,
}

/// Subscribes and pumps messages until the client closes.
/// Subscriptions made and confirmed by the server, ready to pump.
pub struct Subscribed {
    client: Client,
    spec: CoreSpec,
    subs: Vec<async_nats::Subscriber>,
    /// The inbox of the confirming round trip, which `>` also matches.
    echo: String,
}

/// Subscribes to every subject and waits until the server has them, so
/// that nothing published after this returns is missed.
pub async fn subscribe(client: Client, spec: CoreSpec) -> color_eyre::Result<Subscribed> {
    let mut subs = Vec::with_capacity(spec.subjects.len());
    for s in &spec.subjects {
        subs.push(client.subscribe(s.clone()).await?);
    }
    // `flush` only writes the SUBs to the socket; a message another client
    // publishes right after could still reach the server first. The round
    // trip returns once the server has processed them.
    let echo = super::connect::round_trip(&client, SUBSCRIBE_CONFIRM).await?;
    tracing::info!(subjects = ?spec.subjects, include_internal = spec.include_internal, "subscribed");
    Ok(Subscribed {
        client,
        spec,
        subs,
        echo,
    })
}

/// Pumps messages into the ingest queue until the client closes.
pub async fn pump(subscribed: Subscribed, ingest: Ingest, control: Sender<SourceEvent>) {
    let Subscribed {
        client,
        spec,
        subs,
        echo,
    } = subscribed;
    let buffered = (spec.subscription_capacity as u64).saturating_mul(subs.len() as u64);
    // One subscription (the usual case) is read directly; several are
    // merged.
    let mut stream: futures::stream::BoxStream<'static, Message> = match <[_; 1]>::try_from(subs) {
        Ok([sub]) => sub.boxed(),
        Err(subs) => futures::stream::select_all(subs).boxed(),
    };
    let stats = client.statistics();
    let in_messages = || stats.in_messages.load(std::sync::atomic::Ordering::Relaxed);
    let mut p = Pump {
        ingest,
        control,
        include_internal: spec.include_internal,
        echo,
        // The client counts every message it takes in; the round trip's
        // own subscriber took one that never reaches these subscriptions.
        received: 1,
        replies: ReplyWatch::default(),
    };
    let mut drops = DropEstimate::default();
    let mut reported = 0;
    // The last time nothing had been missed (the subscriptions were just
    // confirmed), and whether drops have been reported since.
    let mut clean_ns = now_ns();
    let mut blind = false;
    let mut tick = tokio::time::interval(DROP_SAMPLE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            biased;
            msg = stream.next() => msg,
            _ = tick.tick() => {
                // The biased select only gets here when no message was ready.
                let n = drops.idle_sample(in_messages(), p.received);
                let now = now_ns();
                if n != reported {
                    tracing::warn!(dropped = n, "the NATS client dropped messages (slow consumer)");
                    reported = n;
                    blind = true;
                    p.send(SourceEvent::ClientDrops { total: n, since_ns: clean_ns });
                } else if drops.settled() {
                    // Everything the client took in since is accounted for.
                    if std::mem::take(&mut blind) {
                        p.send(SourceEvent::ClientCaughtUp(now));
                    }
                    clean_ns = now;
                }
                continue;
            }
        };
        let Some(msg) = first else { break };
        let before = p.received;
        p.take(msg);
        // What else is ready now goes in the same turn, without timers.
        let mut ended = false;
        for _ in 1..PUMP_BATCH {
            match stream.next().now_or_never() {
                Some(Some(msg)) => p.take(msg),
                Some(None) => {
                    ended = true;
                    break;
                }
                None => break,
            }
        }
        if before / 4096 != p.received / 4096 {
            let n = drops.busy_sample(in_messages(), p.received, buffered);
            if n != reported {
                reported = n;
                blind = true;
                p.send(SourceEvent::ClientDrops {
                    total: n,
                    since_ns: clean_ns,
                });
            }
        }
        if ended {
            break;
        }
    }
}

/// The pump's per-message work.
struct Pump {
    ingest: Ingest,
    control: Sender<SourceEvent>,
    include_internal: bool,
    /// The inbox of the confirming round trip.
    echo: String,
    /// Messages taken off the subscriptions (the client's count to match).
    received: u64,
    replies: ReplyWatch,
}

impl Pump {
    fn take(&mut self, msg: Message) {
        self.received += 1;
        if msg.subject.as_str() == self.echo {
            return;
        }
        let reply = msg.reply.as_ref().map(|r| r.as_str());
        if self.include_internal || !is_internal_message(msg.subject.as_str(), reply) {
            if let Some(r) = reply {
                self.replies.expect(r);
            }
            self.ingest.offer(envelope_of(&msg, now_ns()));
        } else if self.replies.answers(msg.subject.as_str()) {
            self.send(SourceEvent::Answered(msg.subject.as_str().into()));
        }
    }

    fn send(&self, ev: SourceEvent) {
        let _ = self.control.send(ev);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_watched_once_and_bounded() {
        let mut w = ReplyWatch::default();
        w.expect("_INBOX.a");
        w.expect("$JS.ACK.x");
        assert!(w.answers("_INBOX.a"));
        assert!(!w.answers("_INBOX.a"), "an answer counts once");
        assert!(!w.answers("$JS.ACK.x"));
        for i in 0..(MAX_WATCHED_REPLIES + 5) {
            w.expect(&format!("_INBOX.{i}"));
        }
        assert!(!w.answers("_INBOX.0"), "the oldest were forgotten");
        assert!(w.answers(&format!("_INBOX.{}", MAX_WATCHED_REPLIES + 4)));
    }

    #[test]
    fn a_one_off_race_is_not_reported_but_real_drops_are() {
        let mut d = DropEstimate::default();
        assert_eq!(d.idle_sample(10, 10), 0);
        assert_eq!(
            d.idle_sample(12, 11),
            0,
            "one sample alone is not confirmed"
        );
        assert_eq!(d.idle_sample(12, 12), 0);
        assert_eq!(d.idle_sample(20, 15), 0);
        assert_eq!(d.idle_sample(20, 15), 5);
        assert_eq!(d.busy_sample(1000, 100, 800), 100);
        assert_eq!(d.idle_sample(1000, 880), 100);
        assert_eq!(d.idle_sample(1000, 880), 120);
    }
}
