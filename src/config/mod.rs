//! `flowscope.toml`: where fields come from, per-subject overrides, dedup,
//! ordering and schema settings, and event-kind overrides.
//!
//! Found at `-c/--config FILE`, else `./flowscope.toml`, else
//! `<config dir>/flowscope/flowscope.toml`; without a file the defaults
//! apply. Unknown keys and bad values are errors naming the file, the line
//! and the key.
//!
//! [`export`] writes the effective settings in the same shape, for a
//! recording's header, and reads them back on replay.

mod build;
mod export;
mod file;
#[cfg(test)]
mod tests;

pub use export::{document, from_document};

use std::path::{Path, PathBuf};

use crate::analysis::AnalysisConfig;
use crate::error::UserError;
use build::build;
use file::ConfigFile;

/// Where the config came from, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Defaults,
    File(PathBuf),
    /// The settings recorded in a recording's header.
    Recording(PathBuf),
}

/// Parses config text; `origin` names the file in errors.
pub fn parse(text: &str, origin: &str) -> Result<AnalysisConfig, UserError> {
    let file: ConfigFile = toml::from_str(text).map_err(|e| located(text, origin, &e))?;
    build(file, origin)
}

/// "flowscope.toml:7 (`windw`): unknown field `windw`, expected …"
fn located(text: &str, origin: &str, e: &toml::de::Error) -> UserError {
    let Some(span) = e.span() else {
        return UserError(format!("{origin}: {}", e.message()));
    };
    let start = span.start.min(text.len());
    let line_no = text[..start].matches('\n').count() + 1;
    let line = text.lines().nth(line_no - 1).unwrap_or("").trim();
    let key = match line.split_once('=') {
        Some((k, _)) => k.trim().trim_matches('"').to_owned(),
        None => line.trim_matches(|c| c == '[' || c == ']').to_owned(),
    };
    UserError(format!(
        "{origin}:{line_no} (`{key}`): {}",
        e.message().trim_end()
    ))
}

/// The file used when `-c` is not given: `./flowscope.toml`, then the user's
/// config directory.
pub fn default_path() -> Option<PathBuf> {
    let local = PathBuf::from("flowscope.toml");
    if local.is_file() {
        return Some(local);
    }
    dirs::config_dir()
        .map(|d| d.join("flowscope").join("flowscope.toml"))
        .filter(|p| p.is_file())
}

/// The settings for reading a recording: `-c FILE` when given, else the
/// ones the recording's session ran with (its header), else the default
/// places. A recording replays with the saga picture its session had.
pub fn for_recording(
    explicit: Option<&Path>,
    recording: &Path,
    recorded: Option<&serde_json::Value>,
) -> Result<(AnalysisConfig, Origin), UserError> {
    match (explicit, recorded) {
        (None, Some(doc)) => {
            let origin = format!("the header of {}", recording.display());
            let cfg = from_document(doc, &origin).map_err(|e| {
                UserError(format!(
                    "{e}; give the settings to use with -c FILE (an empty file: the defaults)"
                ))
            })?;
            Ok((cfg, Origin::Recording(recording.to_path_buf())))
        }
        _ => load(explicit),
    }
}

/// Loads the config from `explicit`, or the default places.
pub fn load(explicit: Option<&Path>) -> Result<(AnalysisConfig, Origin), UserError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => match default_path() {
            Some(p) => p,
            None => return Ok((AnalysisConfig::default(), Origin::Defaults)),
        },
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| UserError(format!("cannot read config file {}: {e}", path.display())))?;
    let cfg = parse(&text, &path.display().to_string())?;
    Ok((cfg, Origin::File(path)))
}
