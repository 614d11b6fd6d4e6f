//! Live ingest against a real nats-server: does flowscope receive
//! everything a bare async-nats subscriber receives from the same
//! publisher on the same machine?
//!
//! One private nats-server; one publisher (async-nats, in this process)
//! sends `EVENTS` 200-byte JSON events as fast as it can: unique ids, 1,000
//! keys, a gapless sequence per key, in order. In turns, each round:
//! - baseline: a bare async-nats subscriber (this executable again, as a
//!   child process) counts what it receives;
//! - `flowscope analyze --live 'bench.>' --count EVENTS --format json`;
//! - `flowscope watch 'bench.>'`, the TUI at its normal frame rate in a
//!   160×45 tmux window, read off its status bar (skipped without tmux).
//!
//! Each prints what it received, dropped and claimed (gaps, out of order,
//! duplicates: all must be 0 on this workload), and its rate from first to
//! last event. Run: `cargo bench --bench live [-- EVENTS [ROUNDS]]`; with
//! `FLOWSCOPE_BENCH_PERF=FILE` each flowscope command runs under
//! `perf record`, writing FILE.analyze.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use flowscope::demo::server::NatsServer;
use futures::StreamExt;

const DEFAULT_EVENTS: usize = 1_000_000;
const DEFAULT_ROUNDS: usize = 3;
const KEYS: usize = 1_000;
const SUBJECT_PREFIX: &str = "bench";
/// Environment variable that makes this executable the bare subscriber.
const ROLE: &str = "FLOWSCOPE_BENCH_ROLE";
/// A receiver that has seen nothing new for this long is done.
const IDLE: Duration = Duration::from_secs(3);

