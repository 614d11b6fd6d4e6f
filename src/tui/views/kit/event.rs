//! The lines that describe one event, as the detail pane and the
//! compare view show them: what is wrong with it, subject, times, type
//! and key, JetStream metadata, every header, and the payload (pretty,
//! coloured JSON; UTF-8 text; or a hex dump for binary data). Everything
//! that came from the system is drawn through [`super::untrusted`].

use ratatui::style::Style;
use ratatui::text::{Line, Span};
use serde_json::Value;

use super::untrusted;
use crate::analysis::anomalies::AnomalyKind;
use crate::analysis::store::StoredEvent;
use crate::format::{self, TimeZone};
use crate::tui::theme::Theme;

/// Most payload lines shown; the rest is summarised in one line.
pub const MAX_PAYLOAD_LINES: usize = 20_000;
/// Most payload bytes shown as a hex dump.
pub const MAX_HEX_BYTES: usize = 64 * 1024;

/// `Name      value`; the value may hold text from the system.
fn field(name: &str, value: impl AsRef<str>, theme: &Theme, style: Style) -> Line<'static> {
    let mut spans = vec![Span::styled(format!("{name:<10}"), theme.muted)];
    spans.extend(untrusted::spans(value.as_ref(), style, theme));
    Line::from(spans)
}

fn size_text(n: usize) -> String {
    if n < 1024 {
        format::bytes(n as u64)
    } else {
        format!(
            "{} ({} bytes)",
            format::bytes(n as u64),
            format::count(n as u64)
        )
    }
}

fn section(title: String, theme: &Theme) -> Line<'static> {
    Line::from(Span::styled(title, theme.header))
}

/// What is wrong with the event, one line per finding, with the way to its
/// related event.
fn finding_lines(ev: &StoredEvent, theme: &Theme, hints: bool) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for f in ev.findings() {
        let style = if f.kind == AnomalyKind::Conflict {
            theme.error
        } else {
            theme.flag
        };
        let mut spans = vec![Span::styled(format!("{} ", f.kind.flag()), style)];
        spans.extend(untrusted::spans(&f.text, theme.text, theme));
        if let Some(r) = f.related.filter(|_| hints) {
            spans.push(Span::styled(
                format!("  (Enter: go to #{r}, {})", f.kind.related()),
                theme.hint,
            ));
        }
        out.push(Line::from(spans));
    }
    if !out.is_empty() {
        out.push(Line::default());
    }
    out
}

/// All lines describing `ev`, before wrapping; `hints` adds how to reach
/// related events.
pub fn lines_for(ev: &StoredEvent, theme: &Theme, tz: TimeZone, hints: bool) -> Vec<Line<'static>> {
    let env = &ev.env;
    let mut out = finding_lines(ev, theme, hints);
    let mut subject = field("Subject", &env.subject, theme, theme.subject);
    subject
        .spans
        .push(Span::styled(format!("  #{}", env.index), theme.muted));
    out.extend([
        subject,
        field("Type", &ev.event_type, theme, theme.event_type),
        field("Key", &ev.key, theme, theme.text),
        field(
            "Received",
            format!(
                "{} · {}",
                format::full_time(env.received_ns, tz),
                size_text(env.payload.len())
            ),
            theme,
            theme.text,
        ),
    ]);
    if let Some(reply) = &env.reply {
        out.push(field("Reply", reply, theme, theme.text));
    }
    if let Some(js) = &env.js {
        out.push(section("JetStream".into(), theme));
        out.push(field(
            "Stream",
            format!("{} seq {}", js.stream, js.stream_seq),
            theme,
            theme.text,
        ));
        if js.consumer.is_empty() {
            // Read by sequence (a work queue stream): no consumer delivered it.
            out.push(field(
                "Consumer",
                "none (read by get-by-sequence)",
                theme,
                theme.muted,
            ));
        } else {
            out.push(field(
                "Consumer",
                format!("{} seq {}", js.consumer, js.consumer_seq),
                theme,
                theme.text,
            ));
            let delivered_style = if js.delivered > 1 {
                theme.warn
            } else {
                theme.text
            };
            out.push(field(
                "Delivered",
                format!("{}×", js.delivered),
                theme,
                delivered_style,
            ));
        }
        out.push(field(
            "Published",
            format::full_time(js.published_ns, tz),
            theme,
            theme.text,
        ));
        out.push(field(
            "Pending",
            format::count(js.pending),
            theme,
            theme.text,
        ));
    }
    out.push(section(format!("Headers ({})", env.headers.len()), theme));
    for (name, value) in &env.headers {
        let mut spans = vec![Span::raw("  ")];
        spans.extend(untrusted::spans(name, theme.json_key, theme));
        spans.push(Span::styled(": ", theme.json_punct));
        spans.extend(untrusted::spans(value, theme.text, theme));
        out.push(Line::from(spans));
    }
    out.push(Line::default());
    payload_lines(&env.payload, theme, &mut out);
    out
}

