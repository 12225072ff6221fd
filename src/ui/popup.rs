//! Popups: the confirmation that holds a pending action, and help from the key table.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme::Theme;
use crate::app::keymap::BINDINGS;
use crate::app::model::Model;
use crate::app::msg::{Action, ProcJob};

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

/// The question for a process job: exactly what it will signal (or write), one line each.
pub fn confirm_proc(f: &mut Frame, area: Rect, job: &ProcJob, t: &Theme) {
    let row = |p: &crate::procman::census::Member| {
        Line::raw(format!(
            "  PID {} {} ({})",
            p.pid,
            p.what(),
            crate::config::fmt_bytes(p.rss_bytes)
        ))
    };
    let mut lines = Vec::new();
    match job {
        ProcJob::End(ps) => {
            lines.push(Line::raw("Stop this process (SIGTERM, SIGKILL after 3 s)?"));
            lines.extend(ps.iter().map(row));
        }
        ProcJob::Reap(ps) => {
            lines.push(Line::raw(match ps.len() {
                1 => "End this orphaned helper (SIGTERM, SIGKILL after 3 s)?".to_string(),
                n => format!("End these {n} orphaned helpers (SIGTERM, SIGKILL after 3 s)?"),
            }));
            lines.extend(ps.iter().take(8).map(row));
            if ps.len() > 8 {
                lines.push(Line::styled(
                    format!("  … and {} more", ps.len() - 8),
                    t.dim(),
                ));
            }
        }
        ProcJob::Adopt(p) => {
            lines.push(Line::raw(
                "Record this worker in the PID file (nothing is signalled)?",
            ));
            lines.push(row(p));
        }
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled("y", t.key()),
        Span::raw("/"),
        Span::styled("Enter", t.key()),
        Span::raw(" yes    "),
        Span::styled("n", t.key()),
        Span::raw("/"),
        Span::styled("Esc", t.key()),
        Span::raw(" no"),
    ]));
    let r = centered(area, 64, lines.len() as u16 + 2);
    f.render_widget(Clear, r);
    let b = Block::bordered().title(" Confirm ").border_style(t.warn());
    f.render_widget(Paragraph::new(lines).block(b).wrap(Wrap { trim: false }), r);
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
