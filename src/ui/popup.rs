//! Popups: the confirmation that holds a pending action, and help from the key table.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::keymap::BINDINGS;
use crate::app::model::Model;
use crate::app::msg::Action;

fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    let [_, mid, _] = Layout::vertical([
        Constraint::Fill(1),
        Constraint::Length(h),
        Constraint::Fill(1),
    ])
    .areas(area);
    let [_, c, _] = Layout::horizontal([
        Constraint::Fill(1),
        Constraint::Length(w),
        Constraint::Fill(1),
    ])
    .areas(mid);
    c
}

pub fn confirm(f: &mut Frame, area: Rect, m: &Model, a: Action, t: &Theme) {
    let r = centered(area, 52, 6);
    f.render_widget(Clear, r);
    let pid = m
        .status
        .as_ref()
        .and_then(|s| s.pid)
        .map(|p| format!(" (PID {p})"))
        .unwrap_or_default();
    let q = match a {
        Action::Stop => format!("Stop the worker{pid}?"),
        Action::Restart => format!("Restart the worker{pid}?"),
        Action::Start => "Start the worker?".to_string(),
    };
    let lines = vec![
        Line::raw(q),
        Line::raw(""),
        Line::from(vec![
            Span::styled("y", t.key()),
            Span::raw("/"),
            Span::styled("Enter", t.key()),
            Span::raw(" yes    "),
            Span::styled("n", t.key()),
            Span::raw("/"),
            Span::styled("Esc", t.key()),
            Span::raw(" no"),
        ]),
    ];
    let b = Block::bordered().title(" Confirm ").border_style(t.warn());
    f.render_widget(Paragraph::new(lines).block(b).wrap(Wrap { trim: true }), r);
}

pub fn help(f: &mut Frame, area: Rect, t: &Theme) {
    let h = BINDINGS.len() as u16 + 4;
    let r = centered(area, 60, h);
    f.render_widget(Clear, r);
    let mut lines: Vec<Line> = BINDINGS
        .iter()
        .map(|b| {
            Line::from(vec![
                Span::styled(format!("{:>14}  ", b.keys), t.key()),
                Span::raw(b.help),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.push(Line::styled("any key closes this help", t.dim()));
    let b = Block::bordered()
        .title(" Keys ")
        .border_style(t.border(true));
    f.render_widget(Paragraph::new(lines).block(b), r);
}
