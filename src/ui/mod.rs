//! Pure drawing: `draw(frame, &model)`. Nothing here reads files or the clock.

pub mod fit;
mod history;
mod logs;
mod memory;
mod panels;
mod popup;
pub mod theme;

use std::time::SystemTime;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::model::{Focus, Mode, Model};
use theme::Theme;

pub const MIN_W: u16 = 40;
pub const MIN_H: u16 = 10;
/// From this width on, the Activity panel has its own place beside the logs.
pub const ACTIVITY_BESIDE_W: u16 = 100;

const SPINNER: [&str; 8] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧"];

/// How much of the screen each layout gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    TooSmall,
    Tiny,
    Compact,
    Full,
}

pub fn size_class(area: Rect) -> Size {
    if area.width < MIN_W || area.height < MIN_H {
        Size::TooSmall
    } else if area.width < 80 || area.height < 24 {
        Size::Tiny
    } else if area.width < 120 || area.height < 40 {
        Size::Compact
    } else {
        Size::Full
    }
}

/// Where each panel is for a screen of `area` (zero-sized panels are not drawn). Drawing and
/// the mouse both use it, so a click lands on the panel the user sees.
#[derive(Debug, Clone, Copy, Default)]
pub struct Areas {
    pub header: Rect,
    pub health: Rect,
    pub resources: Rect,
    pub files: Rect,
    pub database: Rect,
    pub processes: Rect,
    pub events: Rect,
    pub logs: Rect,
    /// Beside the logs on a wide screen; on a narrow one Activity shares the Events slot and
    /// shows there while focused.
    pub activity: Rect,
    pub footer: Rect,
}

