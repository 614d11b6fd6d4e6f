//! Saga timelines. One instance: a lane per step on a horizontal time axis,
//! a bar from the event that triggered each step to the step's event,
//! failures (✗) and compensations (◆, their own colour) marked, the wait
//! for the next step dotted while the instance is open; the selected event
//! in a detail pane below. The waterfall: the most recently started
//! instances as rows on one shared time axis.

use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::kit::scroll_to_selection;
use super::kit::state_style;
use super::kit::untrusted;
use crate::analysis::saga::{LaneKind, Role, SagaEvent, SagaRow, SagaState};
use crate::format;
use crate::tui::app::App;
use crate::tui::theme::Theme;

/// A time window mapped onto `width` columns.
#[derive(Debug, Clone, Copy)]
struct Axis {
    from: i64,
    span: i64,
    width: usize,
}

impl Axis {
    fn new(from: i64, to: i64, width: usize) -> Axis {
        Axis {
            from,
            span: (to - from).max(1),
            width: width.max(1),
        }
    }

    /// The column of `t`; `None` outside the window.
    fn col(&self, t: i64) -> Option<usize> {
        let x = (t - self.from) as f64 / self.span as f64 * (self.width - 1) as f64;
        (x > -0.5 && x < self.width as f64 - 0.5).then(|| x.round() as usize)
    }

    /// The column of `t`, clamped into the window.
    fn clamped(&self, t: i64) -> usize {
        let x = (t - self.from) as f64 / self.span as f64 * (self.width - 1) as f64;
        x.round().clamp(0.0, (self.width - 1) as f64) as usize
    }

    /// Tick labels under the axis: `label(t)` at four places.
    fn ticks(&self, label: impl Fn(i64) -> String) -> String {
        let mut line = vec![' '; self.width];
        let mut free_from = 0;
        for q in 0..4 {
            let col = self.width * q / 4;
            let text = format!("┆{}", label(self.from + self.span * q as i64 / 4));
            if col < free_from || col + text.chars().count() > self.width {
                continue;
            }
            for (i, ch) in text.chars().enumerate() {
                line[col + i] = ch;
            }
            free_from = col + text.chars().count() + 1;
        }
        line.into_iter().collect()
    }
}

/// One row of cells, each a character with a style.
struct Cells(Vec<(char, Style)>);

impl Cells {
    fn new(width: usize, style: Style) -> Cells {
        Cells(vec![(' ', style); width])
    }

    fn fill(&mut self, from: usize, to: usize, ch: char, style: Style) {
        for c in self.0.iter_mut().take(to).skip(from) {
            *c = (ch, style);
        }
    }

    fn set(&mut self, at: usize, ch: char, style: Style) {
        if let Some(c) = self.0.get_mut(at) {
            *c = (ch, style);
        }
    }

    fn spans(self) -> Vec<Span<'static>> {
        let mut out: Vec<Span<'static>> = Vec::new();
        let mut text = String::new();
        let mut style = None;
        for (ch, st) in self.0 {
            if style.is_some_and(|s| s != st) {
                out.push(Span::styled(
                    std::mem::take(&mut text),
                    style.unwrap_or_default(),
                ));
            }
            style = Some(st);
            text.push(ch);
        }
        if !text.is_empty() {
            out.push(Span::styled(text, style.unwrap_or_default()));
        }
        out
    }
}

/// What an event's type is to its saga: its role in a definition, or for
/// an inferred saga the kind of the lane its type has (failures and
/// compensations are learned after the event was seen).
fn kind_of(e: &SagaEvent, lanes: &[(String, LaneKind)]) -> LaneKind {
    match e.role {
        Role::Failure => LaneKind::Failure,
        Role::Compensation(_) => LaneKind::Compensation,
        Role::Step(_) => LaneKind::Step,
        Role::Seen => lanes
            .iter()
            .find(|(n, _)| **n == *e.event_type)
            .map_or(LaneKind::Step, |(_, k)| *k),
    }
}

