//! The header and the small panels, a file each; the helpers they share are here.

mod activity;
mod charts;
mod database;
mod events;
mod files;
mod header;
mod health;
mod processes;
mod resources;

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::model::{Focus, Model};

pub use activity::activity;
pub use database::database;
pub use events::events;
pub use files::files;
pub use header::header;
pub use health::health;
pub use processes::processes;
pub use resources::resources;

/// A time of day in local time, `HH:MM:SS`.
pub fn clock(t: std::time::SystemTime) -> String {
    crate::platform::to_local(chrono::DateTime::<chrono::Utc>::from(t))
        .format("%H:%M:%S")
        .to_string()
}

/// Draw a small panel's border and title (bracketed while focused); returns the area inside.
fn panel(f: &mut Frame, area: Rect, title: &str, m: &Model, focus: Focus, t: &Theme) -> Rect {
    let focused = m.focus == focus;
    let title = if focused {
        format!("[{title}]")
    } else {
        format!(" {title} ")
    };
    let b = Block::bordered()
        .title(title)
        .border_style(t.border(focused));
    let inner = b.inner(area);
    f.render_widget(b, area);
    inner
}

/// Draw `lines` at the top of `inner` (as many as fit); returns the area left below them.
fn lines_on_top(f: &mut Frame, inner: Rect, lines: Vec<Line<'_>>) -> Rect {
    let text_h = (lines.len() as u16).min(inner.height);
    f.render_widget(
        Paragraph::new(lines),
        Rect {
            height: text_h,
            ..inner
        },
    );
    Rect {
        y: inner.y + text_h,
        height: inner.height - text_h,
        ..inner
    }
}

/// ✓ in green or ✗ in red.
fn mark(ok: bool, t: &Theme) -> Span<'static> {
    if ok {
        Span::styled("✓", t.ok())
    } else {
        Span::styled("✗", t.bad())
    }
}
