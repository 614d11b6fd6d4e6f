//! The synchronous engine: takes envelopes and connection events, keeps every
//! statistic the views show, and produces snapshots. No async, no UI: it is
//! fed the same way live and offline and is tested with plain `#[test]`s.

use super::flow::{FlowBook, FlowPoll};
use super::lag::{LagBook, LagPoll};
use super::saga::{SagaBook, SagaView};

/// Instances listed in the sagas view (stuck and failed first).
const SAGA_ROWS: usize = 2_000;
use std::sync::Arc;

use super::AnalysisConfig;
use super::anomalies::AnomalyKind;
use super::blind::{BlindWindow, Blindness, Why};
use super::detect::{Detect, DetectConfig};
use super::fields::{Described, Extractor};
use super::filter::Filter;
use super::snapshot::{AnomalySummary, FilterView, LinkState, Snapshot, Status, TypeRow};
use super::stats::Window;
use super::store::{EventStore, Flags, Retention, StoredEvent};
use super::subjects::{DEFAULT_MAX_SUBJECT_NODES, SubjectNode, SubjectTree};
use crate::envelope::Envelope;

/// Subjects and types in the anomalies view's breakdowns.
const BREAKDOWN_ROWS: usize = 50;

const NS_PER_SEC: i64 = 1_000_000_000;

/// Settings of one engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub analysis: AnalysisConfig,
    pub retention: Retention,
    pub max_subject_nodes: usize,
    /// Where events come from, as shown in the status bar.
    pub source: String,
    /// Analyse only this many events; later ones are ignored (headless runs
    /// with `--count`).
    pub stop_after: Option<u64>,
    /// The connection state before any is reported: `Connecting` for a
    /// live session, `Offline` for a recording or a simulation.
    pub initial_link: LinkState,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            analysis: AnalysisConfig::default(),
            retention: Retention::default(),
            max_subject_nodes: DEFAULT_MAX_SUBJECT_NODES,
            source: String::new(),
            stop_after: None,
            initial_link: LinkState::Connecting,
        }
    }
}

/// Something that happened to the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkEvent {
    Connected {
        version: Option<String>,
    },
    /// Lost the connection; the client reconnects on its own.
    Disconnected,
    /// Closed for good.
    Closed,
    /// The source is not a network connection (simulation or file).
    Offline,
}

/// The analysis state of one session.
#[derive(Debug, Clone)]
pub struct Engine {
    store: EventStore,
    subjects: SubjectTree,
    filter: Option<(Filter, imbl::Vector<u64>)>,
    next_index: u64,
    total_bytes: u64,
    clock_ns: i64,
    status: Status,
    generation: u64,
    extractor: Extractor,
    detect: Detect,
    first_received_ns: Option<i64>,
    last_received_ns: Option<i64>,
    /// When observation began on the event clock (the first event, tick or
    /// connection change): rates are measured from here.
    observed_since_ns: Option<i64>,
    stop_after: Option<u64>,
    /// Copies of the slow-to-copy parts: (second, events, tree, types, anomalies).
    tables_cache: Option<Tables>,
    /// Consumer lag polls.
    lag: LagBook,
    /// Who subscribes to what (CONNZ polls).
    flow: FlowBook,
    /// Saga instances.
    sagas: SagaBook,
    /// The sagas view, rebuilt at most once a second of the event clock or
    /// when events arrived (second, events, view).
    sagas_view: Option<(i64, u64, Arc<SagaView>)>,
    /// When flowscope was blind (dropped or disconnected).
    blind: Blindness,
    /// Reused for each event's fields (its buffers grow once).
    described: Described,
}

#[derive(Debug, Clone)]
struct Tables {
    sec: i64,
    events: u64,
    subjects: Arc<SubjectNode>,
    types: Arc<Vec<TypeRow>>,
    anomalies: Arc<AnomalySummary>,
}

