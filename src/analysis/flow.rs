//! Who consumes what on core NATS: the connections that subscribe to each
//! subject, their queue groups and pending bytes, from the server's CONNZ
//! (asked for with `$SYS.REQ.ACCOUNT.PING.CONNZ`, which an ordinary account
//! may send on nats-server 2.9 and current servers).

use std::collections::HashMap;
use std::sync::Arc;

use crate::subject::SubjectPattern;

/// A client connection as one poll saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Connection {
    pub server: String,
    pub cid: u64,
    /// The client's name, else `cid N (ip:port)`.
    pub name: String,
    pub pending_bytes: u64,
    pub out_msgs: u64,
    /// Pending bytes grew since the previous poll.
    pub pending_growing: bool,
    /// Connections of this client name the server closed as slow
    /// consumers (known with `--monitor`, from its closed connections).
    pub slow_closed: u64,
}

/// One subscription of one connection.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscription {
    pub server: String,
    pub cid: u64,
    /// The subject pattern subscribed to.
    pub subject: String,
    pub queue: Option<String>,
    /// Messages delivered to it so far.
    pub msgs: u64,
}

/// One poll of every server's connections.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowPoll {
    pub connections: Vec<Connection>,
    pub subscriptions: Vec<Subscription>,
    /// Servers that answered.
    pub servers: usize,
    /// Some connections were left out (the server's page limit).
    pub truncated: bool,
    pub error: Option<String>,
    /// Slow-consumer closes by client name, when the server says
    /// (`--monitor`: its recently closed connections).
    pub slow_closed: HashMap<String, u64>,
}

/// A subscriber of a subject, ready to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber<'a> {
    pub connection: &'a Connection,
    pub subscription: &'a Subscription,
}

/// How a subject's messages spread: every plain subscription gets each
/// message, each queue group one of its members.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FanOut {
    pub plain: usize,
    /// Queue groups with their member counts, by name.
    pub groups: Vec<(String, usize)>,
}

impl FanOut {
    /// Copies of each message the server delivers.
    pub fn deliveries(&self) -> usize {
        self.plain + self.groups.len()
    }
}

/// The flow map's model.
#[derive(Debug, Clone, Default)]
pub struct FlowView {
    pub polled_ns: i64,
    pub polls: u64,
    pub servers: usize,
    pub truncated: bool,
    pub error: Option<String>,
    pub connections: Vec<Connection>,
    subscriptions: Vec<(SubjectPattern, Subscription)>,
}

impl FlowView {
    fn connection(&self, server: &str, cid: u64) -> Option<&Connection> {
        self.connections
            .iter()
            .find(|c| c.cid == cid && c.server == server)
    }

    /// Subscriptions whose pattern takes `subject`, with their connections.
    pub fn subscribers(&self, subject: &str) -> Vec<Subscriber<'_>> {
        self.subscriptions
            .iter()
            .filter(|(p, _)| p.matches(subject))
            .filter_map(|(_, s)| {
                self.connection(&s.server, s.cid).map(|c| Subscriber {
                    connection: c,
                    subscription: s,
                })
            })
            .collect()
    }

    /// How `subject`'s messages spread.
    pub fn fan_out(&self, subject: &str) -> FanOut {
        let mut out = FanOut::default();
        let mut groups: HashMap<&str, usize> = HashMap::new();
        for s in self.subscribers(subject) {
            match &s.subscription.queue {
                Some(q) => *groups.entry(q.as_str()).or_default() += 1,
                None => out.plain += 1,
            }
        }
        out.groups = groups.into_iter().map(|(q, n)| (q.to_owned(), n)).collect();
        out.groups.sort();
        out
    }
}

/// Is this subscription part of the flow users care about? Inboxes and
/// system subjects are plumbing; flowscope's own connections are not part
/// of the system being watched.
fn shown(sub: &Subscription, conn: Option<&Connection>) -> bool {
    let internal = ["_INBOX.", "$JS.", "$SYS.", "$KV.", "$O."];
    !internal.iter().any(|p| sub.subject.starts_with(p))
        && !conn.is_some_and(|c| c.name.starts_with("flowscope"))
}

