//! What one poll of the server says about streams and consumers (also
//! the lag record of a recording).

use serde::{Deserialize, Serialize};

/// One poll of every stream and consumer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LagPoll {
    pub streams: Vec<StreamState>,
    pub consumers: Vec<ConsumerState>,
    /// Why the poll is incomplete, when it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A stream as one poll saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamState {
    pub name: String,
    /// `limits`, `interest` or `workqueue`.
    pub retention: String,
    pub messages: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub first_ns: i64,
    pub last_seq: u64,
    pub last_ns: i64,
    pub subjects: u64,
    pub consumers: u64,
    /// The subjects the stream captures (its configuration), NATS
    /// wildcards allowed; empty in recordings made before they were kept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subject_filters: Vec<String>,
}

/// A consumer as one poll saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerState {
    pub stream: String,
    pub name: String,
    pub durable: bool,
    /// Pull consumer (else push).
    pub pull: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filter: String,
    /// `explicit`, `all` or `none`.
    pub ack_policy: String,
    /// Messages not yet delivered (`num_pending`).
    pub unprocessed: u64,
    /// Delivered and not yet acknowledged (`num_ack_pending`).
    pub outstanding: u64,
    /// Of those, delivered more than once (`num_redelivered`).
    pub redelivered: u64,
    /// Pull requests waiting (`num_waiting`).
    pub waiting: u64,
    pub delivered_seq: u64,
    /// Deliveries so far, redeliveries included (the consumer sequence).
    #[serde(default)]
    pub delivered_cseq: u64,
    /// When the last delivery happened (ns), when the server says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivered_ns: Option<i64>,
    pub ack_floor_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ack_floor_ns: Option<i64>,
    /// Publish time of the oldest unacknowledged message (the first after
    /// the ack floor), when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oldest_unacked_ns: Option<i64>,
    /// One of flowscope's own stream readers (hidden by default).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub flowscope: bool,
    /// Settings worth seeing next to the chart.
    #[serde(default)]
    pub config: ConsumerConfig,
}

/// The settings of a consumer that explain its numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsumerConfig {
    pub deliver_policy: String,
    pub ack_wait_ms: u64,
    /// -1: unlimited.
    pub max_deliver: i64,
    pub max_ack_pending: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

impl ConsumerState {
    /// Lag: unprocessed plus outstanding acknowledgements.
    pub fn lag(&self) -> u64 {
        self.unprocessed.saturating_add(self.outstanding)
    }
}