impl Engine {
    pub fn new(config: EngineConfig) -> Self {
        let status = Status {
            source: config.source.clone(),
            retention: config.retention,
            link: config.initial_link,
            ..Status::default()
        };
        let a = &config.analysis;
        // Sagas with a correlation chain of their own read it as an extra.
        let saga_chains: Vec<_> = a
            .sagas
            .iter()
            .filter_map(|d| d.correlation.clone())
            .collect();
        let extractor = Extractor::with_extra(&a.fields, &a.subjects, &saga_chains);
        let detect = Detect::new(DetectConfig {
            dedup: a.dedup,
            ordering_max_keys: a.ordering_max_keys,
            schema_learn: a.schema_learn,
            kinds: a.kinds.clone(),
        });
        let lag = LagBook::new(a.lag.clone());
        Engine {
            lag,
            flow: FlowBook::default(),
            sagas: match (a.sagas.is_empty(), a.saga_inference) {
                (true, Some(timeout)) => SagaBook::inferring(timeout),
                _ => SagaBook::new(a.sagas.clone()),
            },
            sagas_view: None,
            store: EventStore::new(config.retention),
            subjects: SubjectTree::new(config.max_subject_nodes),
            extractor,
            detect,
            first_received_ns: None,
            last_received_ns: None,
            observed_since_ns: None,
            stop_after: config.stop_after,
            filter: None,
            next_index: 0,
            total_bytes: 0,
            clock_ns: 0,
            status,
            generation: 0,
            tables_cache: None,
            blind: Blindness::default(),
            described: Described::default(),
        }
    }

    /// Takes one captured message; assigns its capture index. Returns the
    /// event's anomaly flags.
    pub fn ingest(&mut self, env: Envelope) -> Flags {
        if self.is_full() {
            return Flags::default();
        }
        let mut d = std::mem::take(&mut self.described);
        self.extractor.describe_into(&env, true, &mut d);
        let flags = self.ingest_described(env, &d);
        self.described = d;
        flags
    }

    /// What reads the fields of envelopes for this engine: a copy may
    /// describe them on another thread for [`Engine::ingest_described`].
    pub fn extractor(&self) -> &Extractor {
        &self.extractor
    }

    /// Takes one captured message already described by a copy of
    /// [`Engine::extractor`] (with its shape); otherwise as
    /// [`Engine::ingest`].
    pub fn ingest_described(&mut self, mut env: Envelope, d: &Described) -> Flags {
        if self.is_full() {
            return Flags::default();
        }
        env.index = self.next_index;
        self.next_index += 1;
        self.advance(env.received_ns);
        let size = env.payload.len();
        self.total_bytes += size as u64;
        self.subjects
            .add(&env.subject, size, env.received_ns.div_euclid(NS_PER_SEC));
        self.first_received_ns.get_or_insert(env.received_ns);
        self.last_received_ns = Some(
            self.last_received_ns
                .map_or(env.received_ns, |t| t.max(env.received_ns)),
        );
        let (findings, event_type) = self.detect.observe(&env, d, &self.blind);
        // Every event moves the saga clock, whether a saga has it or not
        // (an inferring book has one definition, `[fields].correlation`).
        if !self.sagas.defs().is_empty() {
            let mut extra = d.extra.iter();
            let mut ids = [None; 8];
            let mut more = Vec::new();
            for (i, def) in self.sagas.defs().iter().enumerate() {
                let id = match def.correlation {
                    Some(_) => extra.next().and_then(|e| e.as_deref()),
                    None => d.correlation.as_deref(),
                };
                match ids.get_mut(i) {
                    Some(slot) => *slot = id,
                    None => more.push(id),
                }
            }
            // Up to eight sagas without a list of their own.
            let n = self.sagas.defs().len();
            let ids = if n <= ids.len() {
                &ids[..n]
            } else {
                more.splice(0..0, ids);
                &more[..]
            };
            // Sagas run on the system's time: a stream read of history
            // keeps the durations it had.
            self.sagas
                .observe(env.index, env.event_ns(), &env.subject, &event_type, ids);
        }
        let ev = StoredEvent {
            env,
            flags: Flags::of(&findings),
            findings: (!findings.is_empty()).then(|| findings.into_boxed_slice()),
            event_type,
            key: d.key.as_str().into(),
            is_json: d.is_json,
        };
        if let Some((f, matches)) = &mut self.filter
            && f.matches(&ev)
        {
            matches.push_back(ev.env.index);
        }
        let flags = ev.flags;
        self.store.push(ev);
        self.trim_filter();
        flags
    }

