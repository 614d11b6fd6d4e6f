//! Command-line interface (clap derive). Every flag here is documented in the
//! README; `flowscope help <command>` prints the same text.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::analysis::store::Retention;

#[derive(Debug, Parser)]
#[command(
    name = "flowscope",
    version,
    about = "Watch event flows on NATS: live streams, anomalies, lag and sagas",
    propagate_version = true
)]
pub struct Cli {
    #[command(flatten)]
    pub conn: ConnArgs,

    /// Analysis config file [default: ./flowscope.toml, then ~/.config/flowscope/flowscope.toml]
    #[arg(
        short = 'c',
        long,
        global = true,
        value_name = "FILE",
        help_heading = "General (every command)"
    )]
    pub config: Option<PathBuf>,

    /// Write a debug log to FILE (off by default; never to the terminal).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        help_heading = "General (every command)"
    )]
    pub log_file: Option<PathBuf>,

    /// Colour theme: default, mono, or a theme file (see themes/).
    #[arg(
        long,
        global = true,
        value_name = "NAME|FILE",
        help_heading = "General (every command)"
    )]
    pub theme: Option<String>,

    /// Show times in UTC instead of local time.
    #[arg(long, global = true, help_heading = "General (every command)")]
    pub utc: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// How to reach and authenticate to NATS (global to every command). The
/// environment variables are natscli's.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Connection (every command)")]
pub struct ConnArgs {
    /// NATS server URL(s), comma separated [env: NATS_URL] [default: nats://127.0.0.1:4222]
    #[arg(
        short = 's',
        long = "server",
        global = true,
        value_name = "URL[,URL...]",
        value_delimiter = ',',
        env = "NATS_URL",
        hide_env = true
    )]
    pub servers: Vec<String>,
    /// Credentials file (JWT + NKey seed), as made by nsc [env: NATS_CREDS]
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "NATS_CREDS",
        hide_env = true
    )]
    pub creds: Option<PathBuf>,
    /// File holding an NKey seed [env: NATS_NKEY]
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "NATS_NKEY",
        hide_env = true
    )]
    pub nkey: Option<PathBuf>,
    /// Authentication token [env: NATS_TOKEN]
    #[arg(
        long,
        global = true,
        value_name = "TOKEN",
        env = "NATS_TOKEN",
        hide_env = true
    )]
    pub token: Option<String>,
    /// User name, with --password [env: NATS_USER]
    #[arg(
        long,
        global = true,
        value_name = "USER",
        env = "NATS_USER",
        hide_env = true
    )]
    pub user: Option<String>,
    /// Password, with --user [env: NATS_PASSWORD]
    #[arg(
        long,
        global = true,
        value_name = "PASSWORD",
        env = "NATS_PASSWORD",
        hide_env = true
    )]
    pub password: Option<String>,
    /// CA certificate (PEM) to verify the server [env: NATS_CA]
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "NATS_CA",
        hide_env = true
    )]
    pub tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS [env: NATS_CERT]
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "NATS_CERT",
        hide_env = true
    )]
    pub tls_cert: Option<PathBuf>,
    /// Client key (PEM) for mutual TLS [env: NATS_KEY]
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "NATS_KEY",
        hide_env = true
    )]
    pub tls_key: Option<PathBuf>,
    /// natscli context (~/.config/nats/context/NAME.json) [env: NATS_CONTEXT]
    #[arg(
        long,
        global = true,
        value_name = "NAME",
        env = "NATS_CONTEXT",
        hide_env = true
    )]
    pub context: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Subscribe to subjects and watch events live in the terminal.
    Watch(WatchArgs),
    /// Start a local nats-server and a simulated order system, and watch it.
    Demo(DemoArgs),
    /// Analyse recordings (or live events) headless and print a report (exit 3 with --fail-on).
    Analyze(AnalyzeArgs),
    /// Record events to a file, headless.
    Record(RecordArgs),
    /// Open a recording in the TUI and play it back.
    Replay(ReplayArgs),
    /// Publish a recording's events into NATS again.
    Publish(PublishArgs),
    /// JetStream consumer lag and health, headless (exit 3 with --fail-on).
    Lag(LagArgs),
}

