//! A simulated event-driven order system, the saga from the seed documents:
//!
//! ```text
//! OrderCreated → InventoryReserved → PaymentProcessed → OrderShipped
//!                                  ↘ PaymentFailed → InventoryReleased → OrderCancelled
//! ```
//!
//! Every event is JSON with `id`, `type`, `aggregate_id`, `order_id`, `seq`
//! (per order), `correlation_id`, `occurred_at` and business fields, and
//! carries a `Nats-Msg-Id` header. Faults are injected at configurable rates
//! and counted exactly in a [`SimReport`], so tests can check what flowscope
//! detects: duplicate publishes, out-of-order delivery, skipped sequence
//! numbers, failing payments (compensated, or not), and sagas that stop.
//!
//! The generator is deterministic for a seed and independent of time; the
//! driver in `demo/mod.rs` paces it.

use std::collections::VecDeque;

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use serde::Serialize;
use serde_json::json;

/// Orders in flight at once.
pub const DEFAULT_CONCURRENCY: usize = 25;
/// Orders after which the demo's schemas drift.
pub const DEFAULT_DRIFT_AFTER: u64 = 300;
/// Share of new orders that also update the customer's profile.
const PROFILE_UPDATE_RATE: f64 = 0.1;
/// A duplicate is published after at most this many other messages.
const MAX_DUP_DELAY: u32 = 5;

/// Fault rates and the seed.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    pub dup_rate: f64,
    pub ooo_rate: f64,
    pub gap_rate: f64,
    pub fail_rate: f64,
    pub stuck_rate: f64,
    pub concurrency: usize,
    /// After this many orders, two event types change shape (schema drift):
    /// `OrderShipped` gains `/data/eta`, `PaymentProcessed` sends
    /// `/data/amount` as a string.
    pub drift_after: Option<u64>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            seed: 1,
            dup_rate: 0.03,
            ooo_rate: 0.02,
            gap_rate: 0.01,
            fail_rate: 0.15,
            stuck_rate: 0.05,
            concurrency: DEFAULT_CONCURRENCY,
            drift_after: Some(DEFAULT_DRIFT_AFTER),
        }
    }
}

/// One message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimMessage {
    pub subject: String,
    pub headers: Vec<(String, String)>,
    pub payload: Bytes,
}

impl SimMessage {
    /// The message as flowscope would capture it at `received_ns`: the one
    /// way the demo, the tests, the benchmarks and the example make
    /// envelopes of simulated messages.
    pub fn envelope(self, received_ns: i64) -> crate::envelope::Envelope {
        let mut env = crate::envelope::Envelope::new(received_ns, &self.subject, self.payload);
        env.headers = self
            .headers
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        env
    }
}

/// The simulated order saga, as a user would define it in flowscope.toml:
/// the demo follows it when the config defines no sagas.
pub fn order_saga() -> crate::analysis::saga::SagaDef {
    crate::analysis::saga::SagaDef::new(
        "order",
        &[
            "OrderCreated",
            "InventoryReserved",
            "PaymentProcessed",
            "OrderShipped",
        ],
        &["PaymentFailed"],
        &["InventoryReleased", "OrderCancelled"],
        crate::analysis::saga::DEFAULT_TIMEOUT,
    )
}

/// What the simulation did, counted exactly.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SimReport {
    /// Messages emitted, duplicates included.
    pub events: u64,
    pub orders: u64,
    /// Orders that shipped.
    pub completed: u64,
    /// Orders whose payment failed and that were fully compensated.
    pub compensated: u64,
    /// Orders whose payment failed and that were never compensated.
    pub failed: u64,
    /// Orders that stopped mid-way without a failure.
    pub stuck: u64,
    /// Extra copies published (each copy counts once).
    pub duplicates: u64,
    /// Events delivered after a later event of the same order.
    pub out_of_order: u64,
    /// Sequence numbers skipped (never published).
    pub gaps: u64,
    /// Side traffic without sequence numbers or faults: `OrderPlaced`
    /// notifications, `ReserveInventory` commands, `CustomerProfileUpdated`
    /// state transfers.
    pub side_events: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Created,
    Reserved,
    Paid,
    Shipped,
    PaymentFailed,
    Released,
    Cancelled,
}

