//! Errors meant for the user: one clear sentence, printed without a backtrace.

use std::fmt;

/// An error whose message is written for the person at the terminal: what
/// failed and what to try. `main` prints it as is and exits non-zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserError(pub String);

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

/// Shorthand for returning a [`UserError`].
pub fn user_error<T>(msg: impl Into<String>) -> color_eyre::Result<T> {
    Err(UserError(msg.into()).into())
}