/// What the engine keeps of the polls.
#[derive(Debug, Clone, Default)]
pub struct FlowBook {
    pending: HashMap<(String, u64), u64>,
    polls: u64,
    view: Arc<FlowView>,
}

impl FlowBook {
    pub fn poll(&mut self, t: i64, poll: &FlowPoll) {
        self.polls += 1;
        if poll.servers == 0 && poll.error.is_some() {
            let mut view = (*self.view).clone();
            view.error = poll.error.clone();
            view.polls = self.polls;
            self.view = Arc::new(view);
            return;
        }
        let mut pending = HashMap::with_capacity(poll.connections.len());
        let connections: Vec<Connection> = poll
            .connections
            .iter()
            .filter(|c| !c.name.starts_with("flowscope"))
            .map(|c| {
                let key = (c.server.clone(), c.cid);
                let before = self.pending.get(&key).copied();
                pending.insert(key, c.pending_bytes);
                Connection {
                    pending_growing: before.is_some_and(|b| c.pending_bytes > b),
                    slow_closed: poll.slow_closed.get(&c.name).copied().unwrap_or(0),
                    ..c.clone()
                }
            })
            .collect();
        self.pending = pending;
        let by_id: HashMap<(&str, u64), &Connection> = connections
            .iter()
            .map(|c| ((c.server.as_str(), c.cid), c))
            .collect();
        let subscriptions = poll
            .subscriptions
            .iter()
            .filter(|s| shown(s, by_id.get(&(s.server.as_str(), s.cid)).copied()))
            .filter(|s| by_id.contains_key(&(s.server.as_str(), s.cid)))
            .filter_map(|s| {
                SubjectPattern::parse(&s.subject)
                    .ok()
                    .map(|p| (p, s.clone()))
            })
            .collect();
        self.view = Arc::new(FlowView {
            polled_ns: t,
            polls: self.polls,
            servers: poll.servers,
            truncated: poll.truncated,
            error: poll.error.clone(),
            connections,
            subscriptions,
        });
    }

    pub fn view(&self) -> Arc<FlowView> {
        self.view.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(cid: u64, name: &str, pending: u64) -> Connection {
        Connection {
            server: "S1".into(),
            cid,
            name: name.into(),
            pending_bytes: pending,
            ..Connection::default()
        }
    }

    fn sub(cid: u64, subject: &str, queue: Option<&str>) -> Subscription {
        Subscription {
            server: "S1".into(),
            cid,
            subject: subject.into(),
            queue: queue.map(Into::into),
            msgs: 0,
        }
    }

    #[test]
    fn subscribers_fan_out_and_growing_pending() {
        let mut book = FlowBook::default();
        let mut poll = FlowPoll {
            connections: vec![
                conn(1, "orders-svc", 0),
                conn(2, "worker-a", 10),
                conn(3, "worker-b", 0),
                conn(4, "flowscope", 0),
                conn(5, "audit", 0),
            ],
            subscriptions: vec![
                sub(1, "orders.*", None),
                sub(1, "_INBOX.abc.*", None),
                sub(2, "payments.>", Some("workers")),
                sub(3, "payments.>", Some("workers")),
                sub(4, ">", None),
                sub(5, ">", None),
            ],
            servers: 1,
            ..FlowPoll::default()
        };
        book.poll(1, &poll);
        let view = book.view();
        let names: Vec<_> = view
            .subscribers("orders.created")
            .iter()
            .map(|s| s.connection.name.as_str())
            .collect();
        assert_eq!(
            names,
            ["orders-svc", "audit"],
            "flowscope itself is left out"
        );
        assert!(
            view.subscribers("_INBOX.abc.1")
                .iter()
                .all(|s| s.connection.name != "orders-svc")
        );
        let fan = view.fan_out("payments.card.charged");
        assert_eq!(fan.plain, 1);
        assert_eq!(fan.groups, vec![("workers".to_owned(), 2)]);
        assert_eq!(fan.deliveries(), 2);
        poll.connections[1].pending_bytes = 5_000;
        book.poll(2, &poll);
        let view = book.view();
        let worker = view
            .connections
            .iter()
            .find(|c| c.name == "worker-a")
            .unwrap();
        assert!(worker.pending_growing);
        assert!(!view.connections.iter().any(|c| c.name == "flowscope"));
    }
}
