//! The terminal UI: an event loop that draws snapshots and turns keys into
//! actions. All state lives in [`app::App`]; drawing in [`views`].

pub mod action;
pub mod app;
pub mod keymap;
pub mod terminal;
pub mod theme;
pub mod views;

use std::sync::Arc;

use color_eyre::Result;
use crossbeam_channel::Sender;
use crossterm::event::{Event, EventStream, KeyEventKind};
use futures::StreamExt;
use tokio::sync::watch;

use crate::analysis::Snapshot;
use crate::host::Request;
use app::App;

/// The views were asked for without a terminal to draw them on; the
/// command says what to use instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoTerminal;

impl std::fmt::Display for NoTerminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(
            "the views need an interactive terminal (stdin and stdout are not one); run flowscope in a terminal",
        )
    }
}

impl std::error::Error for NoTerminal {}

/// Runs the UI until the user quits, the terminal closes or SIGTERM arrives.
pub async fn run(
    mut app: App,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    control: Sender<Request>,
) -> Result<()> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(NoTerminal.into());
    }
    let mut guard = terminal::TerminalGuard::enter()?;
    let mut events = EventStream::new();
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut dirty = true;
    let mut engine_alive = true;
    loop {
        if dirty {
            guard.terminal().draw(|f| views::render(&mut app, f))?;
            dirty = false;
        }
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(key))) if key.kind != KeyEventKind::Release => {
                    app.on_key(key);
                    dirty = true;
                }
                Some(Ok(Event::Resize(..))) => dirty = true,
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
                None => break,
            },
            changed = snapshots.changed(), if engine_alive => {
                if changed.is_ok() {
                    app.on_snapshot(snapshots.borrow_and_update().clone());
                    dirty = true;
                } else {
                    engine_alive = false;
                }
            }
            _ = term.recv() => break,
            _ = hangup.recv() => break,
        }
        for c in app.take_outbox() {
            let _ = control.send(c);
        }
        if app.quit {
            break;
        }
    }
    Ok(())
}