pub fn areas(area: Rect) -> Areas {
    let class = size_class(area);
    if class == Size::TooSmall {
        return Areas::default();
    }
    let (top_h, mid_h) = match class {
        Size::Full => (9, 8),
        Size::Compact => {
            // Between 80×24 and 120×40 the panels grow with the height.
            let extra = area.height.saturating_sub(24) / 3;
            (6 + extra.min(3), 5 + extra.min(3))
        }
        _ => (0, 0),
    };
    let [header, top, mid, logs, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(top_h),
        Constraint::Length(mid_h),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    let mut a = Areas {
        header,
        logs,
        footer,
        ..Areas::default()
    };
    if top_h > 0 && area.width >= ACTIVITY_BESIDE_W {
        [a.logs, a.activity] =
            Layout::horizontal([Constraint::Percentage(62), Constraint::Percentage(38)])
                .areas(logs);
    }
    if top_h > 0 {
        [a.health, a.resources, a.files] = Layout::horizontal([
            Constraint::Percentage(35),
            Constraint::Percentage(30),
            Constraint::Percentage(35),
        ])
        .areas(top);
        // Events keeps the widest third: its lines are sentences.
        [a.database, a.processes, a.events] = Layout::horizontal([
            Constraint::Percentage(32),
            Constraint::Percentage(28),
            Constraint::Percentage(40),
        ])
        .areas(mid);
    }
    a
}

/// The panel under a terminal cell, for a screen of `size`.
pub fn panel_at(size: (u16, u16), x: u16, y: u16) -> Option<Focus> {
    let a = areas(Rect::new(0, 0, size.0, size.1));
    let p = ratatui::layout::Position { x, y };
    [
        (a.logs, Focus::Logs),
        (a.activity, Focus::Activity),
        (a.events, Focus::Events),
        (a.processes, Focus::Processes),
        (a.health, Focus::Health),
        (a.resources, Focus::Resources),
        (a.files, Focus::Files),
        (a.database, Focus::Database),
    ]
    .into_iter()
    .find(|(r, _)| r.contains(p))
    .map(|(_, f)| f)
}

/// How many log lines are on screen at `size` (inside the Logs border).
pub fn log_rows(size: (u16, u16)) -> usize {
    areas(Rect::new(0, 0, size.0, size.1))
        .logs
        .height
        .saturating_sub(2) as usize
}

pub fn draw(f: &mut Frame, m: &Model) {
    let area = f.area();
    let t = Theme {
        color: m.color,
        pal: m.palette,
    };
    if size_class(area) == Size::TooSmall {
        let msg = format!(
            "terminal too small ({}×{}): need {MIN_W}×{MIN_H}",
            area.width, area.height
        );
        f.render_widget(
            Paragraph::new(msg).wrap(ratatui::widgets::Wrap { trim: true }),
            area,
        );
        return;
    }
    let a = areas(area);
    panels::header(f, a.header, m, &t);
    if a.health.height > 0 {
        panels::health(f, a.health, m, &t);
        panels::resources(f, a.resources, m, &t);
        panels::files(f, a.files, m, &t);
        panels::database(f, a.database, m, &t);
        panels::processes(f, a.processes, m, &t);
        if a.activity.height == 0 && m.focus == Focus::Activity {
            panels::activity(f, a.events, m, &t);
        } else {
            panels::events(f, a.events, m, &t);
        }
    }
    if a.activity.height > 0 {
        panels::activity(f, a.activity, m, &t);
    }
    logs::draw(f, a.logs, m, &t);
    draw_footer(f, a.footer, m, &t);
    match &m.mode {
        Mode::Help(top) => popup::help(f, area, m, *top, &t),
        Mode::Confirm(a) => popup::confirm(f, area, m, *a, &t),
        Mode::ConfirmProc(job) => popup::confirm_proc(f, area, job, &t),
        Mode::Detail { item, top } => popup::detail(f, area, item, *top, &t),
        Mode::HealthDetail(top) => popup::health_detail(f, area, m, *top, &t),
        Mode::History { sel, open, top } => history::draw(f, area, m, *sel, *open, *top, &t),
        Mode::Queue(top) => memory::queue(f, area, m, *top, &t),
        Mode::Settings(top) => memory::settings(f, area, m, *top, &t),
        Mode::Search | Mode::FindMemory | Mode::Normal => {}
    }
}

fn draw_footer(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let line = if m.mode == Mode::FindMemory {
        Line::from(vec![
            Span::styled("search memories: ", t.key()),
            Span::raw(crate::logs::sanitize(&m.memory.query)),
            Span::styled("▏", t.key()),
            Span::styled("  Enter search · Esc live list", t.dim()),
        ])
    } else if m.searching() {
        Line::from(vec![
            Span::styled("search: ", t.key()),
            Span::raw(crate::logs::sanitize(&m.log.query)),
            Span::styled("▏", t.key()),
            Span::styled("  Enter keep · Esc clear", t.dim()),
        ])
    } else {
        // Hints from the key table in effect; on a narrow terminal the least needed go first,
        // `help` and `quit` always stay.
        let mut hints = m.keys.footer();
        let width = |h: &[(String, &str)]| {
            h.iter()
                .map(|(k, l)| fit::width(k) + l.len() + 3)
                .sum::<usize>()
        };
        for drop in [
            "pager", "save", "copy", "time", "focus", "auto", "wrap", "level", "follow", "restart",
            "search", "start", "stop",
        ] {
            if width(&hints) <= area.width as usize {
                break;
            }
            hints.retain(|(_, l)| *l != drop);
        }
        let mut spans = Vec::new();
        for (key, label) in hints {
            spans.push(Span::styled(key, t.key()));
            spans.push(Span::raw(format!(" {label}  ")));
        }
        Line::from(spans)
    };
    f.render_widget(Paragraph::new(line), area);
}

/// `3s ago`, `5m ago`, `2h ago`, `3d ago`.
pub fn ago(now: SystemTime, then: SystemTime) -> String {
    let s = now.duration_since(then).unwrap_or_default().as_secs();
    match s {
        0..=59 => format!("{s}s ago"),
        60..=3599 => format!("{}m ago", s / 60),
        3600..=86399 => format!("{}h ago", s / 3600),
        _ => format!("{}d ago", s / 86400),
    }
}

pub fn spinner(i: usize) -> &'static str {
    SPINNER[i % SPINNER.len()]
}