/// The glyph and style of an event's point.
fn point(
    e: &SagaEvent,
    off_path: bool,
    lanes: &[(String, LaneKind)],
    theme: &Theme,
) -> (char, Style) {
    if !e.marks.is_empty() || off_path {
        return ('▲', theme.flag);
    }
    match kind_of(e, lanes) {
        LaneKind::Failure => ('✗', theme.error),
        LaneKind::Compensation => ('◆', theme.compensation),
        LaneKind::Step | LaneKind::Other => ('●', theme.ok),
    }
}

fn lane_style(kind: LaneKind, theme: &Theme) -> Style {
    match kind {
        LaneKind::Step => theme.ok,
        LaneKind::Failure => theme.error,
        LaneKind::Compensation => theme.compensation,
        LaneKind::Other => theme.flag,
    }
}

/// The lanes an instance's timeline shows: the steps; failures and
/// compensations when it failed or has them; then any other types it has.
fn lanes_of(row: &SagaRow, declared: &[(String, LaneKind)]) -> Vec<(String, LaneKind)> {
    let has = |name: &str| row.events.iter().any(|e| &*e.event_type == name);
    let failed = row
        .events
        .iter()
        .any(|e| kind_of(e, declared) == LaneKind::Failure);
    let mut lanes: Vec<(String, LaneKind)> = declared
        .iter()
        .filter(|(name, kind)| match kind {
            LaneKind::Step => true,
            LaneKind::Failure => has(name),
            LaneKind::Compensation => failed || has(name),
            LaneKind::Other => has(name),
        })
        .cloned()
        .collect();
    for e in row.events.iter() {
        if !lanes.iter().any(|(n, _)| **n == *e.event_type) {
            lanes.push((e.event_type.to_string(), LaneKind::Other));
        }
    }
    lanes
}

/// Whether an instance is still open (its time runs to the clock).
fn open(state: SagaState) -> bool {
    matches!(state, SagaState::InProgress | SagaState::Stuck)
}

/// The description of the selected event: `#1234 PaymentFailed +1.2s …`.
fn point_line(row: &SagaRow, at: usize, theme: &Theme) -> Line<'static> {
    let Some(e) = row.events.get(at) else {
        return Line::default();
    };
    let mut spans = vec![Span::styled(format!("#{} ", e.index), theme.accent)];
    spans.extend(untrusted::spans(&e.event_type, theme.event_type, theme));
    spans.push(Span::raw(format!(
        " at +{}",
        format::duration(e.t - row.started_ns)
    )));
    if let Some(prev) = at.checked_sub(1).and_then(|p| row.events.get(p)) {
        spans.push(Span::styled(
            format!(
                ", {} after {}",
                format::duration(e.t - prev.t),
                untrusted::plain(&prev.event_type)
            ),
            theme.muted,
        ));
    }
    let mut notes: Vec<String> = e
        .marks
        .iter()
        .map(|m| match m {
            crate::analysis::saga::Mark::BeforePredecessor => {
                "before the step it follows".to_owned()
            }
            crate::analysis::saga::Mark::Repeated => "repeated".to_owned(),
            crate::analysis::saga::Mark::AfterCompletion => "after completion".to_owned(),
            crate::analysis::saga::Mark::OtherSaga(o) => {
                format!("same id as a {} saga", untrusted::plain(o))
            }
            crate::analysis::saga::Mark::Resumed => "moves again after being stuck".to_owned(),
        })
        .collect();
    if row.off_path == Some(at) {
        notes.push("leaves the learned path".to_owned());
    }
    if !notes.is_empty() {
        spans.push(Span::styled(
            format!("  ▲ {}", notes.join(", ")),
            theme.flag,
        ));
    }
    Line::from(spans)
}

