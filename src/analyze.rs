//! `flowscope analyze`: analyse recordings (several files as one session in
//! time order) or live traffic (`--live`, until a duration or an event count
//! is reached, or Ctrl-C), print the report, and tell CI whether a
//! `--fail-on` anomaly occurred.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::PathBuf;

use color_eyre::Result;

use crate::analysis::store::Retention;
use crate::analysis::{AnalysisConfig, Engine, EngineConfig};
use crate::cli::{AnalyzeArgs, Format};
use crate::error::{UserError, user_error};
use crate::host::file::FileFeed;
use crate::host::recorder::Recordings;
use crate::host::{Core, RecordingDefaults};
use crate::output::{say, warn};
use crate::recording::Merged;
use crate::report::{Report, Source, render_text};
use crate::session;
use crate::source::connect::{Resolved, display_servers};

/// Exit status when a `--fail-on` anomaly occurred.
pub const FAIL_STATUS: u8 = 3;

/// Headless runs keep a single event: there is nothing to browse.
const HEADLESS: Retention = Retention {
    max_events: 1,
    max_bytes: u64::MAX,
};

/// Runs `analyze`; returns the process exit status.
pub async fn run(
    conn: &crate::cli::ConnArgs,
    args: &AnalyzeArgs,
    analysis: &AnalysisConfig,
) -> Result<u8> {
    if args.live {
        if args.duration.is_none() && args.count.is_none() {
            return user_error("analyze --live needs --duration or --count to know when to stop");
        }
        let resolved = crate::source::connect::resolve(&conn.into())?;
        return run_live(&resolved, args, analysis).await;
    }
    if !args.streams.streams.is_empty() {
        return user_error("--stream reads live: add --live (and --duration or --count)");
    }
    if args.targets.is_empty() {
        return user_error("give the recordings to analyze (or --live with subjects)");
    }
    if args.duration.is_some() {
        return user_error(
            "--duration goes with --live; for recordings, --count limits the events",
        );
    }
    let paths: Vec<PathBuf> = args.targets.iter().map(PathBuf::from).collect();
    run_files(&paths, args, analysis)
}

/// Files smaller than this are analysed without a progress bar.
const PROGRESS_MIN_BYTES: u64 = 10 * 1024 * 1024;

/// Analyses recordings.
pub fn run_files(paths: &[PathBuf], args: &AnalyzeArgs, analysis: &AnalysisConfig) -> Result<u8> {
    let merged = Merged::open(paths).map_err(UserError)?;
    let engine = Engine::new(EngineConfig {
        retention: HEADLESS,
        analysis: analysis.clone(),
        stop_after: args.count,
        initial_link: crate::analysis::snapshot::LinkState::Offline,
        ..EngineConfig::default()
    });
    let (_, total) = merged.progress();
    let progress = (std::io::stderr().is_terminal() && total > PROGRESS_MIN_BYTES).then(|| {
        let bar = indicatif::ProgressBar::new(total);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {msg} [{elapsed} left {eta}]",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let first = merged
        .readers()
        .first()
        .map(|r| r.source())
        .unwrap_or_default();
    let core = Core::new(engine, Recordings::new(RecordingDefaults::default(), None));
    let mut feed = FileFeed::new(merged, progress);
    let engine = crate::host::run_to_end(core, &mut feed);
    let merged = feed.merged();
    for w in merged.warnings() {
        warn(&w);
    }
    let report = Report::build(
        &engine,
        Source {
            kind: "recording".into(),
            server: first.server,
            subjects: first.subjects,
            streams: first.stream,
            files: paths.iter().map(|p| p.display().to_string()).collect(),
        },
    );
    finish(&report, args)
}

/// Runs `analyze --live`; returns the process exit status.
pub async fn run_live(
    resolved: &Resolved,
    args: &AnalyzeArgs,
    analysis: &AnalysisConfig,
) -> Result<u8> {
    let subjects = args.streams.core_subjects(&args.targets);
    let streams = args.streams.specs();
    let view = args.source.session(HEADLESS, std::time::Duration::ZERO);
    let opts = session::AttachOptions {
        stop_after: args.count,
        streams: streams.clone(),
        ..session::AttachOptions::new(subjects.clone(), &view, analysis)
    };
    let live = session::attach_with(resolved, opts).await?;
    let until = match (args.duration, args.count) {
        (Some(d), Some(n)) => format!(
            "for {} or {}",
            humantime::format_duration(d),
            crate::format::plural(n, "event")
        ),
        (Some(d), None) => format!("for {}", humantime::format_duration(d)),
        (None, Some(n)) => format!("until {}", crate::format::plural(n, "event")),
        (None, None) => "until Ctrl-C".into(),
    };
    let server = display_servers(&resolved.servers);
    say(&format!(
        "analysing {} on {server} {until} (Ctrl-C ends early)",
        session::describe_sources(&subjects, &streams)
    ));
    let mut snaps = live.host.snapshots.clone();
    let count = args.count;
    let reached = async move {
        loop {
            if count.is_some_and(|n| snaps.borrow_and_update().status.total_events >= n) {
                return;
            }
            if snaps.changed().await.is_err() {
                return;
            }
        }
    };
    let timer = async {
        match args.duration {
            Some(d) => tokio::time::sleep(d).await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = reached => {}
        _ = timer => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    let engine = live.close().await;
    let report = Report::build(
        &engine,
        Source {
            kind: "live".into(),
            server: Some(server),
            subjects,
            streams: (!streams.is_empty()).then(|| session::describe_streams(&streams)),
            files: Vec::new(),
        },
    );
    finish(&report, args)
}

/// Prints the report and decides the exit status.
fn finish(report: &Report, args: &AnalyzeArgs) -> Result<u8> {
    let text = match args.format {
        Format::Json => crate::sanitize::json(serde_json::to_string_pretty(report)?) + "\n",
        Format::Text => render_text(report),
    };
    crate::output::print(&text)?;
    let fail_on: BTreeSet<_> = args.fail_on.iter().copied().collect();
    let failures = report.failures(&fail_on);
    if failures.is_empty() {
        return Ok(0);
    }
    let what: Vec<String> = failures
        .iter()
        .map(|k| format!("{} ({})", k.name(), report.occurrences(*k)))
        .collect();
    say(&format!("failing: {} occurred", what.join(", ")));
    Ok(FAIL_STATUS)
}
