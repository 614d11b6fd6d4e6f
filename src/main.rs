//! The flowscope binary: parse arguments, install error hooks, dispatch.

// The engine allocates per event; mimalloc makes that about a quarter faster
// (cargo bench --bench engine).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use color_eyre::Result;

use flowscope::cli::{Cli, Command};
use flowscope::error::UserError;
use flowscope::format::TimeZone;
use flowscope::host::RecordingDefaults;
use flowscope::recording::redact::Redactor;
use flowscope::tui::{NoTerminal, app::UiOptions, terminal, theme::Theme};
use flowscope::{analyze, config, demo, publish, record, session, source::connect};

fn init_logging(cli: &Cli) -> Result<Option<tracing_appender::non_blocking::WorkerGuard>> {
    let Some(path) = &cli.log_file else {
        return Ok(None);
    };
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| UserError(format!("cannot open log file {}: {e}", path.display())))?;
    let (writer, guard) = tracing_appender::non_blocking(file);
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLOWSCOPE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,flowscope=debug"));
    tracing_subscriber::fmt()
        .with_writer(writer)
        .with_ansi(false)
        .with_env_filter(filter)
        .init();
    Ok(Some(guard))
}

async fn run(cli: Cli) -> Result<u8> {
    let _log = init_logging(&cli)?;
    let (theme, notices) = Theme::load(cli.theme.as_deref());
    let ui = UiOptions {
        tz: if cli.utc {
            TimeZone::Utc
        } else {
            TimeZone::Local
        },
        theme,
        notices,
    };
    // Recordings are read with the settings their session ran with,
    // unless -c names a file.
    let recording = match &cli.command {
        Command::Replay(args) => Some(args.file.clone()),
        Command::Analyze(args) if !args.live => args.targets.first().map(PathBuf::from),
        _ => None,
    };
    let (analysis, _) = match &recording {
        Some(path) => {
            let recorded = flowscope::recording::recorded_analysis(path);
            if let (Command::Analyze(args), None) = (&cli.command, &cli.config) {
                for other in args.targets.iter().skip(1) {
                    let theirs = flowscope::recording::recorded_analysis(other.as_ref());
                    if theirs.is_some() && theirs != recorded {
                        flowscope::output::warn(&format!(
                            "{other} was recorded with other analysis settings; those of {} are used (-c FILE chooses)",
                            path.display()
                        ));
                    }
                }
            }
            config::for_recording(cli.config.as_deref(), path, recorded.as_ref())?
        }
        None => config::load(cli.config.as_deref())?,
    };
    match &cli.command {
        Command::Watch(args) => {
            let resolved = connect::resolve(&(&cli.conn).into())?;
            let view = (&args.view).into();
            let opts = session::AttachOptions {
                recording: RecordingDefaults {
                    redactor: Redactor::new(&args.redact.redact).map_err(UserError)?,
                    ..RecordingDefaults::default()
                },
                initial_recording: args.record.clone(),
                streams: args.streams.specs(),
                ..session::AttachOptions::new(
                    args.streams.core_subjects(&args.subjects),
                    &view,
                    &analysis,
                )
            };
            let live = session::attach_with(&resolved, opts).await?;
            live.run_tui(ui).await?;
        }
        Command::Demo(args) => demo::run(&cli.conn, args, ui, &analysis).await?,
        Command::Analyze(args) => return analyze::run(&cli.conn, args, &analysis).await,
        Command::Record(args) => return record::run(&cli.conn, args, &analysis).await,
        Command::Replay(args) => session::replay_tui(&args.into(), ui, &analysis).await?,
        Command::Publish(args) => return publish::run(&cli.conn, args).await,
        Command::Lag(args) => return flowscope::lag_report::run(&cli.conn, args, &analysis).await,
    }
    Ok(0)
}

fn main() -> ExitCode {
    // Errors are printed as one sentence, never with a backtrace, so do not
    // capture one for each (with RUST_BACKTRACE=1 that takes a second).
    // Panics still honour RUST_BACKTRACE.
    if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
        // SAFETY: no other thread runs yet.
        unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    }
    let cli = Cli::parse();
    let command = match &cli.command {
        Command::Replay(_) => "replay",
        Command::Demo(_) => "demo",
        _ => "watch",
    };
    if let Err(e) = terminal::install_hooks() {
        flowscope::output::say(&format!("cannot install error hooks: {e}"));
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            flowscope::output::say(&format!("cannot start the async runtime: {e}"));
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(run(cli));
    // Do not wait for tasks blocked on the network.
    runtime.shutdown_timeout(std::time::Duration::from_millis(500));
    let e = match result {
        Ok(status) => return ExitCode::from(status),
        Err(e) => e,
    };
    if e.downcast_ref::<NoTerminal>().is_some() {
        let instead = match command {
            "replay" => "; for a report of the recording use `flowscope analyze FILE`",
            "demo" => "; for the simulation alone use `flowscope demo --no-tui`",
            _ => "; headless, use `flowscope analyze --live` or `flowscope record`",
        };
        flowscope::output::say(&format!("{e}{instead}"));
        return ExitCode::FAILURE;
    }
    // Through the sanitizer: errors may quote names from the system.
    match e.downcast_ref::<UserError>() {
        Some(user) => flowscope::output::say(&user.to_string()),
        // Unexpected errors: the whole chain on one line, no backtrace dump.
        None => flowscope::output::say(&format!("{e:#}")),
    }
    ExitCode::FAILURE
}