/// A consumer status `--fail-on` can name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FailHealth {
    Warn,
    Stall,
    Stop,
}

#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("mode").args(["once", "watch"]))]
pub struct LagArgs {
    /// Sample one window, print the table and exit (the default).
    #[arg(long)]
    pub once: bool,
    /// Print the table after every poll until Ctrl-C.
    #[arg(long)]
    pub watch: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit with status 3 when a consumer is at or beyond this status
    /// (warn < stall < stop < rewind).
    #[arg(long, value_name = "STATUS", value_enum)]
    pub fail_on: Option<FailHealth>,
    /// Time between polls.
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_interval)]
    pub lag_interval: Duration,
    /// Only these streams (repeat or separate with commas).
    #[arg(long = "stream", value_name = "NAME", value_delimiter = ',')]
    pub streams: Vec<String>,
    /// Also list flowscope's own stream readers.
    #[arg(long)]
    pub include_flowscope: bool,
}

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct AnalyzeArgs {
    /// Analyse live traffic: the arguments are subjects (default >), and
    /// --duration or --count ends the run.
    #[arg(long)]
    pub live: bool,
    /// Recordings to analyse as one session in time order; with --live,
    /// subjects to subscribe to.
    #[arg(value_name = "FILE|SUBJECT")]
    pub targets: Vec<String>,
    /// Stop after this long (e.g. 30s, 5m); with --live.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Exit with status 3 when any of these occurred (comma separated).
    #[arg(long, value_name = "KINDS", value_enum, value_delimiter = ',')]
    pub fail_on: Vec<crate::report::FailKind>,
    #[command(flatten)]
    pub streams: StreamArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// JetStream streams to read besides (or instead of) core subjects.
#[derive(Debug, Clone, Default, Args)]
pub struct StreamArgs {
    /// Read this JetStream stream (repeat for several); without SUBJECTs
    /// only the streams are read.
    #[arg(long = "stream", value_name = "NAME")]
    pub streams: Vec<String>,
    /// Where stream readers start: all, new, last, last-per-subject, seq=N,
    /// time=RFC3339 or ago=DURATION.
    #[arg(long, value_name = "SPEC", default_value = "new", requires = "streams")]
    pub from: crate::source::start::StartSpec,
    /// Read only the stream's messages on subjects matching this.
    #[arg(long, value_name = "SUBJECT", requires = "streams")]
    pub filter: Option<String>,
}

impl StreamArgs {
    /// One reader spec per `--stream`.
    pub fn specs(&self) -> Vec<crate::source::stream::StreamSpec> {
        self.streams
            .iter()
            .map(|s| crate::source::stream::StreamSpec {
                stream: s.clone(),
                from: self.from,
                filter: self.filter.clone(),
            })
            .collect()
    }

    /// The core subjects to subscribe to: those given, else `>` unless
    /// streams are read.
    pub fn core_subjects(&self, given: &[String]) -> Vec<String> {
        if given.is_empty() && self.streams.is_empty() {
            vec![">".to_owned()]
        } else {
            given.to_vec()
        }
    }
}

/// Largest `--queue-capacity`: the queue reserves its slots up front.
pub const MAX_QUEUE_CAPACITY: u64 = 2_000_000;
/// Largest `--subscription-capacity`.
pub const MAX_SUBSCRIPTION_CAPACITY: u64 = 10_000_000;

/// Options of the live sources.
#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// Also show _INBOX.>, $JS.> and $SYS.> traffic (flowscope's own included) and
    /// JetStream deliveries to other consumers.
    #[arg(long)]
    pub include_internal: bool,
    /// Capacity of flowscope's ingest queue, in events.
    #[arg(
        long,
        value_name = "N",
        default_value_t = crate::host::live::DEFAULT_QUEUE_CAPACITY,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_QUEUE_CAPACITY)
    )]
    pub queue_capacity: usize,
    /// Messages the NATS client buffers per subscription before it drops.
    #[arg(
        long,
        value_name = "N",
        default_value_t = crate::source::live::SUBSCRIPTION_CAPACITY,
        value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..=MAX_SUBSCRIPTION_CAPACITY)
    )]
    pub subscription_capacity: usize,
}

