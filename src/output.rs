//! What the headless commands write to the terminal: one-line messages on
//! stderr (`flowscope: …`), reports on stdout, and a redrawn progress line.
//! Everything passes through [`sanitize::for_terminal`], so even a value a
//! caller forgot to escape cannot reach the terminal raw; colour is never
//! used here, so text output is the same on a terminal, in a pipe and in a
//! CI log.

use std::io::Write;

use crate::sanitize;

/// `flowscope: MSG` on stderr; a closed terminal is ignored.
pub fn say(msg: &str) {
    let _ = writeln!(
        std::io::stderr().lock(),
        "flowscope: {}",
        sanitize::for_terminal(msg)
    );
}

/// `flowscope: warning: MSG` on stderr.
pub fn warn(msg: &str) {
    say(&format!("warning: {msg}"));
}

/// Writes `text` to stdout (a report, a table).
pub fn print(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    sanitize::write_safe(&mut out, text)?;
    out.flush()
}

/// Redraws a one-line progress on stderr (`\r`, then the line); `done`
/// ends it with a line break.
pub fn progress(line: &str, done: bool) {
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r{}   ", sanitize::for_terminal(line));
    if done {
        let _ = writeln!(err);
    }
}
