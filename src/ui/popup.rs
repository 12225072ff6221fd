//! Popups: the confirmation that holds a pending action, and help from the key table.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::fit;
use super::theme::Theme;
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
        .and_then(|s| s.pid())
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

/// Words of `text` packed into lines of at most `w` columns (a word longer than `w` gets a line
/// of its own, cut with `…`).
fn wrap_words(text: &str, w: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let need = if cur.is_empty() {
            fit::width(word)
        } else {
            fit::width(&cur) + 1 + fit::width(word)
        };
        if need > w && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        if !cur.is_empty() {
            cur.push(' ');
        }
        cur.push_str(word);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out.into_iter()
        .map(|l| {
            if fit::width(&l) > w {
                let cut: String = l.chars().take(w.saturating_sub(1)).collect();
                format!("{cut}…")
            } else {
                l
            }
        })
        .collect()
}

/// The help rows for a popup of inner width `w`: every command's keys and its whole text,
/// wrapped under the text column.
pub fn help_rows(m: &Model, w: usize) -> Vec<(String, String)> {
    let rows = m.keys.help();
    let key_w = rows
        .iter()
        .map(|(k, _)| fit::width(k))
        .max()
        .unwrap_or(1)
        .min(12)
        .min(w / 3);
    let text_w = w.saturating_sub(key_w + 2).max(8);
    let mut out = Vec::new();
    for (keys, text) in rows {
        let keys = fit::middle(&keys, key_w);
        for (i, part) in wrap_words(text, text_w).into_iter().enumerate() {
            let k = if i == 0 { keys.clone() } else { String::new() };
            out.push((format!("{k:>key_w$}  "), part));
        }
    }
    out
}

/// Two columns of help from 110 columns on (the whole table then fits at 120×40); `None`: one
/// column that scrolls. The right column starts at a command, never inside a wrapped text.
fn help_columns(m: &Model, width: u16, t: &Theme) -> Option<(u16, Vec<Line<'static>>)> {
    if width < 110 {
        return None;
    }
    let w = width.min(2 * 66);
    let col = w.saturating_sub(2 + 2) / 2;
    let rows = help_rows(m, col as usize);
    let split = (rows.len().div_ceil(2)..rows.len())
        .find(|&i| !rows[i].0.trim().is_empty())
        .unwrap_or(rows.len());
    let (left, right) = rows.split_at(split);
    let lines = (0..left.len().max(right.len()))
        .map(|i| {
            let (k, text) = left.get(i).cloned().unwrap_or_default();
            let pad = (col as usize + 2).saturating_sub(fit::width(&k) + fit::width(&text));
            let mut spans = vec![
                Span::styled(k, t.key()),
                Span::raw(format!("{text}{}", " ".repeat(pad))),
            ];
            if let Some((rk, rt)) = right.get(i) {
                spans.push(Span::styled(rk.clone(), t.key()));
                spans.push(Span::raw(rt.clone()));
            }
            Line::from(spans)
        })
        .collect();
    Some((w, lines))
}

pub fn help(f: &mut Frame, area: Rect, m: &Model, top: u16, t: &Theme) {
    let (w, rows) = help_columns(m, area.width, t).unwrap_or_else(|| {
        let w = area.width.min(66);
        let lines = help_rows(m, w.saturating_sub(2) as usize)
            .into_iter()
            .map(|(k, text)| Line::from(vec![Span::styled(k, t.key()), Span::raw(text)]))
            .collect();
        (w, lines)
    });
    let h = (rows.len() as u16 + 3).min(area.height);
    let r = centered(area, w, h);
    f.render_widget(Clear, r);
    let room = r.height.saturating_sub(3) as usize;
    let top = (top as usize).min(rows.len().saturating_sub(room));
    let total = rows.len();
    let mut lines: Vec<Line> = rows.into_iter().skip(top).take(room).collect();
    let more = top + room < total;
    use crate::app::keymap::Command;
    lines.push(Line::styled(
        match (top > 0, more) {
            (_, true) => format!(
                "↓ more ({}) · other keys close",
                m.keys.label(Command::ScrollDown)
            ),
            (true, false) => format!(
                "↑ back ({}) · other keys close",
                m.keys.label(Command::ScrollUp)
            ),
            (false, false) => "any other key closes this help".to_string(),
        },
        t.dim(),
    ));
    let b = Block::bordered()
        .title(" Keys ")
        .border_style(t.border(true));
    f.render_widget(Paragraph::new(lines).block(b), r);
}

/// One Activity item's full text, read-only; ↑/↓ scroll, Esc closes.
/// The Health detail: the text `status` prints for the status the dashboard holds, so each
/// finding's fix is there however many findings the panel had room for.
pub fn health_detail(f: &mut Frame, area: Rect, m: &Model, top: u16, t: &Theme) {
    let text = m
        .status
        .as_ref()
        .map(crate::once::text)
        .unwrap_or_else(|| "no status read yet".into());
    let lines: Vec<Line> = text
        .lines()
        .map(|l| {
            let l = crate::logs::sanitize(l);
            let trimmed = l.trim_start();
            if trimmed.starts_with("DEGRADED:")
                || trimmed.starts_with("STALLED:")
                || trimmed.starts_with("FLAPPING:")
                || trimmed.starts_with("WARNING:")
            {
                Line::styled(l, t.warn())
            } else if trimmed.starts_with("fix:") {
                Line::styled(l, t.dim())
            } else {
                Line::raw(l)
            }
        })
        .collect();
    let title = " Health · as `claude-mem-top status` prints it · Esc closes ";
    reader(f, area, 110, title, lines, top, t);
}

/// A read-only text popup, `width` columns at most, wrapped and scrolled down by `top` rows.
pub(super) fn reader(
    f: &mut Frame,
    area: Rect,
    width: u16,
    title: &str,
    lines: Vec<Line>,
    top: u16,
    t: &Theme,
) {
    let r = centered(
        area,
        area.width.saturating_sub(4).min(width),
        area.height.saturating_sub(2),
    );
    f.render_widget(Clear, r);
    let b = Block::bordered().title(title).border_style(t.key());
    f.render_widget(
        Paragraph::new(lines)
            .block(b)
            .wrap(Wrap { trim: false })
            .scroll((top, 0)),
        r,
    );
}

pub fn detail(
    f: &mut Frame,
    area: Rect,
    item: &crate::procman::activity::Item,
    top: u16,
    t: &Theme,
) {
    let mut head = vec![Span::styled(
        item.label
            .clone()
            .unwrap_or_else(|| item.kind.label().into()),
        t.key(),
    )];
    if let Some(at) = &item.at {
        head.push(Span::styled(format!("  {at}"), t.dim()));
    }
    if let Some(p) = &item.project {
        head.push(Span::styled(
            format!("  {}", crate::logs::sanitize(p)),
            t.dim(),
        ));
    }
    let mut lines = vec![Line::from(head), Line::raw("")];
    let body = if item.text.is_empty() {
        item.title.as_str()
    } else {
        item.text.as_str()
    };
    lines.extend(body.lines().map(|l| Line::raw(crate::logs::sanitize(l))));
    let title = format!(" {} #{} · Esc closes ", item.kind.label(), item.id);
    reader(f, area, 100, &title, lines, top, t);
}
