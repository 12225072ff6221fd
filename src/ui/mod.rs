//! Pure drawing: `draw(frame, &model)`. Nothing here reads files or the clock.

mod logs;
mod panels;
mod popup;
pub mod theme;

use std::time::SystemTime;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use crate::app::keymap::BINDINGS;
use crate::app::model::Model;
use theme::Theme;

pub const MIN_W: u16 = 40;
pub const MIN_H: u16 = 10;

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

pub fn draw(f: &mut Frame, m: &Model) {
    let area = f.area();
    let t = Theme { color: m.color };
    let class = size_class(area);
    if class == Size::TooSmall {
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
    let (top_h, mid_h) = match class {
        Size::Full => (9, 8),
        Size::Compact => {
            // Between 80×24 and 120×40 the panels grow with the height.
            let extra = area.height.saturating_sub(24) / 3;
            (6 + extra.min(3), 5 + extra.min(3))
        }
        _ => (0, 0),
    };
    let [header, top, mid, logs_area, footer] = Layout::vertical([
        Constraint::Length(2),
        Constraint::Length(top_h),
        Constraint::Length(mid_h),
        Constraint::Min(3),
        Constraint::Length(1),
    ])
    .areas(area);
    panels::header(f, header, m, &t);
    if top_h > 0 {
        let [h, r, fl] = Layout::horizontal([
            Constraint::Percentage(36),
            Constraint::Percentage(28),
            Constraint::Percentage(36),
        ])
        .areas(top);
        panels::health(f, h, m, &t);
        panels::resources(f, r, m, &t);
        panels::files(f, fl, m, &t);
        // Events keeps the widest third: its lines are sentences.
        let [db, pr, ev] = Layout::horizontal([
            Constraint::Percentage(30),
            Constraint::Percentage(28),
            Constraint::Percentage(42),
        ])
        .areas(mid);
        panels::database(f, db, m, &t);
        panels::processes(f, pr, m, &t);
        panels::events(f, ev, m, &t);
    }
    logs::draw(f, logs_area, m, &t);
    draw_footer(f, footer, m, &t);
    if m.help {
        popup::help(f, area, &t);
    } else if let Some(a) = m.confirm {
        popup::confirm(f, area, m, a, &t);
    } else if let Some(job) = &m.confirm_proc {
        popup::confirm_proc(f, area, job, &t);
    }
}

fn draw_footer(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let line = if m.log.searching {
        Line::from(vec![
            Span::styled("search: ", t.key()),
            Span::raw(crate::logs::sanitize(&m.log.query)),
            Span::styled("▏", t.key()),
            Span::styled("  Enter keep · Esc clear", t.dim()),
        ])
    } else {
        // Hints from the key table; on a narrow terminal the least needed go first, `? help`
        // and `q quit` always stay.
        let mut hints: Vec<(&str, &str)> = BINDINGS
            .iter()
            .filter_map(|b| {
                let label = b.footer?;
                let key = match b.keys {
                    "q Ctrl-C" => "q",
                    k if k.len() > 1 => k.split('/').next().unwrap_or(k),
                    k => k,
                };
                Some((key, label))
            })
            .collect();
        let width = |h: &[(&str, &str)]| {
            h.iter()
                .map(|(k, l)| k.chars().count() + l.len() + 3)
                .sum::<usize>()
        };
        for drop in [
            "focus", "auto", "wrap", "level", "follow", "restart", "search",
        ] {
            if width(&hints) <= area.width as usize {
                break;
            }
            hints.retain(|(_, l)| *l != drop);
        }
        let mut spans = Vec::new();
        for (key, label) in hints {
            spans.push(Span::styled(key.to_string(), t.key()));
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