    fn trim_filter(&mut self) {
        let first = self.store.first_index().unwrap_or(self.next_index);
        if let Some((_, matches)) = &mut self.filter {
            while matches.front().is_some_and(|i| *i < first) {
                matches.pop_front();
            }
        }
    }

    /// Records a connection change at `at_ns`. While the connection is
    /// lost flowscope is blind (see [`Engine::blind`]).
    pub fn link(&mut self, event: LinkEvent, at_ns: i64) {
        self.advance(at_ns);
        let s = &mut self.status;
        let next = match event {
            LinkEvent::Connected { version } => {
                if matches!(s.link, LinkState::Reconnecting | LinkState::Disconnected) {
                    s.reconnects += 1;
                }
                s.server_version = version;
                LinkState::Connected
            }
            LinkEvent::Disconnected => LinkState::Reconnecting,
            LinkEvent::Closed => LinkState::Disconnected,
            LinkEvent::Offline => LinkState::Offline,
        };
        if next != s.link {
            s.link = next;
            s.link_since_ns = at_ns;
        }
        match next {
            LinkState::Reconnecting | LinkState::Disconnected => {
                self.open_blind(at_ns, Why::Disconnected)
            }
            LinkState::Connected => {
                self.close_blind(Why::Disconnected, at_ns);
            }
            _ => {}
        }
    }

    /// Sets the count of messages the NATS client dropped (a running total).
    pub fn set_client_drops(&mut self, total: u64) {
        self.status.dropped_client = self.status.dropped_client.max(total);
    }

    /// Sets the count of messages the ingest queue dropped (a running total).
    pub fn set_queue_drops(&mut self, total: u64) {
        self.status.dropped_queue = self.status.dropped_queue.max(total);
    }

    /// The NATS client dropped messages (`total` so far): flowscope is
    /// blind from `since_ns` (the last time it knew it had missed nothing)
    /// until [`Engine::client_caught_up`].
    pub fn client_drops(&mut self, total: u64, since_ns: i64) {
        if total > self.status.dropped_client {
            self.open_blind(since_ns, Why::ClientDropped);
        }
        self.set_client_drops(total);
    }

    /// The NATS client has dropped nothing more since its last drops, as of
    /// `at_ns`; returns the window in which it was blind.
    pub fn client_caught_up(&mut self, at_ns: i64) -> Option<BlindWindow> {
        self.close_blind(Why::ClientDropped, at_ns)
    }

    /// flowscope was blind during `w` (its queue dropped the events it
    /// received then, or a recording says so): findings whose evidence
    /// falls in it, found before or after, are unverifiable.
    pub fn blind(&mut self, w: BlindWindow) {
        self.blind.add(w.from_ns, w.to_ns, w.why);
        self.sagas.blind_mut().add(w.from_ns, w.to_ns, w.why);
        self.recheck(&w);
    }

    /// When flowscope was blind.
    pub fn blindness(&self) -> &Blindness {
        &self.blind
    }

    fn open_blind(&mut self, at_ns: i64, why: Why) {
        self.blind.open(at_ns, why);
        self.sagas.blind_mut().open(at_ns, why);
        self.recheck(&BlindWindow {
            from_ns: at_ns,
            to_ns: i64::MAX,
            why,
        });
    }

    fn close_blind(&mut self, why: Why, at_ns: i64) -> Option<BlindWindow> {
        self.sagas.blind_mut().close(why, at_ns);
        self.blind.close(why, at_ns)
    }

    /// Moves the gaps found in `w` to the unverifiable findings, on the
    /// events still retained too.
    fn recheck(&mut self, w: &BlindWindow) {
        for r in self.detect.recheck(w) {
            self.store
                .update(r.index, |ev| ev.unverify(r.from, &r.note));
        }
        self.tables_cache = None;
    }