pub fn render_timeline(app: &mut App, f: &mut Frame, area: Rect) {
    app.refresh_timeline();
    let Some(t) = app.sagas.timeline.clone() else {
        return;
    };
    let theme = app.opts.theme.clone();
    let view = app.snapshot.sagas.clone();
    let row = &t.row;
    let declared = view
        .types
        .get(row.type_index)
        .map(|ty| ty.lanes.clone())
        .unwrap_or_default();
    let lanes = lanes_of(row, &declared);
    let now = view.clock_ns.max(row.last_ns);
    let end = if open(row.state) { now } else { row.last_ns };
    let more = if row.more_events > 0 {
        format!(" (+{} not kept)", row.more_events)
    } else {
        String::new()
    };
    let title = format!(
        " Saga {} · {} · {} · {}{more} over {} · zoom {}× ",
        untrusted::plain(&row.saga),
        untrusted::plain(&row.id),
        row.state.label(),
        format::plural(row.events.len() as u64, "event"),
        format::duration(end - row.started_ns),
        t.zoom
    );
    let lanes_h = (lanes.len() as u16 + 4).min(area.height.saturating_sub(6).max(5));
    let [top, bottom] =
        Layout::vertical([Constraint::Length(lanes_h), Constraint::Min(3)]).areas(area);
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(title, state_style(row.state, &theme)));
    let inner = b.inner(top);
    f.render_widget(b, top);

    let label_w = lanes
        .iter()
        .map(|(n, _)| crate::sanitize::width(n))
        .max()
        .unwrap_or(0)
        .clamp(8, 28)
        + 1;
    let width = (inner.width as usize).saturating_sub(label_w).max(1);
    // The window: the whole instance divided by the zoom, around the
    // selected event.
    let span = (end - row.started_ns).max(1_000_000);
    let window = (span / i64::from(t.zoom)).max(1);
    let sel_t = row.events.get(t.point).map_or(row.started_ns, |e| e.t);
    let left = (sel_t - window / 2).clamp(
        row.started_ns,
        (row.started_ns + span - window).max(row.started_ns),
    );
    let axis = Axis::new(left, left + window, width);

    let lane_of = |e: &SagaEvent| lanes.iter().position(|(n, _)| **n == *e.event_type);
    let mut rows: Vec<Cells> = lanes
        .iter()
        .map(|_| Cells::new(width, theme.text))
        .collect();
    for (k, e) in row.events.iter().enumerate() {
        let Some(lane) = lane_of(e) else { continue };
        let (glyph, style) = point(e, row.off_path == Some(k), &declared, &theme);
        if let Some(prev) = k.checked_sub(1).and_then(|p| row.events.get(p)) {
            let (a, z) = (axis.clamped(prev.t), axis.clamped(e.t));
            let visible = prev.t < left + window && e.t > left;
            if visible {
                rows[lane].fill(a, z, '─', lane_style(lanes[lane].1, &theme));
            }
        }
        if let Some(col) = axis.col(e.t) {
            let style = if k == t.point { theme.selection } else { style };
            rows[lane].set(col, glyph, style);
        }
    }
    // While open, the wait for the next step runs to the clock.
    if open(row.state) {
        let next = lanes
            .iter()
            .position(|(n, kind)| {
                *kind == LaneKind::Step && !row.events.iter().any(|e| *e.event_type == **n)
            })
            .or_else(|| row.events.last().and_then(lane_of));
        if let Some(lane) = next {
            let wait = if row.state == SagaState::Stuck {
                theme.error
            } else {
                theme.muted
            };
            let (a, z) = (axis.clamped(row.last_ns), axis.clamped(now));
            rows[lane].fill(a + 1, z + 1, '┄', wait);
        }
    }
    let mut lines: Vec<Line> = lanes
        .iter()
        .zip(rows)
        .map(|((name, kind), cells)| {
            let mut spans = vec![Span::styled(
                format!("{} ", format::fit(name, label_w - 1)),
                match kind {
                    LaneKind::Step => theme.event_type,
                    other => lane_style(*other, &theme),
                },
            )];
            spans.extend(cells.spans());
            Line::from(spans)
        })
        .collect();
    lines.push(Line::from(vec![
        Span::raw(" ".repeat(label_w)),
        Span::styled(
            axis.ticks(|t| format!("+{}", format::duration(t - row.started_ns))),
            theme.muted,
        ),
    ]));
    lines.push(point_line(row, t.point, &theme));
    f.render_widget(Paragraph::new(lines), inner);

    // The selected event.
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border)
        .title(Span::styled(
            " Event (e: in the stream · f: all of this instance · ←/→ events · +/- zoom · Esc back) ",
            theme.title,
        ));
    let inner = b.inner(bottom);
    f.render_widget(b, bottom);
    let body = match row.events.get(t.point).map(|e| e.index) {
        Some(index) => match app.snapshot.event(index) {
            Some(ev) => super::kit::wrap::wrap(
                super::kit::event::lines_for(ev, &theme, app.opts.tz, false),
                inner.width as usize,
            ),
            None => vec![Line::styled(
                format!("Event #{index} is no longer retained (see --retain)."),
                theme.muted,
            )],
        },
        None => Vec::new(),
    };
    f.render_widget(Paragraph::new(body), inner);
}

