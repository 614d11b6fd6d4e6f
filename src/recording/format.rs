//! The recording format, version 1 (specified in docs/RECORDING.md): JSON
//! Lines, one record a line, optionally zstd-compressed (`.zst`). The first
//! line is a header; then events, connection changes, drop counts, lag
//! samples and, after a clean stop, an end record.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::analysis::blind::BlindWindow;
use crate::analysis::store::Flags;
use crate::analysis::{Engine, LinkEvent};
use crate::envelope::{Envelope, JsMeta};

/// The format version this flowscope writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Where a recording's events came from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceInfo {
    /// `live`, `stream`, `demo`, …
    pub kind: String,
    /// Servers, without credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subjects: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub include_internal: bool,
}

/// The first line of a recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub flowscope_recording: u32,
    /// Version of flowscope that wrote it.
    pub flowscope: String,
    /// When recording started (RFC 3339) and the same in ns.
    pub started: String,
    pub started_ns: i64,
    pub source: SourceInfo,
    /// JSON Pointers and `header:NAME`s whose values were replaced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub redacted: Vec<String>,
    /// The analysis settings the session ran with (field chains, sagas,
    /// …), in flowscope.toml's shape: a replay uses them unless `-c`
    /// names another file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub analysis: Option<serde_json::Value>,
}

impl Header {
    pub fn new(started_ns: i64, source: SourceInfo, redacted: Vec<String>) -> Self {
        Header {
            flowscope_recording: FORMAT_VERSION,
            flowscope: env!("CARGO_PKG_VERSION").to_owned(),
            started: chrono::DateTime::from_timestamp_nanos(started_ns)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            started_ns,
            source,
            redacted,
            analysis: None,
        }
    }

    /// The header with the session's analysis settings.
    pub fn with_analysis(mut self, analysis: Option<serde_json::Value>) -> Self {
        self.analysis = analysis;
        self
    }
}

/// JetStream metadata as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JsRecord {
    pub stream: String,
    pub consumer: String,
    pub stream_seq: u64,
    pub consumer_seq: u64,
    pub delivered: u64,
    pub published_ns: i64,
    pub pending: u64,
}

/// A connection state as recordings name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Link {
    Connected,
    /// Lost; the client reconnects on its own.
    Disconnected,
    /// Closed for good.
    Closed,
    /// No network source.
    Offline,
}

impl Link {
    /// Reads a recorded state; an unknown one is an error that names it.
    pub fn parse(s: &str) -> Result<Link, String> {
        serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|_| {
            format!(
                "an unknown connection state '{s}' (known: connected, disconnected, closed, offline)"
            )
        })
    }
}

/// A connection change; `connected` after a loss carries the window in
/// which core NATS events may have been missed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkRecord {
    pub link: Link,
    pub t: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed_from: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed_to: Option<i64>,
}

impl LinkRecord {
    /// A change without version or missed window.
    pub fn change(link: Link, t: i64) -> Self {
        LinkRecord {
            link,
            t,
            version: None,
            missed_from: None,
            missed_to: None,
        }
    }
}

/// Running totals of dropped messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drops {
    pub client: u64,
    pub queue: u64,
}

/// One line of a recording after the header, as written and read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Line {
    /// Capture index (present on events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<u64>,
    /// Receive time (ns since the epoch) on every record.
    pub t: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<(String, String)>,
    /// The payload when it is valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// The payload in base64 when it is not UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_b64: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub js: Option<JsRecord>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed_from: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub missed_to: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drops: Option<Drops>,
    /// A time in which the recorder was blind (it dropped messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blind: Option<BlindWindow>,
    /// A lag sample (consumer lag poller), kept as written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lag: Option<serde_json::Value>,
    /// Written last on a clean stop: events written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<u64>,
}

/// A record read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    Event(Envelope),
    Link(LinkRecord),
    Drops {
        t: i64,
        drops: Drops,
    },
    /// The recorder was blind then: findings in it are unverifiable.
    Blind {
        t: i64,
        window: BlindWindow,
    },
    Lag {
        t: i64,
        poll: Box<crate::analysis::lag::LagPoll>,
    },
    End {
        t: i64,
        events: u64,
    },
}

