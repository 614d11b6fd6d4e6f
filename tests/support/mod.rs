//! Test harness: a private nats-server per test (JetStream on, temporary
//! store, free port), helpers to attach flowscope to it, and waiting.
//!
//! A missing nats-server fails the test with install instructions; tests
//! never skip silently. They never touch the server on port 4222.

#![allow(dead_code)]

pub mod screen;

use std::sync::Arc;
use std::time::{Duration, Instant};

use flowscope::analysis::Snapshot;
use flowscope::demo::server::{NatsServer, ServerOptions};
use flowscope::demo::{NatsSink, drive};
use flowscope::session::SessionSettings;
use flowscope::session::{self, LiveSession};
use flowscope::sim::{SimConfig, SimReport, Simulation};
use flowscope::source::connect::Resolved;
use tokio_util::sync::CancellationToken;

/// Starts a private server or fails the test saying how to install one.
pub fn server() -> NatsServer {
    server_with(ServerOptions::default())
}

pub fn server_with(opts: ServerOptions) -> NatsServer {
    NatsServer::start_with(opts)
        .unwrap_or_else(|e| panic!("cannot start nats-server for the tests: {e}"))
}

pub fn resolved(url: &str) -> Resolved {
    Resolved {
        servers: vec![url.to_owned()],
        ..Resolved::default()
    }
}

/// A plain client, for publishing.
pub async fn client(url: &str) -> async_nats::Client {
    async_nats::connect(url)
        .await
        .expect("test client connects")
}

/// Waits until the server has routed everything `client` published (a
/// flush alone can lose the last messages when the client is dropped).
pub async fn settle(client: &async_nats::Client) {
    flowscope::source::connect::settle(client, std::time::Duration::from_secs(10))
        .await
        .expect("the server confirms what the test published");
}

/// Attaches flowscope to `subjects` on the server.
pub async fn attach(server: &NatsServer, subjects: &[&str], view: SessionSettings) -> LiveSession {
    session::attach(
        &resolved(&server.url()),
        subjects.iter().map(|s| s.to_string()).collect(),
        &view,
        &flowscope::analysis::AnalysisConfig::default(),
    )
    .await
    .expect("flowscope attaches")
}

/// The demo's simulation with `cfg`, published at `rate` events/s to the
/// server at `url` for `ms` milliseconds (then its orders in flight finish).
pub async fn simulate(url: &str, cfg: SimConfig, rate: f64, ms: u64) -> SimReport {
    let publisher = client(url).await;
    drive(
        Simulation::new(cfg),
        &mut NatsSink(publisher),
        rate,
        Some(Duration::from_millis(ms)),
        CancellationToken::new(),
    )
    .await
    .expect("the simulation publishes")
}

/// A simulation with more faults than the demo's defaults and no drift.
pub fn faulty(seed: u64) -> SimConfig {
    SimConfig {
        seed,
        dup_rate: 0.05,
        ooo_rate: 0.05,
        gap_rate: 0.03,
        drift_after: None,
        ..SimConfig::default()
    }
}

/// Waits until a published snapshot satisfies `cond`, or panics with
/// `what` and the last status.
pub async fn wait_for(
    live: &LiveSession,
    timeout: Duration,
    what: &str,
    cond: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let mut rx = live.host.snapshots.clone();
    let deadline = Instant::now() + timeout;
    loop {
        let snap = rx.borrow_and_update().clone();
        if cond(&snap) {
            return snap;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || tokio::time::timeout(left, rx.changed()).await.is_err() {
            panic!(
                "timed out waiting for {what}; last status: {:?}",
                snap.status
            );
        }
    }
}

/// Writes a recording of `n` events of the simulation with `cfg`, `step_ns`
/// apart from [`screen::T0`], as a live session would: connected first and,
/// with `outage`, a disconnect and a reconnect (with its missed window)
/// at 40% and 45% of the events. Returns the time of the last event.
pub fn write_recording(
    path: &std::path::Path,
    n: usize,
    cfg: SimConfig,
    step_ns: i64,
    outage: bool,
) -> i64 {
    use flowscope::recording::format::{Link, LinkRecord};
    use flowscope::recording::redact::Redactor;
    use flowscope::recording::{Header, Recorder, SourceInfo};
    let t0 = screen::T0;
    let source = SourceInfo {
        kind: "live".into(),
        server: Some("nats://test:4222".into()),
        subjects: vec![">".into()],
        ..SourceInfo::default()
    };
    let mut rec = Recorder::create(
        path,
        Header::new(t0, source, Vec::new()),
        Redactor::default(),
    )
    .expect("a new recording");
    rec.link(&LinkRecord {
        version: Some("2.10.0".into()),
        ..LinkRecord::change(Link::Connected, t0)
    })
    .unwrap();
    let mut sim = Simulation::new(cfg);
    let mut t = t0;
    for i in 0..n {
        t = t0 + (i as i64 + 1) * step_ns;
        if outage && i == n * 40 / 100 {
            rec.link(&LinkRecord::change(Link::Disconnected, t))
                .unwrap();
        }
        if outage && i == n * 45 / 100 {
            rec.link(&LinkRecord {
                missed_from: Some(t - step_ns * (n as i64 / 20)),
                missed_to: Some(t),
                version: Some("2.10.0".into()),
                ..LinkRecord::change(Link::Connected, t)
            })
            .unwrap();
        }
        let m = sim.next(t).expect("the simulation runs");
        let mut env = m.envelope(t);
        env.index = i as u64;
        rec.event(&env).unwrap();
    }
    rec.finish(t).unwrap();
    t
}

/// A `flowscope` child process whose stderr is collected in the background.
pub struct Spawned {
    pub child: std::process::Child,
    /// The first line it wrote to stderr.
    pub first_line: String,
    rest: std::sync::Arc<std::sync::Mutex<String>>,
}

impl Spawned {
    /// Everything it wrote to stderr after the first line, so far.
    pub fn stderr(&self) -> String {
        self.rest.lock().unwrap().clone()
    }
}

/// Starts `flowscope ARGS` (stdout piped, stderr collected), waits for its
/// first line on stderr and checks it contains `expect`.
pub fn spawn_flowscope(args: &[&str], expect: &str) -> Spawned {
    use std::io::BufRead;
    use std::process::{Command, Stdio};
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("flowscope"))
        .args(args)
        .env_remove("NATS_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut first_line = String::new();
    stderr.read_line(&mut first_line).unwrap();
    assert!(
        first_line.contains(expect),
        "unexpected first line: {first_line}"
    );
    // Keep draining stderr so the child never blocks on it.
    let rest = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = rest.clone();
    std::thread::spawn(move || {
        let mut line = String::new();
        while stderr.read_line(&mut line).is_ok_and(|n| n > 0) {
            sink.lock().unwrap().push_str(&line);
            line.clear();
        }
    });
    Spawned {
        child,
        first_line,
        rest,
    }
}