pub fn render_waterfall(app: &mut App, f: &mut Frame, area: Rect) {
    let theme = app.opts.theme.clone();
    let view = app.snapshot.sagas.clone();
    let (rows, at) = app.waterfall_rows();
    let len = rows.len();
    let b = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focus)
        .title(Span::styled(
            format!(
                " Waterfall · {} · Enter: timeline · w: back ",
                format::counted(
                    len as u64,
                    "most recently started instance",
                    "most recently started instances"
                )
            ),
            theme.title,
        ));
    let inner = b.inner(area);
    f.render_widget(b, area);
    if rows.is_empty() {
        f.render_widget(
            Paragraph::new(Span::styled("No saga instances yet.", theme.muted)),
            inner,
        );
        return;
    }
    let height = (inner.height as usize).saturating_sub(1).max(1);
    let offset = scroll_to_selection(app.sagas.waterfall_offset, at, len, height, false);
    let from = rows.iter().map(|r| r.started_ns).min().unwrap_or(0);
    let to = view
        .clock_ns
        .max(rows.iter().map(|r| r.last_ns).max().unwrap_or(0));
    let label_w = rows
        .iter()
        .map(|r| crate::sanitize::width(&r.id))
        .max()
        .unwrap_or(0)
        .clamp(6, 20)
        + 2;
    let width = (inner.width as usize).saturating_sub(label_w).max(1);
    let axis = Axis::new(from, to, width);
    let mut lines: Vec<Line> = Vec::new();
    for (i, r) in rows.iter().enumerate().skip(offset).take(height) {
        let state = state_style(r.state, &theme);
        let mut cells = Cells::new(width, theme.text);
        let (a, z) = (axis.clamped(r.started_ns), axis.clamped(r.last_ns));
        cells.fill(a, z + 1, '━', state);
        if open(r.state) {
            let wait = if r.state == SagaState::Stuck {
                theme.error
            } else {
                theme.muted
            };
            cells.fill(z + 1, axis.clamped(to) + 1, '┄', wait);
        }
        let lanes = view
            .types
            .get(r.type_index)
            .map_or(&[][..], |t| &t.lanes[..]);
        for (k, e) in r.events.iter().enumerate() {
            let (glyph, style) = point(e, r.off_path == Some(k), lanes, &theme);
            if glyph != '●' {
                cells.set(axis.clamped(e.t), glyph, style);
            }
        }
        let label = format!("{} ", format::fit(&r.id, label_w - 2));
        let mut spans = vec![
            Span::styled(label, if i == at { theme.selection } else { state }),
            Span::raw(" "),
        ];
        spans.extend(cells.spans());
        lines.push(Line::from(spans));
    }
    lines.push(Line::from(vec![
        Span::raw(" ".repeat(label_w)),
        Span::styled(axis.ticks(|t| format::clock(t, app.opts.tz)), theme.muted),
    ]));
    f.render_widget(Paragraph::new(lines), inner);
    app.sagas.waterfall_offset = offset;
    app.sagas.waterfall_page = height;
}