impl Default for SourceArgs {
    fn default() -> Self {
        SourceArgs {
            include_internal: false,
            queue_capacity: crate::host::live::DEFAULT_QUEUE_CAPACITY,
            subscription_capacity: crate::source::live::SUBSCRIPTION_CAPACITY,
        }
    }
}

/// Options of the live views.
#[derive(Debug, Clone, Default, Args)]
pub struct ViewArgs {
    #[command(flatten)]
    pub source: SourceArgs,
    /// History kept for browsing: events (500k), bytes (256MiB) or both (500k,256MiB).
    #[arg(long, value_name = "LIMIT", value_parser = parse_retention, default_value = "1000000,512MiB")]
    pub retain: Retention,
    /// How often JetStream consumer lag is polled (0 turns the poller off).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_interval)]
    pub lag_interval: Duration,
    /// The server's HTTP monitoring address (http://host:8222): who consumes
    /// what is read from its /connz instead of asking over NATS.
    #[arg(long, value_name = "URL")]
    pub monitor: Option<String>,
}

impl SourceArgs {
    /// A session's settings with these source options.
    pub fn session(
        &self,
        retain: Retention,
        lag_interval: Duration,
    ) -> crate::session::SessionSettings {
        crate::session::SessionSettings {
            include_internal: self.include_internal,
            queue_capacity: self.queue_capacity,
            subscription_capacity: self.subscription_capacity,
            retain,
            lag_interval,
            monitor: None,
        }
    }
}

impl From<&ViewArgs> for crate::session::SessionSettings {
    fn from(v: &ViewArgs) -> Self {
        crate::session::SessionSettings {
            monitor: v.monitor.clone(),
            ..v.source.session(v.retain, v.lag_interval)
        }
    }
}

impl From<&ReplayArgs> for crate::session::ReplaySettings {
    fn from(a: &ReplayArgs) -> Self {
        crate::session::ReplaySettings {
            file: a.file.clone(),
            speed: a.speed,
            paused: a.paused,
            start: a.start,
            retain: a.retain,
        }
    }
}

impl From<&ConnArgs> for crate::source::connect::ConnSettings {
    fn from(c: &ConnArgs) -> Self {
        crate::source::connect::ConnSettings {
            servers: c.servers.clone(),
            creds: c.creds.clone(),
            nkey: c.nkey.clone(),
            token: c.token.clone(),
            user: c.user.clone(),
            password: c.password.clone(),
            tls_ca: c.tls_ca.clone(),
            tls_cert: c.tls_cert.clone(),
            tls_key: c.tls_key.clone(),
            context: c.context.clone(),
        }
    }
}

/// Parses an interval such as `2s` or `500ms`; `0` means off.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    let d = parse_duration(s)?;
    if !d.is_zero() && d < Duration::from_millis(100) {
        return Err(format!("'{s}' is too often; poll at most every 100ms"));
    }
    Ok(d)
}

#[derive(Debug, Clone, Args)]
pub struct WatchArgs {
    /// Subjects to subscribe to; NATS wildcards allowed [default: > unless --stream is given].
    #[arg(value_name = "SUBJECT")]
    pub subjects: Vec<String>,
    #[command(flatten)]
    pub streams: StreamArgs,
    /// Record from the start to FILE (`.jsonl`, or `.jsonl.zst` compressed).
    #[arg(long, value_name = "FILE")]
    pub record: Option<PathBuf>,
    #[command(flatten)]
    pub redact: RedactArgs,
    #[command(flatten)]
    pub view: ViewArgs,
}

