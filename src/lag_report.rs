//! `flowscope lag`: the consumer lag table headless, one window sampled
//! (`--once`, the default) or refreshed after every poll (`--watch`), as
//! text or JSON, with `--fail-on` for CI and cron health checks.

use std::io::{IsTerminal, Write};

use color_eyre::Result;
use serde::Serialize;

use crate::analysis::AnalysisConfig;
use crate::analysis::lag::{ConsumerLag, Health, LagBook, LagView};
use crate::analyze::FAIL_STATUS;
use crate::cli::{ConnArgs, FailHealth, Format, LagArgs};
use crate::error::user_error;
use crate::format;
use crate::output::say;
use crate::source::connect::{self, Tuning};
use crate::source::lag::LagPoller;
use crate::source::live::now_ns;
use crate::source::stream::require_jetstream;

/// Version of the JSON output.
pub const LAG_JSON_VERSION: u32 = 1;

fn rfc3339(ns: i64) -> Option<String> {
    (ns > 0).then(|| {
        chrono::DateTime::from_timestamp_nanos(ns)
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    })
}

fn age_secs(now: i64, then: Option<i64>) -> Option<f64> {
    then.filter(|t| *t > 0)
        .map(|t| ((now - t).max(0) as f64 / 1e6).round() / 1e3)
}

#[derive(Debug, Serialize)]
pub struct LagReport {
    pub flowscope_lag: u32,
    pub server: String,
    pub polled_at: Option<String>,
    pub samples: u64,
    pub interval_ms: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub streams: Vec<StreamJson>,
    pub consumers: Vec<ConsumerJson>,
}

#[derive(Debug, Serialize)]
pub struct StreamJson {
    pub name: String,
    pub retention: String,
    pub messages: u64,
    pub bytes: u64,
    pub first_seq: u64,
    pub first_time: Option<String>,
    pub last_seq: u64,
    pub last_time: Option<String>,
    pub subjects: u64,
    pub consumers: u64,
    pub worst: Health,
}

#[derive(Debug, Serialize)]
pub struct ConsumerJson {
    pub stream: String,
    pub name: String,
    pub durable: bool,
    pub pull: bool,
    pub filter: String,
    pub ack_policy: String,
    pub lag: u64,
    pub unprocessed: u64,
    pub outstanding: u64,
    pub redelivered: u64,
    pub waiting: u64,
    pub delivered_seq: u64,
    pub delivered_age_secs: Option<f64>,
    pub ack_floor_seq: u64,
    pub ack_floor_age_secs: Option<f64>,
    pub oldest_unacked_age_secs: Option<f64>,
    pub rate_per_sec: Option<f64>,
    pub catch_up_secs: Option<f64>,
    pub status: Health,
    pub reason: &'static str,
    pub window: usize,
    pub allowed_lag: u64,
    pub flowscope: bool,
}

fn consumer_json(c: &ConsumerLag) -> ConsumerJson {
    let s = &c.state;
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    ConsumerJson {
        stream: s.stream.clone(),
        name: s.name.clone(),
        durable: s.durable,
        pull: s.pull,
        filter: s.filter.clone(),
        ack_policy: s.ack_policy.clone(),
        lag: s.lag(),
        unprocessed: s.unprocessed,
        outstanding: s.outstanding,
        redelivered: s.redelivered,
        waiting: s.waiting,
        delivered_seq: s.delivered_seq,
        delivered_age_secs: age_secs(c.t, s.delivered_ns),
        ack_floor_seq: s.ack_floor_seq,
        ack_floor_age_secs: age_secs(c.t, s.ack_floor_ns),
        oldest_unacked_age_secs: age_secs(c.t, s.oldest_unacked_ns),
        rate_per_sec: c.rate.map(round),
        catch_up_secs: c.catch_up_secs.map(round),
        status: c.health,
        reason: c.reason,
        window: c.rules.window,
        allowed_lag: c.rules.allowed_lag,
        flowscope: s.flowscope,
    }
}

impl LagReport {
    pub fn build(view: &LagView, server: &str, interval_ms: u64, include_flowscope: bool) -> Self {
        let consumers = view
            .consumers()
            .filter(|c| include_flowscope || !c.state.flowscope)
            .map(consumer_json)
            .collect();
        LagReport {
            flowscope_lag: LAG_JSON_VERSION,
            server: server.to_owned(),
            polled_at: rfc3339(view.polled_ns),
            samples: view.polls,
            interval_ms,
            error: view.error.clone(),
            streams: view
                .streams
                .iter()
                .map(|s| StreamJson {
                    name: s.state.name.clone(),
                    retention: s.state.retention.clone(),
                    messages: s.state.messages,
                    bytes: s.state.bytes,
                    first_seq: s.state.first_seq,
                    first_time: rfc3339(s.state.first_ns),
                    last_seq: s.state.last_seq,
                    last_time: rfc3339(s.state.last_ns),
                    subjects: s.state.subjects,
                    consumers: s.state.consumers,
                    worst: s.worst(),
                })
                .collect(),
            consumers,
        }
    }

    /// True when a consumer is at or beyond `level`.
    pub fn fails(&self, level: FailHealth) -> bool {
        let min = match level {
            FailHealth::Warn => Health::Warn,
            FailHealth::Stall => Health::Stall,
            FailHealth::Stop => Health::Stop,
        }
        .severity();
        self.consumers
            .iter()
            .any(|c| !c.flowscope && c.status.severity() >= min)
    }