    /// Shows (or clears) the recording in progress.
    pub fn set_recording(&mut self, recording: Option<super::snapshot::RecordingStatus>) {
        self.status.recording = recording;
    }

    /// Shows the state of a stream reader (replacing its previous state).
    pub fn set_reader(&mut self, reader: super::snapshot::ReaderStatus) {
        let readers = &mut self.status.readers;
        match readers.iter_mut().find(|r| r.stream == reader.stream) {
            Some(r) => *r = reader,
            None => readers.push(reader),
        }
    }

    /// Shows a notice in the status line.
    pub fn set_notice(&mut self, notice: Option<String>) {
        self.status.notice = notice;
    }

    /// Moves the clock forward without an event, so rates decay when idle.
    pub fn tick(&mut self, now_ns: i64) {
        self.advance(now_ns);
    }

    /// Moves the event clock to `t` (never back); the first time also
    /// marks the start of observation.
    fn advance(&mut self, t: i64) {
        self.observed_since_ns.get_or_insert(t);
        self.clock_ns = self.clock_ns.max(t);
    }

    /// The time rates are measured over now.
    fn rate_window(&self) -> Window {
        Window {
            now_ns: self.clock_ns,
            since_ns: self.observed_since_ns.unwrap_or(self.clock_ns),
        }
    }

    /// Replaces the filter and finds every retained match.
    pub fn set_filter(&mut self, filter: Option<Filter>) {
        self.filter = filter.map(|f| {
            let matches = self
                .store
                .events()
                .iter()
                .filter(|e| f.matches(e))
                .map(|e| e.env.index)
                .collect();
            (f, matches)
        });
    }

    pub fn total_events(&self) -> u64 {
        self.next_index
    }

    /// The event ingested last, as stored (while it is retained).
    pub fn newest(&self) -> Option<&Arc<StoredEvent>> {
        self.store.events().back()
    }

    /// Continues the snapshot numbering of `previous` (an engine this one
    /// replaces, as after a seek), so generations keep increasing.
    pub fn continue_generations(&mut self, previous: &Engine) {
        self.generation = self.generation.max(previous.generation);
    }

    /// Roughly the bytes a clone of this engine adds (retained events are
    /// shared between clones and not counted).
    pub fn approx_clone_bytes(&self) -> usize {
        self.detect.approx_bytes() + self.lag.approx_bytes() + self.sagas.approx_bytes()
    }

    /// The sagas view for a snapshot: rebuilt once per second at most.
    fn sagas_view(&mut self, now_sec: i64) -> Arc<SagaView> {
        match &self.sagas_view {
            Some((sec, _, v)) if *sec == now_sec => v.clone(),
            _ => {
                let v = Arc::new(self.sagas.view(SAGA_ROWS));
                self.sagas_view = Some((now_sec, self.next_index, v.clone()));
                v
            }
        }
    }

    /// The saga instances.
    pub fn sagas(&self) -> &SagaBook {
        &self.sagas
    }

    /// Takes in a poll of the servers' connections, taken at `t_ns`.
    pub fn flow_poll(&mut self, t_ns: i64, poll: &FlowPoll) {
        self.flow.poll(t_ns, poll);
    }

    /// Takes in a poll of the consumers, taken at `t_ns`.
    pub fn lag_poll(&mut self, t_ns: i64, poll: &LagPoll) {
        self.advance(t_ns);
        self.lag.poll(t_ns, poll);
    }

    /// Payload bytes of all events.
    pub fn total_bytes(&self) -> u64 {
        self.total_bytes
    }

    /// True once `stop_after` events were taken.
    pub fn is_full(&self) -> bool {
        self.stop_after.is_some_and(|n| self.next_index >= n)
    }

    /// Publishes the current state.
    pub fn snapshot(&mut self) -> Snapshot {
        self.snapshot_with(true)
    }