fn payload_lines(payload: &[u8], theme: &Theme, out: &mut Vec<Line<'static>>) {
    if payload.is_empty() {
        out.push(section("Payload (empty)".into(), theme));
        return;
    }
    let start = out.len();
    if let Some(json) = crate::analysis::fields::parse_json(payload) {
        out.push(section("Payload (JSON)".into(), theme));
        json_value(&json, 0, Vec::new(), false, theme, out);
    } else if let Ok(text) = std::str::from_utf8(payload) {
        out.push(section("Payload (text)".into(), theme));
        // Lines break at line feeds (CRLF too) and tabs are spread out;
        // every other control character shows as its escape, as
        // everywhere else.
        for l in text.lines() {
            out.push(untrusted::line(&l.replace('\t', "    "), theme.text, theme));
        }
    } else {
        out.push(section(
            format!(
                "Payload (binary, {}, hex)",
                format::plural(payload.len() as u64, "byte")
            ),
            theme,
        ));
        hex_dump(&payload[..payload.len().min(MAX_HEX_BYTES)], theme, out);
        if payload.len() > MAX_HEX_BYTES {
            out.push(Line::styled(
                format!(
                    "… {} not shown",
                    format::counted(
                        (payload.len() - MAX_HEX_BYTES) as u64,
                        "more byte",
                        "more bytes"
                    )
                ),
                theme.muted,
            ));
        }
    }
    let shown = out.len() - start;
    if shown > MAX_PAYLOAD_LINES {
        out.truncate(start + MAX_PAYLOAD_LINES);
        out.push(Line::styled(
            format!(
                "… {} not shown",
                format::counted(
                    (shown - MAX_PAYLOAD_LINES) as u64,
                    "more line",
                    "more lines"
                )
            ),
            theme.muted,
        ));
    }
}

/// A JSON string as the detail pane shows it: quoted, with `"` and `\\`
/// escaped as JSON does, and every other character as the sanitizer shows
/// it (so `\x1b` reads the same here as in the event table).
fn json_string(s: &str, style: Style, theme: &Theme) -> Vec<Span<'static>> {
    let quoted = s.replace('\\', "\\\\").replace('"', "\\\"");
    let mut spans = vec![Span::styled("\"", style)];
    spans.extend(untrusted::spans(&quoted, style, theme));
    spans.push(Span::styled("\"", style));
    spans
}

fn scalar_spans(v: &Value, theme: &Theme) -> Vec<Span<'static>> {
    let one = |text: String, style| vec![Span::styled(text, style)];
    match v {
        Value::String(s) => json_string(s, theme.json_string, theme),
        Value::Number(n) => one(n.to_string(), theme.json_number),
        Value::Bool(b) => one(b.to_string(), theme.json_bool),
        Value::Null => one("null".into(), theme.json_null),
        Value::Array(_) => one("[]".into(), theme.json_punct),
        Value::Object(_) => one("{}".into(), theme.json_punct),
    }
}

