//! Drawing: one file per view. `render` lays out the screen.

pub mod anomalies;
pub mod detail;
pub mod help;
pub mod kinds;
pub mod kit;
pub mod lag;
pub mod saga_timeline;
mod sagas;
pub mod status;
pub mod stream;
pub mod subjects;
pub mod timeline;

use ratatui::Frame;
use ratatui::layout::{Constraint, Direction, Layout};

use super::app::{App, View};

/// Terminals at least this wide show the detail pane beside the table.
const SIDE_BY_SIDE_MIN_WIDTH: u16 = 120;
/// Below this many rows for the main area, the detail pane is hidden.
const DETAIL_MIN_HEIGHT: u16 = 8;

/// Draws the whole screen.
pub fn render(app: &mut App, f: &mut Frame) {
    let timeline_rows = u16::from(app.snapshot.replay.is_some());
    let [tabs, main, timeline_bar, status_bar, hints] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Min(1),
        Constraint::Length(timeline_rows),
        Constraint::Length(1),
        Constraint::Length(1),
    ])
    .areas(f.area());
    status::render_tabs(app, f, tabs);
    match app.view {
        View::Stream => {
            let wide = main.width >= SIDE_BY_SIDE_MIN_WIDTH;
            if app.stream.show_detail && (wide || main.height >= DETAIL_MIN_HEIGHT) {
                let dir = if wide {
                    Direction::Horizontal
                } else {
                    Direction::Vertical
                };
                let [table, detail] = Layout::default()
                    .direction(dir)
                    .constraints([Constraint::Percentage(55), Constraint::Percentage(45)])
                    .areas(main);
                stream::render(app, f, table);
                detail::render(app, f, detail);
            } else {
                stream::render(app, f, main);
            }
        }
        View::Subjects => subjects::render(app, f, main),
        View::Anomalies => anomalies::render(app, f, main),
        View::Kinds => kinds::render(app, f, main),
        View::Lag => lag::render(app, f, main),
        View::Sagas if app.sagas.timeline.is_some() => saga_timeline::render_timeline(app, f, main),
        View::Sagas if app.sagas.waterfall => saga_timeline::render_waterfall(app, f, main),
        View::Sagas => sagas::render(app, f, main),
    }
    timeline::render(app, f, timeline_bar);
    status::render_status(app, f, status_bar);
    status::render_hints(app, f, hints);
    if app.help {
        help::render(app, f, f.area());
    }
}