    /// Publishes the current state; with `fresh_subjects` false, the subject
    /// tree copied earlier in the same second is reused even if counts moved.
    pub fn snapshot_with(&mut self, fresh_tables: bool) -> Snapshot {
        self.generation += 1;
        let now_sec = self.clock_ns.div_euclid(NS_PER_SEC);
        // The subject tree, the types table and the breakdowns cost to copy
        // and their rates move by the second: within a second, new counts
        // may wait when the caller says so.
        let tables = match &self.tables_cache {
            Some(t) if t.sec == now_sec && (t.events == self.next_index || !fresh_tables) => {
                t.clone()
            }
            _ => {
                let t = Tables {
                    sec: now_sec,
                    events: self.next_index,
                    subjects: Arc::new(self.subjects.snapshot(self.rate_window())),
                    types: Arc::new(self.type_rows()),
                    anomalies: Arc::new(AnomalySummary {
                        top_subjects: self.detect.log.top_subjects(BREAKDOWN_ROWS),
                        top_types: self.detect.log.top_types(BREAKDOWN_ROWS),
                        ..AnomalySummary::default()
                    }),
                };
                self.tables_cache = Some(t.clone());
                t
            }
        };
        let log = &self.detect.log;
        let anomalies = AnomalySummary {
            counts: log.counts(),
            history: AnomalyKind::ALL
                .iter()
                .map(|k| log.history(*k, now_sec - 1))
                .collect(),
            recent: log.recent().clone(),
            gaps_missing: self.detect.ordering.missing(),
            gaps_open: self.detect.ordering.open(),
            gaps_unverifiable: self.detect.ordering.unverifiable_missing(),
            ..(*tables.anomalies).clone()
        };
        let status = Status {
            clock_ns: self.clock_ns,
            events_per_sec: self.subjects.total_rate(self.rate_window()),
            total_events: self.next_index,
            total_bytes: self.total_bytes,
            retained_events: self.store.len(),
            retained_bytes: self.store.bytes(),
            blind_until_ns: self.blind.last_ns(),
            untracked_subject_events: self.subjects.untracked_events(),
            ..self.status.clone()
        };
        Snapshot {
            generation: self.generation,
            events: self.store.events().clone(),
            filter: self.filter.as_ref().map(|(f, m)| FilterView {
                spec: f.spec().to_owned(),
                matches: m.clone(),
            }),
            subjects: tables.subjects,
            types: tables.types,
            anomalies: Arc::new(anomalies),
            status,
            lag: self.lag.view(),
            flow: self.flow.view(),
            sagas: self.sagas_view(now_sec),
            replay: None,
        }
    }

    fn type_rows(&self) -> Vec<TypeRow> {
        self.detect
            .types()
            .into_iter()
            .map(|(name, st, verdict)| {
                let (history, changes) = self.detect.schemas.history(&name);
                let schema = self.detect.schemas.fields(&name);
                TypeRow {
                    fields: schema.len(),
                    schema,
                    learned: self.detect.schemas.is_learned(&name),
                    drift: history,
                    drift_changes: changes,
                    avg_size: st.bytes.checked_div(st.events).unwrap_or(0),
                    max_size: st.max_size,
                    events: st.events,
                    kind: verdict.kind,
                    reason: verdict.reason,
                    passive_aggressive: verdict.passive_aggressive,
                    name,
                }
            })
            .collect()
    }

    /// The detections' state, for reports.
    pub fn detect(&self) -> &Detect {
        &self.detect
    }

