//! Colour themes with semantic keys (`muted`, `error`, `json_key`, …).
//!
//! Built-in themes are the TOML files in `themes/`, embedded at build time. A
//! user theme is an overlay: it names only the keys it changes. A bad theme
//! never stops flowscope: the problem is reported and the default is used.

use std::path::Path;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

const DEFAULT: &str = include_str!("../../themes/default.toml");
const MONO: &str = include_str!("../../themes/mono.toml");

macro_rules! theme {
    ($($key:ident),* $(,)?) => {
        /// Resolved styles, one per semantic key.
        #[derive(Debug, Clone, Default, PartialEq)]
        pub struct Theme { $(pub $key: Style,)* }

        impl Theme {
            fn slot(&mut self, key: &str) -> Option<&mut Style> {
                match key {
                    $(stringify!($key) => Some(&mut self.$key),)*
                    _ => None,
                }
            }
        }
    };
}

theme!(
    text,
    muted,
    accent,
    title,
    header,
    border,
    border_focus,
    selection,
    tab,
    tab_active,
    status_bar,
    hint,
    key,
    ok,
    warn,
    error,
    flag,
    subject,
    event_type,
    sparkline,
    json_key,
    json_string,
    json_number,
    json_bool,
    json_null,
    json_punct,
    hex_offset,
    hex_ascii,
    compensation,
    escape,
);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    styles: toml::Table,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

fn color(s: &str) -> Result<Color, String> {
    Color::from_str(s).map_err(|_| format!("'{s}' is not a colour"))
}

fn modifier(s: &str) -> Result<Modifier, String> {
    Ok(match s {
        "bold" => Modifier::BOLD,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "dim" => Modifier::DIM,
        "reversed" => Modifier::REVERSED,
        other => {
            return Err(format!(
                "'{other}' is not a modifier (bold, italic, underlined, dim, reversed)"
            ));
        }
    })
}

fn style(spec: StyleSpec) -> Result<Style, String> {
    let mut st = Style::default();
    if let Some(fg) = spec.fg {
        st = st.fg(color(&fg)?);
    }
    if let Some(bg) = spec.bg {
        st = st.bg(color(&bg)?);
    }
    for m in &spec.modifiers {
        st = st.add_modifier(modifier(m)?);
    }
    Ok(st)
}

impl Theme {
    /// Applies a theme file's styles on top of this theme. Returns one
    /// warning per problem; the keys that are fine are applied.
    pub fn overlay(&mut self, text: &str, origin: &str) -> Vec<String> {
        let file: ThemeFile = match toml::from_str(text) {
            Ok(f) => f,
            Err(e) => return vec![format!("theme {origin}: {}", e.message())],
        };
        let mut warnings = Vec::new();
        for (key, value) in file.styles {
            let parsed = value
                .try_into::<StyleSpec>()
                .map_err(|e| e.message().to_owned())
                .and_then(style);
            match (self.slot(&key), parsed) {
                (Some(slot), Ok(st)) => *slot = st,
                (None, _) => warnings.push(format!("theme {origin}: unknown style key '{key}'")),
                (Some(_), Err(e)) => warnings.push(format!("theme {origin}: {key}: {e}")),
            }
        }
        warnings
    }

    /// The built-in default theme.
    pub fn builtin() -> Theme {
        let mut t = Theme::default();
        let w = t.overlay(DEFAULT, "default");
        debug_assert!(w.is_empty(), "{w:?}");
        t
    }

    /// Loads `name` (a built-in name or a file path) over the default.
    /// `NO_COLOR` selects the monochrome theme when no name is given.
    pub fn load(name: Option<&str>) -> (Theme, Vec<String>) {
        let mut theme = Theme::builtin();
        let name = name.map(str::to_owned).or_else(|| {
            std::env::var_os("NO_COLOR")
                .filter(|v| !v.is_empty())
                .map(|_| "mono".into())
        });
        let warnings = match name.as_deref() {
            None | Some("default") => Vec::new(),
            Some("mono") => theme.overlay(MONO, "mono"),
            Some(path) => match std::fs::read_to_string(Path::new(path)) {
                Ok(text) => theme.overlay(&text, path),
                Err(e) => vec![format!(
                    "theme '{path}' is neither a built-in (default, mono) nor a readable file ({e}); using the default"
                )],
            },
        };
        (theme, warnings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_themes_parse_cleanly() {
        let mut t = Theme::builtin();
        assert_eq!(t.error.fg, Some(Color::Red));
        assert!(t.overlay(MONO, "mono").is_empty());
        assert_eq!(t.error.fg, None);
    }

    #[test]
    fn bad_entries_warn_and_keep_the_rest() {
        let mut t = Theme::builtin();
        let w = t.overlay(
            r##"[styles]
error = { fg = "#ff0000" }
muted = { fg = "no-such-colour" }
bogus = { fg = "red" }
"##,
            "mine.toml",
        );
        assert_eq!(t.error.fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(t.muted, Theme::builtin().muted);
        assert_eq!(w.len(), 2, "{w:?}");
        assert!(w[0].contains("mine.toml"));
    }

    #[test]
    fn unreadable_or_broken_files_fall_back() {
        let (t, w) = Theme::load(Some("/no/such/theme.toml"));
        assert_eq!(t, Theme::builtin());
        assert_eq!(w.len(), 1);
        let mut t = Theme::builtin();
        assert_eq!(t.overlay("not toml [", "x").len(), 1);
    }
}