impl Record {
    /// Applies the record to an engine, the one way every reader of
    /// recordings (player, indexer, `analyze`, tests) does; returns the
    /// flags of an event (empty for other records).
    pub fn apply(self, engine: &mut Engine) -> Flags {
        match self {
            Record::Event(env) => engine.ingest(env),
            Record::Link(l) => {
                let ev = match l.link {
                    Link::Connected => LinkEvent::Connected { version: l.version },
                    Link::Disconnected => LinkEvent::Disconnected,
                    Link::Closed => LinkEvent::Closed,
                    Link::Offline => LinkEvent::Offline,
                };
                engine.link(ev, l.t);
                Flags::default()
            }
            Record::Drops { drops, .. } => {
                engine.set_client_drops(drops.client);
                engine.set_queue_drops(drops.queue);
                Flags::default()
            }
            Record::Blind { window, .. } => {
                engine.blind(window);
                Flags::default()
            }
            Record::Lag { t, poll } => {
                engine.lag_poll(t, &poll);
                Flags::default()
            }
            Record::End { .. } => Flags::default(),
        }
    }

    /// Receive time of the record.
    pub fn time(&self) -> i64 {
        match self {
            Record::Event(e) => e.received_ns,
            Record::Link(l) => l.t,
            Record::Drops { t, .. }
            | Record::Blind { t, .. }
            | Record::Lag { t, .. }
            | Record::End { t, .. } => *t,
        }
    }
}

/// The line for an event.
pub fn event_line(env: &Envelope) -> Line {
    let (data, data_b64) = match std::str::from_utf8(&env.payload) {
        Ok(s) => (Some(s.to_owned()), None),
        Err(_) => (None, Some(B64.encode(&env.payload))),
    };
    Line {
        event: Some(env.index),
        t: env.received_ns,
        subject: Some(env.subject.to_string()),
        reply: env.reply.as_ref().map(|r| r.to_string()),
        headers: env
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        data,
        data_b64,
        js: env.js.as_ref().map(|j| JsRecord {
            stream: j.stream.to_string(),
            consumer: j.consumer.to_string(),
            stream_seq: j.stream_seq,
            consumer_seq: j.consumer_seq,
            delivered: j.delivered,
            published_ns: j.published_ns,
            pending: j.pending,
        }),
        ..Line::default()
    }
}