    /// Receive times of the first and last events.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        self.first_received_ns.zip(self.last_received_ns)
    }

    /// Events per subject, for reports: (subject, events, bytes), leaves only.
    pub fn subject_totals(&self) -> Vec<(String, u64, u64)> {
        self.subjects.leaves()
    }

    /// Notes a message on `subject` that flowscope does not show (an inbox
    /// reply): it may answer a request seen earlier.
    pub fn answered(&mut self, subject: &str) {
        self.detect.answer(subject);
    }

    pub fn status(&self) -> &Status {
        &self.status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(t_sec: i64, subject: &str, payload: &str) -> Envelope {
        Envelope::new(t_sec * NS_PER_SEC, subject, payload.to_owned())
    }

    #[test]
    fn a_saga_from_flowscope_toml_keeps_to_its_subjects_and_step_timeouts() {
        use crate::analysis::saga::SagaState;
        let analysis = crate::config::parse(
            r#"
[[sagas]]
name = "order"
steps = ["OrderCreated", "PaymentProcessed"]
timeout = "10s"
step_timeouts = { PaymentProcessed = "1m" }
subjects = ["orders.>"]
"#,
            "flowscope.toml",
        )
        .unwrap();
        let mut e = Engine::new(EngineConfig {
            analysis,
            ..EngineConfig::default()
        });
        let ev = |id: &str| format!(r#"{{"type":"OrderCreated","correlation_id":"{id}"}}"#);
        e.ingest(env(0, "orders.created", &ev("o-1")));
        e.ingest(env(0, "audit.orders", &ev("o-2")));
        e.ingest(env(30, "orders.created", &ev("o-3")));
        let book = e.sagas();
        let states: Vec<_> = book
            .instances()
            .map(|i| (i.id.as_str(), book.state(i)))
            .collect();
        assert_eq!(
            states,
            [
                ("o-1", SagaState::InProgress),
                ("o-3", SagaState::InProgress)
            ],
            "o-2 is on another subject; o-1 waits for its payment up to 1m"
        );
    }

    #[test]
    fn ingest_assigns_indices_and_describes() {
        let mut e = Engine::new(EngineConfig::default());
        e.ingest(env(
            1,
            "orders.created",
            r#"{"type":"OrderCreated","aggregate_id":"o-1"}"#,
        ));
        e.ingest(env(1, "payments.failed", "binary\x00"));
        let s = e.snapshot();
        assert_eq!(s.events.len(), 2);
        assert_eq!(&*s.events[0].event_type, "OrderCreated");
        assert_eq!(&*s.events[0].key, "o-1");
        assert_eq!(s.events[1].env.index, 1);
        assert_eq!(&*s.events[1].event_type, "failed");
        assert_eq!(s.status.total_events, 2);
    }

    #[test]
    fn filter_applies_to_history_and_new_events_and_follows_eviction() {
        let mut e = Engine::new(EngineConfig {
            retention: Retention {
                max_events: 4,
                max_bytes: u64::MAX,
            },
            ..EngineConfig::default()
        });
        e.ingest(env(1, "orders.created", "{}"));
        e.ingest(env(1, "payments.failed", "{}"));
        e.set_filter(Some(Filter::parse("orders.*").unwrap()));
        e.ingest(env(2, "orders.shipped", "{}"));
        let s = e.snapshot();
        assert_eq!(s.row_count(), 2);
        assert_eq!(s.row_index(1), Some(2));
        for _ in 0..3 {
            e.ingest(env(3, "payments.failed", "{}"));
        }
        let s = e.snapshot();
        assert_eq!(s.first_index(), 2);
        assert_eq!(s.row_count(), 1, "the evicted match is gone");
        e.set_filter(None);
        assert_eq!(e.snapshot().row_count(), 4);
    }

    #[test]
    fn reconnects_are_counted_and_timed() {
        let mut e = Engine::new(EngineConfig::default());
        e.link(
            LinkEvent::Connected {
                version: Some("2.9.10".into()),
            },
            10,
        );
        e.link(LinkEvent::Disconnected, 20);
        let s = e.snapshot();
        assert_eq!(s.status.link, LinkState::Reconnecting);
        assert_eq!(s.status.link_since_ns, 20);
        e.link(
            LinkEvent::Connected {
                version: Some("2.9.10".into()),
            },
            30,
        );
        let s = e.snapshot();
        assert_eq!(s.status.link, LinkState::Connected);
        assert_eq!(s.status.reconnects, 1);
        assert_eq!(s.status.link_since_ns, 30);
    }

    #[test]
    fn rate_follows_the_event_clock() {
        let mut e = Engine::new(EngineConfig::default());
        for t in 0..5 {
            for _ in 0..20 {
                e.ingest(env(100 + t, "a", "x"));
            }
        }
        e.tick(105 * NS_PER_SEC);
        assert_eq!(e.snapshot().status.events_per_sec, 20.0);
        e.tick(200 * NS_PER_SEC);
        assert_eq!(e.snapshot().status.events_per_sec, 0.0);
    }
}