/// What recordings leave out.
#[derive(Debug, Clone, Default, Args)]
pub struct RedactArgs {
    /// Replace these values before writing: JSON Pointers (/card/number) or
    /// header:NAME; repeat or separate with commas.
    #[arg(long, value_name = "SPEC", value_delimiter = ',')]
    pub redact: Vec<String>,
}

#[derive(Debug, Clone, Args)]
pub struct RecordArgs {
    /// The file to write (`.jsonl`, or `.jsonl.zst` compressed); never overwritten.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: PathBuf,
    /// Subjects to subscribe to; NATS wildcards allowed [default: > unless --stream is given].
    #[arg(value_name = "SUBJECT")]
    pub subjects: Vec<String>,
    #[command(flatten)]
    pub streams: StreamArgs,
    /// Stop after this long (e.g. 30s, 5m); default: until Ctrl-C. With
    /// --count, whichever comes first.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many events. With --duration, whichever comes first.
    #[arg(long, value_name = "N")]
    pub count: Option<u64>,
    /// How often JetStream consumer lag is polled into the recording (0: never).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_interval)]
    pub lag_interval: Duration,
    #[command(flatten)]
    pub redact: RedactArgs,
    #[command(flatten)]
    pub source: SourceArgs,
}

/// Parses a replay speed: a factor (`0.5`, `10`) or `max`.
pub fn parse_speed(s: &str) -> Result<f64, String> {
    if matches!(s, "max" | "inf" | "fastest") {
        return Ok(f64::INFINITY);
    }
    let v: f64 = s
        .trim_end_matches('x')
        .parse()
        .map_err(|_| format!("'{s}' is not a speed; try 0.5, 2, 10 or max"))?;
    if (0.1..=100.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("'{s}': the speed goes from 0.1 to 100, or max"))
    }
}

#[derive(Debug, Clone, Args)]
pub struct ReplayArgs {
    /// The recording (or a `nats sub --dump` capture) to play.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Speed factor (0.1 to 100) or max.
    #[arg(long, value_name = "X", default_value = "1", value_parser = parse_speed)]
    pub speed: f64,
    /// Open paused.
    #[arg(long)]
    pub paused: bool,
    /// Start this far into the recording (e.g. 90s, 5m).
    #[arg(long, value_name = "OFFSET", value_parser = parse_duration)]
    pub start: Option<Duration>,
    /// History kept for browsing: events (500k), bytes (256MiB) or both (500k,256MiB).
    #[arg(long, value_name = "LIMIT", value_parser = parse_retention, default_value = "1000000,512MiB")]
    pub retain: Retention,
}