/// Pretty-prints one JSON value; `prefix` is the `"key": ` part, if any.
fn json_value(
    v: &Value,
    indent: usize,
    prefix: Vec<Span<'static>>,
    comma: bool,
    theme: &Theme,
    out: &mut Vec<Line<'static>>,
) {
    let pad = Span::raw(" ".repeat(indent));
    let tail = || Span::styled(if comma { "," } else { "" }, theme.json_punct);
    let (open, close, items): (&str, &str, Vec<(Option<&str>, &Value)>) = match v {
        Value::Object(m) if !m.is_empty() => (
            "{",
            "}",
            m.iter().map(|(k, v)| (Some(k.as_str()), v)).collect(),
        ),
        Value::Array(a) if !a.is_empty() => ("[", "]", a.iter().map(|v| (None, v)).collect()),
        scalar => {
            let mut spans = vec![pad];
            spans.extend(prefix);
            spans.extend(scalar_spans(scalar, theme));
            spans.push(tail());
            out.push(Line::from(spans));
            return;
        }
    };
    let mut first = vec![pad.clone()];
    first.extend(prefix);
    first.push(Span::styled(open, theme.json_punct));
    out.push(Line::from(first));
    let n = items.len();
    for (i, (key, child)) in items.into_iter().enumerate() {
        let prefix = match key {
            Some(k) => {
                let mut key = json_string(k, theme.json_key, theme);
                key.push(Span::styled(": ", theme.json_punct));
                key
            }
            None => Vec::new(),
        };
        json_value(child, indent + 2, prefix, i + 1 < n, theme, out);
    }
    out.push(Line::from(vec![
        pad,
        Span::styled(close, theme.json_punct),
        tail(),
    ]));
}

fn hex_dump(bytes: &[u8], theme: &Theme, out: &mut Vec<Line<'static>>) {
    for (row, chunk) in bytes.chunks(16).enumerate() {
        let mut hex = String::with_capacity(50);
        for (i, b) in chunk.iter().enumerate() {
            if i == 8 {
                hex.push(' ');
            }
            hex.push_str(&format!("{b:02x} "));
        }
        let ascii: String = chunk
            .iter()
            .map(|&b| {
                if b.is_ascii_graphic() || b == b' ' {
                    b as char
                } else {
                    '.'
                }
            })
            .collect();
        out.push(Line::from(vec![
            Span::styled(format!("{:08x}  ", row * 16), theme.hex_offset),
            Span::styled(format!("{hex:<49}"), theme.text),
            Span::styled(format!("|{ascii}|"), theme.hex_ascii),
        ]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::Envelope;

    fn text(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn json_is_pretty_printed_in_field_order() {
        let env = Envelope::new(0, "a", r#"{"b":1,"a":[true,null],"e":{}}"#);
        let lines = lines_for(
            &StoredEvent::for_test(env, "t"),
            &Theme::builtin(),
            TimeZone::Utc,
            true,
        );
        let t = text(&lines);
        let at = t.iter().position(|l| l == "Payload (JSON)").unwrap();
        assert_eq!(
            &t[at + 1..],
            &[
                "{",
                "  \"b\": 1,",
                "  \"a\": [",
                "    true,",
                "    null",
                "  ],",
                "  \"e\": {}",
                "}"
            ]
        );
    }

    #[test]
    fn binary_is_a_hex_dump() {
        let env = Envelope::new(0, "a", vec![0u8, 1, 0xff, b'A']);
        let lines = lines_for(
            &StoredEvent::for_test(env, "t"),
            &Theme::builtin(),
            TimeZone::Utc,
            true,
        );
        let t = text(&lines);
        assert!(t.contains(&"Payload (binary, 4 bytes, hex)".to_owned()));
        assert!(t.last().unwrap().starts_with("00000000  00 01 ff 41"));
        assert!(t.last().unwrap().ends_with("|...A|"));
    }
}
