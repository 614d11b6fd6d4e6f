//! The captured message: what a source saw, exactly as it saw it.
//!
//! An [`Envelope`] is the unit that is recorded, replayed and analysed. It has
//! no dependency on the NATS client so the engine and the recording code can
//! use it without async machinery.

use bytes::Bytes;

/// One captured message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope {
    /// Capture index, assigned by the engine in arrival order (0 until ingested).
    pub index: u64,
    /// Receive time, nanoseconds since the Unix epoch.
    pub received_ns: i64,
    /// Subject the message was published to.
    pub subject: Box<str>,
    /// Reply subject, when the publisher asked for one.
    pub reply: Option<Box<str>>,
    /// Headers, multi-valued. Values of one name keep their order.
    pub headers: Vec<(Box<str>, Box<str>)>,
    /// Payload bytes exactly as received.
    pub payload: Bytes,
    /// JetStream metadata, when the message came from a stream.
    pub js: Option<JsMeta>,
}

/// JetStream delivery metadata (from the `$JS.ACK.…` reply subject).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsMeta {
    pub stream: Box<str>,
    pub consumer: Box<str>,
    pub stream_seq: u64,
    pub consumer_seq: u64,
    /// How many times this message has been delivered (1 = first delivery).
    pub delivered: u64,
    /// Time the message was stored in the stream, ns since the Unix epoch.
    pub published_ns: i64,
    /// Messages still pending for the consumer after this one.
    pub pending: u64,
}

impl Envelope {
    /// A message with no headers, reply or JetStream metadata.
    pub fn new(received_ns: i64, subject: &str, payload: impl Into<Bytes>) -> Self {
        Envelope {
            index: 0,
            received_ns,
            subject: subject.into(),
            reply: None,
            headers: Vec::new(),
            payload: payload.into(),
            js: None,
        }
    }

    /// Adds a header value (builder style, used by tests and the simulator).
    pub fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// When the event happened as far as the system says: the JetStream
    /// publish time for a message read from a stream (it may have been
    /// stored long before flowscope read it), else the receive time.
    pub fn event_ns(&self) -> i64 {
        match &self.js {
            Some(js) if js.published_ns > 0 => js.published_ns,
            _ => self.received_ns,
        }
    }

    /// First value of a header, compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// Approximate memory this envelope holds, for retention accounting.
    pub fn footprint(&self) -> usize {
        const FIXED: usize = std::mem::size_of::<Envelope>() + 64;
        FIXED
            + self.subject.len()
            + self.reply.as_ref().map_or(0, |r| r.len())
            + self
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len() + 32)
                .sum::<usize>()
            + self.payload.len()
    }
}

impl JsMeta {
    /// Parses a JetStream ack reply subject.
    ///
    /// Two layouts exist: the v1 form
    /// `$JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>`
    /// and the v2 form with domain and account hash,
    /// `$JS.ACK.<domain>.<account>.<stream>.<consumer>.<delivered>.<sseq>.<cseq>.<ts>.<pending>[.<token>]`.
    pub fn from_ack_subject(reply: &str) -> Option<JsMeta> {
        let rest = reply.strip_prefix("$JS.ACK.")?;
        let tokens: Vec<&str> = rest.split('.').collect();
        let t = match tokens.len() {
            7 => &tokens[..],
            9 | 10 => &tokens[2..9],
            _ => return None,
        };
        Some(JsMeta {
            stream: t[0].into(),
            consumer: t[1].into(),
            delivered: t[2].parse().ok()?,
            stream_seq: t[3].parse().ok()?,
            consumer_seq: t[4].parse().ok()?,
            published_ns: t[5].parse().ok()?,
            pending: t[6].parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_v1_ack_subject() {
        let m = JsMeta::from_ack_subject("$JS.ACK.ORDERS.shipper.2.41.40.1700000000000000000.7")
            .unwrap();
        assert_eq!(&*m.stream, "ORDERS");
        assert_eq!(&*m.consumer, "shipper");
        assert_eq!(m.delivered, 2);
        assert_eq!(m.stream_seq, 41);
        assert_eq!(m.consumer_seq, 40);
        assert_eq!(m.published_ns, 1_700_000_000_000_000_000);
        assert_eq!(m.pending, 7);
    }

    #[test]
    fn parses_v2_ack_subject_with_domain_and_token() {
        let m = JsMeta::from_ack_subject(
            "$JS.ACK.hub.ACCHASH.ORDERS.c1.1.5.5.1700000000000000000.0.xyz",
        )
        .unwrap();
        assert_eq!(&*m.stream, "ORDERS");
        assert_eq!(m.stream_seq, 5);
    }

    #[test]
    fn rejects_other_subjects() {
        assert!(JsMeta::from_ack_subject("_INBOX.abc").is_none());
        assert!(JsMeta::from_ack_subject("$JS.ACK.S.C.x.1.1.1.1").is_none());
    }

    #[test]
    fn header_lookup_is_case_insensitive() {
        let e = Envelope::new(0, "a", "x").with_header("Nats-Msg-Id", "42");
        assert_eq!(e.header("nats-msg-id"), Some("42"));
        assert_eq!(e.header("other"), None);
    }
}
