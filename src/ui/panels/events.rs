//! The Events panel: the dashboard's event log, newest at the bottom.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::{clock, panel};
use crate::app::model::{Focus, Model};
use crate::ui::fit;
use crate::ui::theme::Theme;

/// Draw the Events panel: the events in view (scrolled back by `events_scroll`), each with its
/// time; failures, losses and stale files in red.
pub fn events(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let inner = panel(f, area, "Events", m, Focus::Events, t);
    let h = inner.height as usize;
    let end = m.events.len().saturating_sub(m.events_scroll);
    let start = end.saturating_sub(h);
    let lines: Vec<Line> = m
        .events
        .range(start..end)
        .map(|(when, text)| {
            let style =
                if text.contains("failed") || text.contains("lost") || text.contains("stale") {
                    t.bad()
                } else {
                    ratatui::style::Style::default()
                };
            fit::ellipsize(
                Line::from(vec![
                    Span::styled(format!("{} ", clock(*when)), t.dim()),
                    Span::styled(crate::logs::sanitize(text), style),
                ]),
                inner.width as usize,
            )
        })
        .collect();
    if lines.is_empty() {
        f.render_widget(Paragraph::new(Line::styled("nothing yet", t.dim())), inner);
    } else {
        f.render_widget(Paragraph::new(lines), inner);
    }
}