#[derive(Debug, Clone, Args)]
#[command(group = clap::ArgGroup::new("pace").args(["speed", "rate", "max"]))]
pub struct PublishArgs {
    /// The recording (or `nats sub --dump` capture) to publish.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Keep the recorded timing, scaled by this factor [default: 1].
    #[arg(long, value_name = "X", value_parser = parse_speed)]
    pub speed: Option<f64>,
    /// A fixed rate instead, in events per second.
    #[arg(long, value_name = "N")]
    pub rate: Option<f64>,
    /// As fast as possible.
    #[arg(long)]
    pub max: bool,
    /// Put this before every subject (`replay` makes `orders.created` into `replay.orders.created`).
    #[arg(long, value_name = "P")]
    pub prefix: Option<String>,
    /// Only events whose subject matches this pattern.
    #[arg(long, value_name = "PATTERN")]
    pub subject: Option<String>,
    /// From this offset into the recording (30s) or this time (RFC 3339).
    #[arg(long, value_name = "T")]
    pub from: Option<String>,
    /// Up to this offset or time.
    #[arg(long, value_name = "T")]
    pub to: Option<String>,
    /// Print what would be sent, send nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Run only the simulation against --server, without the TUI.
    #[arg(long, conflicts_with = "in_process")]
    pub no_tui: bool,
    /// Feed the simulation to flowscope directly, without NATS (what the demo
    /// does by itself when no nats-server is installed).
    #[arg(long)]
    pub in_process: bool,
    /// Events per second the simulation publishes.
    #[arg(long, value_name = "N", default_value_t = 50.0)]
    pub rate: f64,
    /// Stop after this long (e.g. 30s, 5m); default: until quit.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Seed of the simulation's random choices (same seed, same flow).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Share of events published twice (a duplicate).
    #[arg(long, value_name = "P", default_value_t = 0.03)]
    pub dup_rate: f64,
    /// Share of events delivered after the next event of the same order.
    #[arg(long, value_name = "P", default_value_t = 0.02)]
    pub ooo_rate: f64,
    /// Share of events after which a sequence number is skipped.
    #[arg(long, value_name = "P", default_value_t = 0.01)]
    pub gap_rate: f64,
    /// Share of orders whose payment fails (then compensated).
    #[arg(long, value_name = "P", default_value_t = 0.15)]
    pub fail_rate: f64,
    /// Share of orders that stop mid-way (stuck sagas).
    #[arg(long, value_name = "P", default_value_t = 0.05)]
    pub stuck_rate: f64,
    /// After N orders, OrderShipped and PaymentProcessed change shape (schema drift); 0: never.
    #[arg(long, value_name = "N", default_value_t = crate::sim::DEFAULT_DRIFT_AFTER)]
    pub drift_after: u64,
    #[command(flatten)]
    pub view: ViewArgs,
}

/// Parses a duration such as `30s`, `5m` or `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    crate::format::parse_duration(s)
}

/// Parses `--retain`: an event count (`500000`, `500k`, `2m`), a size
/// (`256MiB`, `1GB`), or both separated by a comma.
pub fn parse_retention(s: &str) -> Result<Retention, String> {
    let mut r = Retention {
        max_events: usize::MAX,
        max_bytes: u64::MAX,
    };
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        if let Some(n) = parse_count(part) {
            r.max_events = n.max(1);
        } else {
            let b: bytesize::ByteSize = part.parse().map_err(|_| {
                format!("'{part}' is neither an event count (500000, 500k) nor a size (256MiB)")
            })?;
            r.max_bytes = b.as_u64().max(1);
        }
    }
    if r.max_events == usize::MAX && r.max_bytes == u64::MAX {
        return Err("give an event count, a size, or both (500k,256MiB)".into());
    }
    Ok(r)
}

fn parse_count(s: &str) -> Option<usize> {
    let lower = s.to_ascii_lowercase();
    let (digits, mult) = match lower.as_bytes().last()? {
        b'k' => (&lower[..lower.len() - 1], 1_000),
        b'm' => (&lower[..lower.len() - 1], 1_000_000),
        _ => (&lower[..], 1),
    };
    let digits = digits.replace('_', "");
    digits
        .parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn retention_forms() {
        let r = parse_retention("500k").unwrap();
        assert_eq!(r.max_events, 500_000);
        assert_eq!(r.max_bytes, u64::MAX);
        let r = parse_retention("256MiB").unwrap();
        assert_eq!(r.max_bytes, 256 * 1024 * 1024);
        assert_eq!(r.max_events, usize::MAX);
        let r = parse_retention("2m,1GB").unwrap();
        assert_eq!(r.max_events, 2_000_000);
        assert_eq!(r.max_bytes, 1_000_000_000);
        assert!(parse_retention("lots").is_err());
        assert!(
            parse_retention("99999999999999999999m").is_err(),
            "overflow is not a count"
        );
        assert!(parse_retention("").is_err());
    }
}
