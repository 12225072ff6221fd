//! The Processes panel: the census as a selectable list.

use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel;
use crate::app::model::{Focus, Model};
use crate::procman::census::{Class, Member};
use crate::procman::status::fmt_uptime;
use crate::ui::fit;
use crate::ui::theme::Theme;

/// Every claude-mem process of this data dir: workers with their helpers under them, then
/// orphans; the selected row (while focused) is what `K` stops.
pub fn processes(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let title = title(m, (area.width as usize).saturating_sub(4));
    let inner = panel(f, area, &title, m, Focus::Processes, t);
    let rows = m.proc_rows();
    if rows.is_empty() {
        let text = if m.census.is_none() {
            "looking…"
        } else {
            "no claude-mem process"
        };
        f.render_widget(Paragraph::new(Line::styled(text, t.dim())), inner);
        return;
    }
    let h = inner.height as usize;
    let sel = m.procs_sel.min(rows.len() - 1);
    // Keep the selection in view.
    let start = sel.saturating_sub(h.saturating_sub(1));
    let focused = m.focus == Focus::Processes;
    let pid_w = rows
        .iter()
        .map(|p| p.pid.to_string().len())
        .max()
        .unwrap_or(5);
    let lines: Vec<Line> = rows
        .iter()
        .enumerate()
        .skip(start)
        .take(h)
        .map(|(i, p)| {
            let (text, style) = row(p, pid_w, inner.width as usize, t);
            let style = if focused && i == sel {
                style.add_modifier(Modifier::REVERSED)
            } else {
                style
            };
            Line::styled(text, style)
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

/// The panel's title in `room` columns: `Processes`, or with the orphans counted when there are
/// some (`Processes (2 orphaned)`, shorter forms when narrow).
fn title(m: &Model, room: usize) -> String {
    match &m.census {
        Some(c) if c.orphans().next().is_some() => {
            let n = c.orphans().count();
            [
                format!("Processes ({n} orphaned)"),
                format!("Processes · {n} orphan"),
                format!("Procs · {n} orphan"),
            ]
            .into_iter()
            .find(|s| fit::width(s) <= room)
            .unwrap_or_else(|| format!("Procs ({n})"))
        }
        _ => "Processes".to_string(),
    }
}

/// A process's row in `w` columns and its style: PID (in `pid_w` columns), what it is, RSS and
/// age; on a narrow panel the age goes first, then the RSS.
fn row(p: &Member, pid_w: usize, w: usize, t: &Theme) -> (String, Style) {
    let (label, style) = match (p.class, p.kind) {
        (Class::Worker, _) => ("worker".to_string(), t.ok()),
        (Class::Helper, Some(k)) if p.worker.is_some() => {
            (format!("└ {}", k.label()), Style::default())
        }
        (Class::Helper, Some(k)) => (k.label().to_string(), Style::default()),
        (Class::OrphanedHelper, Some(k)) => (format!("orphan {}", k.label()), t.bad()),
        // Another descendant of the worker (no helper's shape): a plain child.
        (Class::Helper, None) => ("└ child".to_string(), t.dim()),
        (c, _) => (c.label().to_string(), t.warn()),
    };
    let age = p.age_seconds.map(fmt_uptime).unwrap_or_default();
    let with_rss = w >= pid_w + 1 + 8 + 1 + 7;
    let with_age = w >= pid_w + 1 + 17 + 1 + 7 + 1 + 7;
    let fixed = pid_w + 1 + if with_rss { 8 } else { 0 } + if with_age { 8 } else { 0 };
    let lw = w.saturating_sub(fixed).max(6);
    let label: String = label.chars().take(lw).collect();
    let mut text = format!("{:<pid_w$} {label:<lw$}", p.pid);
    if with_rss {
        text.push_str(&format!(" {:>7}", compact_bytes(p.rss_bytes)));
    }
    if with_age {
        text.push_str(&format!(" {age:>7}"));
    }
    (text, style)
}

/// A size in at most 7 columns, whole (`107.7 MB` would be cut to `107.7 M`): `512 B`, `93.5 MB`,
/// `108 MB`, `1023 MB`.
fn compact_bytes(n: u64) -> String {
    match crate::config::scaled_bytes(n) {
        (_, "B") => format!("{n} B"),
        (v, unit) if v < 100.0 => format!("{v:.1} {unit}"),
        (v, unit) => format!("{v:.0} {unit}"),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn compact_sizes_fit_seven_columns_whole() {
        for (n, want) in [
            (512u64, "512 B"),
            (98_050_000, "93.5 MB"),
            (112_930_000, "108 MB"),
            (1_073_000_000, "1023 MB"),
        ] {
            let got = super::compact_bytes(n);
            assert_eq!(got, want);
            assert!(got.len() <= 7, "{got}");
        }
    }
}
