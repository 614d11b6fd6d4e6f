//! Owns the terminal: raw mode and the alternate screen on the way in, and a
//! guaranteed restore on the way out, on error and on panic.

use color_eyre::Result;
use ratatui::DefaultTerminal;

/// Installs color-eyre's report hooks. Call once, before the terminal is
/// taken over, so the panic hook chain restores the terminal first.
pub fn install_hooks() -> Result<()> {
    color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .install()
}

/// The terminal in TUI mode; restored when dropped.
pub struct TerminalGuard {
    terminal: Option<DefaultTerminal>,
}

impl TerminalGuard {
    /// Enters raw mode and the alternate screen. `ratatui::try_init` also
    /// chains a panic hook that restores the terminal before reporting.
    pub fn enter() -> Result<Self> {
        let terminal = ratatui::try_init()?;
        Ok(TerminalGuard {
            terminal: Some(terminal),
        })
    }

    pub fn terminal(&mut self) -> &mut DefaultTerminal {
        self.terminal.as_mut().expect("present until drop")
    }
}

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        // Nothing here may print: after a hangup the terminal is gone, and
        // printing to it would panic inside a destructor and skip cleanup.
        let _ = ratatui::try_restore();
        if let Some(mut t) = self.terminal.take()
            && t.show_cursor().is_err()
        {
            // The terminal's own drop would print the error: skip it.
            std::mem::forget(t);
        }
    }
}