fn main() {
    if std::env::var(ROLE).as_deref() == Ok("subscriber") {
        bare_subscriber();
        return;
    }
    let mut numbers = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .filter_map(|a| a.parse::<usize>().ok());
    let events = numbers.next().unwrap_or(DEFAULT_EVENTS);
    let rounds = numbers.next().unwrap_or(DEFAULT_ROUNDS);
    let server = NatsServer::start().unwrap_or_else(|e| panic!("{e}"));
    let payloads = workload(events);
    let bytes: usize = payloads.iter().map(|(_, p)| p.len()).sum();
    println!(
        "workload: {events} events, {:.0} B each on average, {KEYS} keys; nats-server at {}",
        bytes as f64 / events as f64,
        server.url()
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let tmux = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !tmux {
        println!("tmux not found: the watch leg is skipped");
    }
    let mut results: Vec<(&str, Vec<Outcome>)> = vec![
        ("bare async-nats subscriber", Vec::new()),
        ("flowscope analyze --live", Vec::new()),
        ("flowscope watch (TUI)", Vec::new()),
    ];
    for round in 0..rounds {
        let bare = run_bare(&rt, &server, &payloads);
        print_outcome(round, "bare subscriber", &bare);
        results[0].1.push(bare);
        let analyze = run_analyze(&rt, &server, &payloads);
        print_outcome(round, "analyze --live", &analyze);
        results[1].1.push(analyze);
        if tmux {
            let watch = run_watch(&rt, &server, &payloads, round);
            print_outcome(round, "watch", &watch);
            results[2].1.push(watch);
        }
    }
    println!();
    let baseline = best_rate(&results[0].1);
    for (name, outcomes) in &results {
        if outcomes.is_empty() {
            continue;
        }
        let rate = best_rate(outcomes);
        let worst_dropped = outcomes.iter().map(|o| o.dropped).max().unwrap_or(0);
        let worst_received = outcomes.iter().map(|o| o.received).min().unwrap_or(0);
        let claimed = outcomes
            .iter()
            .filter_map(|o| o.claimed)
            .max()
            .map_or("not read".to_owned(), |c| c.to_string());
        println!(
            "{name:<28} {rate:>9.0} events/s = {:.2}x the bare subscriber; \
             fewest received {worst_received} of {events}, most dropped {worst_dropped}, \
             most faults claimed {claimed}",
            rate / baseline
        );
    }
    let publisher: Vec<f64> = results
        .iter()
        .flat_map(|(_, o)| o.iter().map(|o| o.published_rate))
        .collect();
    println!(
        "publisher: {:.0}–{:.0} events/s",
        publisher.iter().cloned().fold(f64::MAX, f64::min),
        publisher.iter().cloned().fold(0.0, f64::max)
    );
}

/// (subject, payload) of every event.
fn workload(n: usize) -> Vec<(String, Bytes)> {
    let pad = "x".repeat(96);
    (0..n)
        .map(|i| {
            let key = i % KEYS;
            let seq = i / KEYS + 1;
            let payload = format!(
                r#"{{"id":"evt-{i:09}","type":"BenchEvent","aggregate_id":"k-{key:04}","seq":{seq},"data":{{"n":{i},"pad":"{pad}"}}}}"#
            );
            (format!("{SUBJECT_PREFIX}.k{}", key % 10), Bytes::from(payload))
        })
        .collect()
}

/// What one receiver did in one round.
#[derive(Debug, Default, Clone)]
struct Outcome {
    received: u64,
    dropped: u64,
    /// Gaps, out-of-order events and duplicates claimed (all false
    /// here); unknown for the TUI.
    claimed: Option<u64>,
    /// Events per second from the first to the last event received.
    rate: f64,
    published_rate: f64,
    note: String,
}

fn best_rate(outcomes: &[Outcome]) -> f64 {
    outcomes.iter().map(|o| o.rate).fold(0.0, f64::max)
}

fn print_outcome(round: usize, name: &str, o: &Outcome) {
    println!(
        "round {round} {name:<16} received {:>8} dropped {:>8} claimed {:>6} at {:>8.0} events/s (publisher {:.0}/s){}",
        o.received,
        o.dropped,
        o.claimed.map_or("-".to_owned(), |c| c.to_string()),
        o.rate,
        o.published_rate,
        if o.note.is_empty() {
            String::new()
        } else {
            format!(" — {}", o.note)
        }
    );
}

/// Publishes every event as fast as the client takes them; returns the rate.
fn publish(rt: &tokio::runtime::Runtime, url: &str, payloads: &[(String, Bytes)]) -> f64 {
    rt.block_on(async {
        let client = async_nats::connect(url).await.expect("publisher connects");
        let start = Instant::now();
        for (subject, payload) in payloads {
            client
                .publish(subject.clone(), payload.clone())
                .await
                .expect("publish");
        }
        client.flush().await.expect("flush");
        payloads.len() as f64 / start.elapsed().as_secs_f64()
    })
}

/// Waits for a line containing `needle` on `lines`; false at their end.
fn wait_for_line(lines: &mut impl Iterator<Item = String>, needle: &str) -> bool {
    lines.any(|l| l.contains(needle))
}

fn run_bare(
    rt: &tokio::runtime::Runtime,
    server: &NatsServer,
    payloads: &[(String, Bytes)],
) -> Outcome {
    let mut child = Command::new(std::env::current_exe().expect("this executable"))
        .env(ROLE, "subscriber")
        .env("BENCH_URL", server.url())
        .env("BENCH_EVENTS", payloads.len().to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting the bare subscriber");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok);
    assert!(wait_for_line(&mut lines, "ready"), "the subscriber failed");
    let published_rate = publish(rt, &server.url(), payloads);
    let result = lines.next().unwrap_or_default();
    let _ = child.wait();
    let mut f = result
        .split_whitespace()
        .map(|x| x.parse::<f64>().unwrap_or(0.0));
    let received = f.next().unwrap_or(0.0) as u64;
    let secs = f.next().unwrap_or(0.0);
    Outcome {
        received,
        dropped: payloads.len() as u64 - received.min(payloads.len() as u64),
        claimed: None,
        rate: received as f64 / secs.max(1e-9),
        published_rate,
        note: String::new(),
    }
}

/// The child: subscribes, says "ready", counts until all arrived or it
/// has been idle for [`IDLE`], then prints `count seconds_first_to_last`.
fn bare_subscriber() {
    let url = std::env::var("BENCH_URL").expect("BENCH_URL");
    let want: u64 = std::env::var("BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .expect("BENCH_EVENTS");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    rt.block_on(async {
        let client = async_nats::connect(url).await.expect("subscriber connects");
        let mut sub = client
            .subscribe(format!("{SUBJECT_PREFIX}.>"))
            .await
            .expect("subscribe");
        client.flush().await.expect("flush");
        println!("ready");
        let mut n = 0u64;
        let mut first = None;
        let mut last = Instant::now();
        while n < want {
            match tokio::time::timeout(IDLE, sub.next()).await {
                Ok(Some(m)) => {
                    std::hint::black_box(&m);
                    n += 1;
                    last = Instant::now();
                    first.get_or_insert(last);
                }
                _ => break,
            }
        }
        let secs = first.map_or(0.0, |f| last.duration_since(f).as_secs_f64());
        println!("{n} {secs}");
    });
}

/// flowscope, or with `FLOWSCOPE_BENCH_PERF=FILE` flowscope under
/// `perf record -g` writing FILE.`what` (a profile of the command under
/// load).
fn flowscope(what: &str) -> Command {
    let bin = env!("CARGO_BIN_EXE_flowscope");
    match std::env::var("FLOWSCOPE_BENCH_PERF") {
        Ok(out) if !out.is_empty() => {
            let mut c = Command::new("perf");
            c.args(["record", "-e", "cpu-clock", "-F", "1999", "-g"])
                .args([
                    "--call-graph",
                    "dwarf,16384",
                    "-o",
                    &format!("{out}.{what}"),
                ])
                .args(["--", bin]);
            c
        }
        _ => Command::new(bin),
    }
}

fn run_analyze(
    rt: &tokio::runtime::Runtime,
    server: &NatsServer,
    payloads: &[(String, Bytes)],
) -> Outcome {
    let n = payloads.len();
    // Long enough for the slowest receiver; --count ends it when all came.
    let duration = format!("{}s", 20 + n / 20_000);
    let mut child: Child = flowscope("analyze")
        .args(["-s", &server.url(), "analyze", "--live"])
        .arg(format!("{SUBJECT_PREFIX}.>"))
        .args(["--count", &n.to_string(), "--duration", &duration])
        .args(["--format", "json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting flowscope analyze");
    let mut err = BufReader::new(child.stderr.take().expect("stderr"))
        .lines()
        .map_while(Result::ok);
    assert!(
        wait_for_line(&mut err, "analysing"),
        "analyze did not start"
    );
    let published_rate = publish(rt, &server.url(), payloads);
    let out = child.wait_with_output().expect("analyze ends");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "analyze printed no report ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    let int = |p: &str| report.pointer(p).and_then(|v| v.as_u64()).unwrap_or(0);
    let time = |p: &str| {
        report
            .pointer(p)
            .and_then(|v| v.as_str())
            .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
    };
    let received = int("/events");
    let secs = match (time("/first_time"), time("/last_time")) {
        (Some(a), Some(b)) => (b - a).as_seconds_f64(),
        _ => 0.0,
    };
    Outcome {
        received,
        dropped: int("/dropped"),
        claimed: Some(int("/gaps/missing") + int("/out_of_order/count") + int("/duplicates/count")),
        rate: received as f64 / secs.max(1e-9),
        published_rate,
        note: format!("unverifiable gaps {}", int("/gaps/unverifiable")),
    }
}

/// The status bar's counts: (events, dropped).
fn status_counts(screen: &str) -> Option<(u64, u64)> {
    let number = |s: &str| s.replace(',', "").parse::<u64>().ok();
    let line = screen
        .lines()
        .find(|l| l.contains(" events") && l.contains("dropped"))?;
    let events = line
        .split('│')
        .find(|s| s.trim().ends_with("events") || s.trim().ends_with("event"))
        .and_then(|s| number(s.split_whitespace().next()?))?;
    let dropped = line
        .split('│')
        .find_map(|s| s.trim().strip_prefix("dropped "))
        .and_then(|s| number(s.split_whitespace().next()?))?;
    Some((events, dropped))
}

fn tmux(args: &[&str]) -> String {
    let out = Command::new("tmux").args(args).output().expect("tmux runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn run_watch(
    rt: &tokio::runtime::Runtime,
    server: &NatsServer,
    payloads: &[(String, Bytes)],
    round: usize,
) -> Outcome {
    let session = format!("flowscope-bench-{}-{round}", std::process::id());
    let cmd = format!(
        "{} -s {} watch '{SUBJECT_PREFIX}.>'",
        env!("CARGO_BIN_EXE_flowscope"),
        server.url()
    );
    tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "160",
        "-y",
        "45",
        &cmd,
    ]);
    let screen = || tmux(&["capture-pane", "-p", "-t", &session]);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !screen().contains("connected") && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    let published_rate = publish(rt, &server.url(), payloads);
    // Read the counts until they stop moving.
    let mut last = (0, 0);
    let mut still_since = Instant::now();
    let start = Instant::now();
    let mut rate = 0.0;
    let mut first_seen: Option<(Instant, u64)> = None;
    while still_since.elapsed() < IDLE && start.elapsed() < Duration::from_secs(120) {
        std::thread::sleep(Duration::from_millis(50));
        let Some(now) = status_counts(&screen()) else {
            continue;
        };
        if now != last {
            if let Some((t0, n0)) = first_seen {
                rate = (now.0 - n0) as f64 / t0.elapsed().as_secs_f64().max(1e-9);
            } else if now.0 > 0 {
                first_seen = Some((Instant::now(), now.0));
            }
            last = now;
            still_since = Instant::now();
        }
    }
    let shown = screen();
    tmux(&["send-keys", "-t", &session, "q"]);
    std::thread::sleep(Duration::from_millis(300));
    tmux(&["kill-session", "-t", &session]);
    let claimed_note = shown
        .lines()
        .find(|l| l.contains("dropped"))
        .unwrap_or_default()
        .trim()
        .to_owned();
    Outcome {
        received: last.0,
        dropped: last.1,
        claimed: None,
        // As read off the screen every 50 ms: a lower bound of the rate.
        rate,
        published_rate,
        note: claimed_note,
    }
}
