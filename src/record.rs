//! `flowscope record`: headless capture to a file, with a one-line progress
//! on stderr when it is a terminal. Ends after `--duration` or `--count`, or
//! on Ctrl-C, always with the file complete.

use std::io::IsTerminal;
use std::time::Duration;

use color_eyre::Result;

use crate::analysis::AnalysisConfig;
use crate::analysis::store::Retention;
use crate::cli::{ConnArgs, RecordArgs};
use crate::error::UserError;
use crate::format;
use crate::host::RecordingDefaults;
use crate::output::say;
use crate::recording::redact::Redactor;
use crate::session::{self, AttachOptions};
use crate::source::connect;

/// How often the progress line is redrawn.
const PROGRESS_EVERY: Duration = Duration::from_millis(500);

/// Runs `flowscope record`; returns the exit status.
pub async fn run(conn: &ConnArgs, args: &RecordArgs, analysis: &AnalysisConfig) -> Result<u8> {
    let resolved = connect::resolve(&conn.into())?;
    let redactor = Redactor::new(&args.redact.redact).map_err(UserError)?;
    if let Some(dir) = args.output.parent().filter(|d| !d.as_os_str().is_empty())
        && !dir.is_dir()
    {
        return Err(UserError(format!(
            "cannot record to {}: {} is not a folder",
            args.output.display(),
            dir.display()
        ))
        .into());
    }
    let subjects = args.streams.core_subjects(&args.subjects);
    let retain = Retention {
        max_events: 1,
        max_bytes: u64::MAX,
    };
    let view = args.source.session(retain, args.lag_interval);
    let opts = AttachOptions {
        stop_after: args.count,
        recording: RecordingDefaults {
            redactor,
            ..RecordingDefaults::default()
        },
        initial_recording: Some(args.output.clone()),
        streams: args.streams.specs(),
        ..AttachOptions::new(subjects.clone(), &view, analysis)
    };
    let live = session::attach_with(&resolved, opts).await?;
    say(&format!(
        "recording {} to {} (Ctrl-C stops)",
        session::describe_sources(&subjects, &args.streams.specs()),
        args.output.display()
    ));
    let tty = std::io::stderr().is_terminal();
    let mut snaps = live.host.snapshots.clone();
    let mut tick = tokio::time::interval(PROGRESS_EVERY);
    let deadline = args.duration.map(|d| tokio::time::Instant::now() + d);
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            _ = &mut ctrl_c => break,
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => break,
            _ = tick.tick() => {}
        }
        let s = snaps.borrow_and_update().status.clone();
        if args.count.is_some_and(|n| s.total_events >= n) {
            break;
        }
        if tty {
            crate::output::progress(
                &format!(
                    "{}, {}, {} ev/s, dropped {}",
                    format::plural(s.total_events, "event"),
                    format::bytes(s.total_bytes),
                    format::rate(s.events_per_sec),
                    format::count(s.dropped_client + s.dropped_queue)
                ),
                false,
            );
        }
    }
    if tty {
        crate::output::progress("", true);
    }
    let engine = live.close().await;
    let status = engine.status();
    if let Some(n) = &status.notice {
        say(n);
    }
    let dropped = status.dropped_client + status.dropped_queue;
    if dropped > 0 {
        say(&format!(
            "{} dropped before they could be recorded",
            format::counted(dropped, "message was", "messages were")
        ));
    }
    Ok(0)
}