impl Step {
    fn subject_and_type(self) -> (&'static str, &'static str) {
        match self {
            Step::Created => ("orders.created", "OrderCreated"),
            Step::Reserved => ("inventory.reserved", "InventoryReserved"),
            Step::Paid => ("payments.processed", "PaymentProcessed"),
            Step::Shipped => ("shipping.shipped", "OrderShipped"),
            Step::PaymentFailed => ("payments.failed", "PaymentFailed"),
            Step::Released => ("inventory.released", "InventoryReleased"),
            Step::Cancelled => ("orders.cancelled", "OrderCancelled"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    Complete,
    Compensate,
    FailUncompensated,
    Stuck,
}

#[derive(Debug)]
struct Order {
    num: u64,
    path: Vec<Step>,
    fate: Fate,
    pos: usize,
    seq: u64,
    held: Option<SimMessage>,
    total_cents: u64,
}

/// The generator.
pub struct Simulation {
    cfg: SimConfig,
    rng: StdRng,
    active: Vec<Order>,
    next_order: u64,
    next_event: u64,
    out: VecDeque<SimMessage>,
    delayed: Vec<(u32, SimMessage)>,
    accepting: bool,
    report: SimReport,
}

impl Simulation {
    pub fn new(cfg: SimConfig) -> Self {
        Simulation {
            rng: StdRng::seed_from_u64(cfg.seed),
            cfg,
            active: Vec::new(),
            next_order: 1,
            next_event: 1,
            out: VecDeque::new(),
            delayed: Vec::new(),
            accepting: true,
            report: SimReport::default(),
        }
    }

    /// Stops starting new orders; in-flight orders run to their end.
    pub fn finish(&mut self) {
        self.accepting = false;
    }

    pub fn report(&self) -> &SimReport {
        &self.report
    }

    /// The next message, stamped `now_ns`; `None` once finished and drained.
    pub fn next(&mut self, now_ns: i64) -> Option<SimMessage> {
        loop {
            if let Some(m) = self.out.pop_front() {
                self.report.events += 1;
                self.age_delayed();
                return Some(m);
            }
            if self.active.len() < self.cfg.concurrency.max(1) && self.accepting {
                self.start_order();
            } else if self.active.is_empty() {
                // Finished: release any duplicates still waiting.
                if self.delayed.is_empty() {
                    return None;
                }
                let (_, m) = self.delayed.remove(0);
                self.out.push_back(m);
                continue;
            }
            let i = self.rng.random_range(0..self.active.len());
            self.step(i, now_ns);
        }
    }

    fn age_delayed(&mut self) {
        for d in &mut self.delayed {
            d.0 = d.0.saturating_sub(1);
        }
        while let Some(pos) = self.delayed.iter().position(|d| d.0 == 0) {
            let (_, m) = self.delayed.remove(pos);
            self.out.push_back(m);
        }
    }

    fn start_order(&mut self) {
        let fail = self.rng.random_bool(self.cfg.fail_rate.clamp(0.0, 1.0));
        let stuck = self.rng.random_bool(self.cfg.stuck_rate.clamp(0.0, 1.0));
        use Step::*;
        let (fate, path) = match (fail, stuck) {
            (false, false) => (Fate::Complete, vec![Created, Reserved, Paid, Shipped]),
            (true, false) => (
                Fate::Compensate,
                vec![Created, Reserved, PaymentFailed, Released, Cancelled],
            ),
            (true, true) => (
                Fate::FailUncompensated,
                vec![Created, Reserved, PaymentFailed],
            ),
            (false, true) => {
                let n = self.rng.random_range(1..=3);
                (Fate::Stuck, [Created, Reserved, Paid][..n].to_vec())
            }
        };
        self.active.push(Order {
            num: self.next_order,
            path,
            fate,
            pos: 0,
            seq: 0,
            held: None,
            total_cents: self.rng.random_range(500..50_000),
        });
        self.next_order += 1;
        self.report.orders += 1;
    }

    fn step(&mut self, i: usize, now_ns: i64) {
        let gap = self.active[i].seq > 0 && self.rng.random_bool(self.cfg.gap_rate.clamp(0.0, 1.0));
        let hold = self.rng.random_bool(self.cfg.ooo_rate.clamp(0.0, 1.0));
        let order = &mut self.active[i];
        if gap {
            order.seq += 1;
            self.report.gaps += 1;
        }
        order.seq += 1;
        let step = order.path[order.pos];
        order.pos += 1;
        let last = order.pos == order.path.len();
        let drifted = self.cfg.drift_after.is_some_and(|n| order.num > n);
        let msg = build(order, step, self.next_event, now_ns, drifted, &mut self.rng);
        self.next_event += 1;
        let side = side_traffic(order, step, now_ns, &mut self.rng);
        for (subject, mut payload) in side {
            payload["id"] = json!(format!("evt-{:08}", self.next_event));
            self.next_event += 1;
            self.report.side_events += 1;
            self.out.push_back(SimMessage {
                subject: subject.to_owned(),
                headers: vec![(
                    "Nats-Msg-Id".to_owned(),
                    payload["id"].as_str().unwrap_or_default().to_owned(),
                )],
                payload: Bytes::from(serde_json::to_vec(&payload).expect("JSON values serialize")),
            });
        }
        if hold && !last && order.held.is_none() {
            // Delivered after this order's next event.
            order.held = Some(msg);
            self.report.out_of_order += 1;
            return;
        }
        let late = order.held.take();
        let fate = order.fate;
        if last {
            self.active.swap_remove(i);
            match fate {
                Fate::Complete => self.report.completed += 1,
                Fate::Compensate => self.report.compensated += 1,
                Fate::FailUncompensated => self.report.failed += 1,
                Fate::Stuck => self.report.stuck += 1,
            }
        }
        for m in std::iter::once(msg).chain(late) {
            if self.rng.random_bool(self.cfg.dup_rate.clamp(0.0, 1.0)) {
                let delay = self.rng.random_range(1..=MAX_DUP_DELAY);
                self.delayed.push((delay, m.clone()));
                self.report.duplicates += 1;
            }
            self.out.push_back(m);
        }
    }
}

/// Messages that accompany a step but are not part of the order's sequence.
fn side_traffic(
    order: &Order,
    step: Step,
    now_ns: i64,
    rng: &mut StdRng,
) -> Vec<(&'static str, serde_json::Value)> {
    let order_id = format!("ord-{:06}", order.num);
    let at = chrono::DateTime::from_timestamp_nanos(now_ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut out = Vec::new();
    match step {
        Step::Created => {
            out.push((
                "notifications.orders",
                json!({"id": "", "type": "OrderPlaced", "order_id": order_id, "link": format!("/orders/{order_id}")}),
            ));
            if rng.random_bool(PROFILE_UPDATE_RATE) {
                let customer = format!("cus-{:04}", rng.random_range(1..2000));
                let tier = ["basic", "silver", "gold"][rng.random_range(0..3)];
                let opt_in = rng.random_bool(0.5);
                out.push((
                    "customers.profile",
                    json!({
                        "id": "", "type": "CustomerProfileUpdated", "customer_id": customer, "updated_at": at,
                        "name": "Ann Example", "email": "ann@example.com", "phone": "+31 20 555 0100",
                        "address": {"street": "Main 1", "city": "Amsterdam", "zip": "1011", "country": "NL"},
                        "tier": tier, "marketing_opt_in": opt_in
                    }),
                ));
            }
        }
        Step::Reserved => out.push((
            "inventory.commands",
            json!({"id": "", "type": "ReserveInventory", "order_id": order_id, "requested_at": at}),
        )),
        _ => {}
    }
    out
}

fn build(
    order: &Order,
    step: Step,
    event: u64,
    now_ns: i64,
    drifted: bool,
    rng: &mut StdRng,
) -> SimMessage {
    let (subject, ty) = step.subject_and_type();
    let id = format!("evt-{event:08}");
    let order_id = format!("ord-{:06}", order.num);
    let occurred_at = chrono::DateTime::from_timestamp_nanos(now_ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let amount = order.total_cents as f64 / 100.0;
    let data = match step {
        Step::Created => json!({
            "customer_id": format!("cus-{:04}", rng.random_range(1..2000)),
            "items": [{"sku": format!("SKU-{}", rng.random_range(100..999)), "qty": rng.random_range(1..4)}],
            "total": amount, "currency": "EUR"
        }),
        Step::Reserved => {
            let warehouse = ["AMS-1", "FRA-2", "DUB-1"][rng.random_range(0..3)];
            json!({"warehouse": warehouse})
        }
        Step::Paid if drifted => {
            let amount = format!("{amount:.2}");
            json!({"payment_id": format!("pay-{:06}", order.num), "amount": amount, "method": "card"})
        }
        Step::Paid => {
            json!({"payment_id": format!("pay-{:06}", order.num), "amount": amount, "method": "card"})
        }
        Step::PaymentFailed => {
            let reason =
                ["card_declined", "insufficient_funds", "fraud_suspected"][rng.random_range(0..3)];
            json!({"payment_id": format!("pay-{:06}", order.num), "amount": amount, "reason": reason})
        }
        Step::Shipped => {
            let tracking = format!("TRK{:09}", rng.random_range(0..1_000_000_000u64));
            if drifted {
                json!({"carrier": "DHL", "tracking": tracking, "eta": "2 days"})
            } else {
                json!({"carrier": "DHL", "tracking": tracking})
            }
        }
        Step::Released => json!({"reason": "payment_failed"}),
        Step::Cancelled => json!({"reason": "payment_failed", "refund": false}),
    };
    let payload = json!({
        "id": id,
        "type": ty,
        "aggregate_id": order_id,
        "order_id": order_id,
        "seq": order.seq,
        "correlation_id": order_id,
        "occurred_at": occurred_at,
        "data": data,
    });
    SimMessage {
        subject: subject.to_owned(),
        headers: vec![
            ("Nats-Msg-Id".to_owned(), id),
            ("Correlation-Id".to_owned(), order_id),
        ],
        payload: Bytes::from(serde_json::to_vec(&payload).expect("JSON values serialize")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    fn run(cfg: SimConfig, orders: u64) -> (Vec<SimMessage>, SimReport) {
        let mut sim = Simulation::new(cfg);
        let mut out = Vec::new();
        while sim.report().orders < orders {
            out.push(sim.next(0).unwrap());
        }
        sim.finish();
        while let Some(m) = sim.next(0) {
            out.push(m);
        }
        (out, sim.report().clone())
    }

    fn field(m: &SimMessage, name: &str) -> serde_json::Value {
        let v: serde_json::Value = serde_json::from_slice(&m.payload).unwrap();
        v[name].clone()
    }

    #[test]
    fn same_seed_same_flow() {
        let (a, _) = run(SimConfig::default(), 50);
        let (b, _) = run(SimConfig::default(), 50);
        assert_eq!(a, b);
    }

    /// Recomputes the faults from the messages alone, the way a consumer
    /// would see them, and compares with what the simulator says it did.
    #[test]
    fn the_report_matches_what_was_published() {
        let cfg = SimConfig {
            dup_rate: 0.1,
            ooo_rate: 0.1,
            gap_rate: 0.05,
            ..SimConfig::default()
        };
        let (msgs, report) = run(cfg, 400);
        assert_eq!(report.events, msgs.len() as u64);
        let mut seen = HashSet::new();
        let mut dups = 0;
        let mut highest: HashMap<String, u64> = HashMap::new();
        let mut seqs: HashMap<String, HashSet<u64>> = HashMap::new();
        let mut ooo = 0;
        for m in &msgs {
            let id = field(m, "id").as_str().unwrap().to_owned();
            assert_eq!(m.headers[0], ("Nats-Msg-Id".to_owned(), id.clone()));
            if !seen.insert(id) {
                dups += 1;
                continue;
            }
            if field(m, "seq").is_null() {
                continue; // side traffic
            }
            let key = field(m, "aggregate_id").as_str().unwrap().to_owned();
            let seq = field(m, "seq").as_u64().unwrap();
            let h = highest.entry(key.clone()).or_insert(0);
            if seq < *h {
                ooo += 1;
            }
            *h = (*h).max(seq);
            seqs.entry(key).or_default().insert(seq);
        }
        let missing: u64 = seqs
            .values()
            .map(|s| {
                (1..=*s.iter().max().unwrap())
                    .filter(|n| !s.contains(n))
                    .count() as u64
            })
            .sum();
        assert!(
            report.duplicates > 0 && report.out_of_order > 0 && report.gaps > 0,
            "{report:?}"
        );
        assert_eq!(dups, report.duplicates);
        assert_eq!(ooo, report.out_of_order);
        assert_eq!(missing, report.gaps);
        assert_eq!(
            report.completed + report.compensated + report.failed + report.stuck,
            report.orders
        );
    }

    #[test]
    fn compensation_follows_a_failed_payment() {
        let cfg = SimConfig {
            fail_rate: 1.0,
            stuck_rate: 0.0,
            dup_rate: 0.0,
            ooo_rate: 0.0,
            gap_rate: 0.0,
            concurrency: 1,
            ..SimConfig::default()
        };
        let (msgs, report) = run(cfg, 1);
        let types: Vec<String> = msgs
            .iter()
            .filter(|m| !field(m, "seq").is_null())
            .map(|m| field(m, "type").as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            types,
            [
                "OrderCreated",
                "InventoryReserved",
                "PaymentFailed",
                "InventoryReleased",
                "OrderCancelled"
            ]
        );
        assert!(msgs.iter().any(|m| m.subject == "payments.failed"));
        assert!(msgs.iter().any(|m| m.subject == "notifications.orders"));
        assert!(msgs.iter().any(|m| m.subject == "inventory.commands"));
        assert_eq!(report.compensated, 1);
    }
}