    /// The table for a terminal or a log. Names from the server are
    /// escaped and the columns are laid out by display width.
    pub fn text(&self) -> String {
        use crate::sanitize::escape as esc;
        let mut out = String::new();
        let when = self.polled_at.as_deref().unwrap_or("never");
        out.push_str(&format!(
            "flowscope lag: {} · {} {} apart · last poll {when}\n",
            esc(&self.server),
            format::plural(self.samples, "sample"),
            format::duration_ms(self.interval_ms)
        ));
        if let Some(e) = &self.error {
            out.push_str(&format!("warning: {}\n", esc(e)));
        }
        if self.streams.is_empty() {
            out.push_str("no streams\n");
        }
        let header = [
            "STATUS", "CONSUMER", "KIND", "LAG", "UNPROC", "OUTST", "REDEL", "WAIT", "RATE/S",
            "CATCH-UP", "OLDEST", "WHY",
        ];
        for s in &self.streams {
            out.push_str(&format!(
                "\n{} ({}, {}, {}, seq {}–{}, {})\n",
                esc(&s.name),
                esc(&s.retention),
                format::counted(s.messages, "msg", "msgs"),
                format::bytes(s.bytes),
                format::count(s.first_seq),
                format::count(s.last_seq),
                format::plural(s.subjects, "subject")
            ));
            let rows: Vec<[String; 12]> = self
                .consumers
                .iter()
                .filter(|c| c.stream == s.name)
                .map(|c| {
                    [
                        c.status.label().to_owned(),
                        esc(&c.name).into_owned(),
                        format!(
                            "{} {}",
                            if c.durable { "durable" } else { "ephemeral" },
                            if c.pull { "pull" } else { "push" }
                        ),
                        format::count(c.lag),
                        format::count(c.unprocessed),
                        format::count(c.outstanding),
                        format::count(c.redelivered),
                        format::count(c.waiting),
                        c.rate_per_sec.map_or("-".into(), format::signed_rate),
                        format::catch_up(c.catch_up_secs),
                        c.oldest_unacked_age_secs
                            .map_or("-".into(), |s| format::duration((s * 1e9) as i64)),
                        c.reason.to_owned(),
                    ]
                })
                .collect();
            if rows.is_empty() {
                out.push_str("  no consumers\n");
                continue;
            }
            let mut widths = header.map(str::len);
            for r in &rows {
                for (w, cell) in widths.iter_mut().zip(r) {
                    *w = (*w).max(crate::sanitize::width(cell));
                }
            }
            let line = |cells: &[String]| {
                let mut l = String::from(" ");
                for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                    l.push(' ');
                    if i + 1 == cells.len() {
                        l.push_str(cell);
                    } else if (3..=10).contains(&i) {
                        l.push_str(&format::pad_left(cell, w));
                    } else {
                        l.push_str(&format::pad(cell, w));
                    }
                }
                l.push('\n');
                l
            };
            out.push_str(&line(&header.map(String::from)));
            for r in &rows {
                out.push_str(&line(r));
            }
        }
        out
    }
}

/// Runs `flowscope lag`; returns the exit status.
pub async fn run(conn: &ConnArgs, args: &LagArgs, analysis: &AnalysisConfig) -> Result<u8> {
    let resolved = connect::resolve(&conn.into())?;
    let c = connect::connect(
        &resolved,
        &Tuning {
            name: "flowscope-lag".into(),
            subscription_capacity: None,
        },
    )
    .await?;
    require_jetstream(&c.client, &c.display)?;
    if args.lag_interval.is_zero() {
        return user_error("--lag-interval 0 would never poll; give an interval such as 2s");
    }
    let mut poller = LagPoller::new(c.client.clone());
    let mut book = LagBook::new(analysis.lag.clone());
    let window = analysis.lag.rules.window.max(2);
    let interval_ms = args.lag_interval.as_millis() as u64;
    let tty = std::io::stdout().is_terminal();
    if !args.watch {
        say(&format!(
            "sampling {} {} apart to judge each consumer",
            format::plural(window as u64, "poll"),
            humantime::format_duration(args.lag_interval)
        ));
    }
    let mut tick = tokio::time::interval(args.lag_interval);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    let mut polls = 0usize;
    let mut interrupted = false;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = &mut ctrl_c => { interrupted = true; break; }
        }
        let mut poll = poller.poll().await;
        if !args.streams.is_empty() {
            poll.streams.retain(|s| args.streams.contains(&s.name));
            poll.consumers.retain(|c| args.streams.contains(&c.stream));
        }
        book.poll(now_ns(), &poll);
        polls += 1;
        if args.watch {
            let report = LagReport::build(
                &book.view(),
                &c.display,
                interval_ms,
                args.include_flowscope,
            );
            print(&report, args.format, tty)?;
        } else if polls >= window {
            break;
        }
    }
    if !args.streams.is_empty() {
        let view = book.view();
        for name in &args.streams {
            if !view.streams.iter().any(|s| &s.state.name == name) {
                return user_error(format!("no stream named {name}"));
            }
        }
    }
    let report = LagReport::build(
        &book.view(),
        &c.display,
        interval_ms,
        args.include_flowscope,
    );
    if !args.watch || interrupted && polls == 0 {
        print(&report, args.format, false)?;
    }
    Ok(match args.fail_on {
        Some(level) if report.fails(level) => FAIL_STATUS,
        _ => 0,
    })
}

fn print(report: &LagReport, format: Format, clear: bool) -> Result<()> {
    if clear {
        // Redraw in place, like watch(1): flowscope's own sequence, written
        // only to a terminal and never with anything from the server.
        let mut out = std::io::stdout().lock();
        write!(out, "\x1b[H\x1b[2J")?;
        out.flush()?;
    }
    let text = match format {
        Format::Json => crate::sanitize::json(serde_json::to_string_pretty(report)?) + "\n",
        Format::Text => report.text(),
    };
    crate::output::print(&text)?;
    Ok(())
}
