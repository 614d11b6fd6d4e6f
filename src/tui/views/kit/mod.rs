//! Drawing helpers shared by the views (no view imports another view):
//! text from the system ([`untrusted`]), wrapping ([`wrap`]), the lines of
//! one event ([`event`]), list scrolling and the styles of states.

pub mod event;
pub mod untrusted;
pub mod wrap;

use ratatui::style::Style;

use crate::analysis::saga::SagaState;
use crate::tui::theme::Theme;

/// Scrolls so the selected row is visible, and returns the first row shown.
pub fn scroll_to_selection(
    offset: usize,
    selected: usize,
    rows: usize,
    height: usize,
    follow: bool,
) -> usize {
    if height == 0 {
        return 0;
    }
    if follow {
        return rows.saturating_sub(height);
    }
    let max_offset = rows.saturating_sub(height);
    let offset = if selected < offset {
        selected
    } else if selected >= offset + height {
        selected + 1 - height
    } else {
        offset
    };
    offset.min(max_offset)
}

pub fn state_style(s: SagaState, theme: &Theme) -> Style {
    match s {
        SagaState::Completed => theme.ok,
        SagaState::Compensated => theme.warn,
        SagaState::Failed | SagaState::Stuck => theme.error,
        SagaState::InProgress => theme.text,
        SagaState::Unverifiable => theme.warn,
    }
}

#[cfg(test)]
mod tests {
    use super::scroll_to_selection;

    #[test]
    fn following_shows_the_last_page() {
        assert_eq!(scroll_to_selection(0, 99, 100, 10, true), 90);
        assert_eq!(scroll_to_selection(0, 3, 5, 10, true), 0);
    }

    #[test]
    fn selection_stays_visible_with_minimal_scrolling() {
        assert_eq!(scroll_to_selection(50, 55, 100, 10, false), 50);
        assert_eq!(scroll_to_selection(50, 45, 100, 10, false), 45);
        assert_eq!(scroll_to_selection(50, 70, 100, 10, false), 61);
        assert_eq!(scroll_to_selection(95, 99, 100, 10, false), 90);
    }
}
