//! The History popup (`H`): the worker's runs from its logs, newest first; Enter shows the
//! selected run's last log lines.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::Frame;

use super::popup::reader;
use super::theme::Theme;
use crate::app::history::runs_newest_first;
use crate::app::model::Model;
use crate::procman::history::{End, Run};
use crate::procman::status::fmt_uptime;

fn end_style(e: End, t: &Theme) -> ratatui::style::Style {
    match e {
        End::Clean => t.ok(),
        End::Running => t.key(),
        End::Unclean => t.bad(),
        End::Replaced => t.warn(),
    }
}

fn row(r: &Run) -> String {
    let ended = match (r.end, r.ended) {
        (End::Running, _) => "-".to_string(),
        (_, Some(t)) => t.format("%m-%d %H:%M:%S").to_string(),
        (_, None) => "?".to_string(),
    };
    let cause = r.cause.as_ref().map(|c| c.to_string()).unwrap_or_default();
    crate::logs::sanitize(&format!(
        "{:<8} {:<8} {:<14}  {:<14}  {:>7}  {:<8} {}",
        r.pid,
        r.version.as_deref().unwrap_or("?"),
        r.started.format("%m-%d %H:%M:%S"),
        ended,
        r.uptime_seconds.map_or("?".into(), fmt_uptime),
        r.end.label(),
        cause
    ))
}

pub fn draw(f: &mut Frame, area: Rect, m: &Model, sel: usize, open: bool, top: u16, t: &Theme) {
    let runs = runs_newest_first(m);
    let mut lines: Vec<Line> = Vec::new();
    match &m.history.read {
        None => lines.push(Line::styled("reading the logs…", t.dim())),
        Some(Err(e)) => lines.push(Line::styled(crate::logs::sanitize(e), t.warn())),
        Some(Ok(_)) if runs.is_empty() => {
            lines.push(Line::styled("no worker start in the logs", t.dim()))
        }
        Some(Ok(h)) if !open => {
            lines.push(Line::styled(
                format!(
                    "{:<8} {:<8} {:<14}  {:<14}  {:>7}  {:<8} CAUSE",
                    "PID", "VERSION", "STARTED", "ENDED", "UPTIME", "END"
                ),
                t.label(),
            ));
            for (i, r) in runs.iter().enumerate() {
                let mut style = end_style(r.end, t);
                if i == sel {
                    style = style.add_modifier(Modifier::REVERSED);
                }
                lines.push(Line::styled(row(r), style));
            }
            let s = &h.summary;
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!(
                    "{} runs: {} clean, {} unclean, {} replaced; {} restarts a day{}",
                    s.runs,
                    s.clean,
                    s.unclean,
                    s.replaced,
                    s.restarts_per_day,
                    s.longest
                        .as_ref()
                        .map(|l| format!("; longest uptime {}", fmt_uptime(l.uptime_seconds)))
                        .unwrap_or_default()
                ),
                t.dim(),
            ));
            for fl in &h.flapping {
                lines.push(Line::styled(
                    crate::logs::sanitize(&format!(
                        "FLAPPING: {} starts {}–{}: {}",
                        fl.starts,
                        fl.from.format("%m-%d %H:%M"),
                        fl.to.format("%H:%M"),
                        fl.cause.as_deref().unwrap_or("the log names no cause")
                    )),
                    t.warn(),
                ));
            }
        }
        Some(Ok(_)) => {
            if let Some(r) = runs.get(sel) {
                lines.push(Line::styled(
                    crate::logs::sanitize(&format!("PID {}: {}", r.pid, r.brief())),
                    end_style(r.end, t),
                ));
                if let Some(l) = &r.log {
                    lines.push(Line::styled(
                        crate::logs::sanitize(&format!("log: {}", l.display())),
                        t.dim(),
                    ));
                }
                lines.push(Line::raw(""));
                if r.last_lines.is_empty() {
                    let why = match r.end {
                        End::Running => "it is running: the Logs panel follows it",
                        _ => "no last lines are kept for an end that was logged",
                    };
                    lines.push(Line::styled(why, t.dim()));
                } else {
                    lines.push(Line::styled("its last lines in the log:", t.label()));
                    for l in &r.last_lines {
                        lines.push(Line::raw(crate::logs::sanitize(l)));
                    }
                }
            }
        }
    }
    let (title, scroll) = if open {
        (" History · a run · Esc back ", top)
    } else {
        // Keep the selected row in view.
        let room = area.height.saturating_sub(6) as usize;
        let scroll = (sel + 2).saturating_sub(room) as u16;
        (
            " History · the worker's runs from its logs, newest first · Enter last lines · Esc closes ",
            scroll,
        )
    };
    reader(f, area, 110, title, lines, scroll, t);
}