impl Line {
    /// What the line holds; `Err` says what is wrong with it.
    pub fn into_record(self) -> Result<Record, String> {
        if let Some(index) = self.event {
            let subject = self.subject.ok_or("an event without a subject")?;
            let payload = match (self.data, self.data_b64) {
                (Some(s), None) => Bytes::from(s.into_bytes()),
                (None, Some(b)) => Bytes::from(
                    B64.decode(b.as_bytes())
                        .map_err(|e| format!("bad base64 in data_b64: {e}"))?,
                ),
                (None, None) => Bytes::new(),
                (Some(_), Some(_)) => return Err("both data and data_b64".into()),
            };
            return Ok(Record::Event(Envelope {
                index,
                received_ns: self.t,
                subject: subject.into(),
                reply: self.reply.map(Into::into),
                headers: self
                    .headers
                    .into_iter()
                    .map(|(k, v)| (k.into(), v.into()))
                    .collect(),
                payload,
                js: self.js.map(|j| JsMeta {
                    stream: j.stream.into(),
                    consumer: j.consumer.into(),
                    stream_seq: j.stream_seq,
                    consumer_seq: j.consumer_seq,
                    delivered: j.delivered,
                    published_ns: j.published_ns,
                    pending: j.pending,
                }),
            }));
        }
        if let Some(link) = self.link {
            return Ok(Record::Link(LinkRecord {
                link: Link::parse(&link)?,
                t: self.t,
                version: self.version,
                missed_from: self.missed_from,
                missed_to: self.missed_to,
            }));
        }
        if let Some(drops) = self.drops {
            return Ok(Record::Drops { t: self.t, drops });
        }
        if let Some(window) = self.blind {
            return Ok(Record::Blind { t: self.t, window });
        }
        if let Some(sample) = self.lag {
            let poll =
                serde_json::from_value(sample).map_err(|e| format!("a bad lag sample ({e})"))?;
            return Ok(Record::Lag {
                t: self.t,
                poll: Box::new(poll),
            });
        }
        if let Some(events) = self.end {
            return Ok(Record::End { t: self.t, events });
        }
        Err("a record of no known kind".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_round_trip_text_and_binary() {
        let mut text = Envelope::new(7, "a.b", "héllo")
            .with_header("X", "1")
            .with_header("X", "2");
        text.index = 3;
        text.reply = Some("_INBOX.r".into());
        let mut bin = Envelope::new(8, "c", vec![0u8, 255, 10, 13]);
        bin.index = 4;
        for env in [text, bin, Envelope::new(9, "empty", Vec::new())] {
            let line = serde_json::to_string(&event_line(&env)).unwrap();
            assert!(!line.contains('\n'));
            let back: Line = serde_json::from_str(&line).unwrap();
            assert_eq!(back.into_record().unwrap(), Record::Event(env));
        }
    }

    #[test]
    fn a_recorded_blind_window_makes_a_replay_set_its_gaps_apart() {
        use crate::analysis::anomalies::AnomalyKind;
        let s = 1_000_000_000;
        let mut engine = Engine::new(crate::analysis::EngineConfig::default());
        let lines = [
            r#"{"event":0,"t":1000000000,"subject":"s","data":"{\"seq\":1}"}"#,
            r#"{"event":1,"t":3000000000,"subject":"s","data":"{\"seq\":3}"}"#,
            r#"{"t":4000000000,"blind":{"from_ns":2000000000,"to_ns":2000000000,"why":"client_dropped"}}"#,
        ];
        for l in lines {
            let line: Line = serde_json::from_str(l).unwrap();
            line.into_record().unwrap().apply(&mut engine);
        }
        let d = engine.detect();
        assert_eq!(d.ordering.missing(), 0);
        assert_eq!(d.ordering.unverifiable_missing(), 1);
        assert_eq!(d.log.count(AnomalyKind::Unverifiable), 1);
        let w = engine.blindness().windows().next().copied().unwrap();
        assert_eq!(
            (w.from_ns, w.why),
            (2 * s, crate::analysis::blind::Why::ClientDropped)
        );
        let bad = r#"{"t":0,"blind":{"from_ns":0,"to_ns":1,"why":"x"}}"#;
        assert!(
            serde_json::from_str::<Line>(bad).is_err(),
            "an unknown reason is a bad line"
        );
    }

    #[test]
    fn binary_goes_to_base64_and_text_stays_readable() {
        let line =
            serde_json::to_string(&event_line(&Envelope::new(0, "s", vec![0xffu8]))).unwrap();
        assert!(line.contains(r#""data_b64":"/w==""#), "{line}");
        let line =
            serde_json::to_string(&event_line(&Envelope::new(0, "s", r#"{"a":1}"#))).unwrap();
        assert!(line.contains(r#""data":"{\"a\":1}""#), "{line}");
    }

    #[test]
    fn malformed_lines_say_what_is_wrong() {
        let l: Line = serde_json::from_str(r#"{"event":1,"t":0}"#).unwrap();
        assert_eq!(l.into_record().unwrap_err(), "an event without a subject");
        let l: Line =
            serde_json::from_str(r#"{"event":1,"t":0,"subject":"s","data_b64":"!!"}"#).unwrap();
        assert!(l.into_record().unwrap_err().starts_with("bad base64"));
        let l: Line = serde_json::from_str(r#"{"t":0,"future":true}"#).unwrap();
        assert!(l.into_record().is_err());
        let l: Line = serde_json::from_str(r#"{"t":0,"link":"dozing"}"#).unwrap();
        assert_eq!(
            l.into_record().unwrap_err(),
            "an unknown connection state 'dozing' (known: connected, disconnected, closed, offline)"
        );
    }
}
