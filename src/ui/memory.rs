//! The queue popup (`Q`): pending and processing messages oldest first, the stuck ones marked,
//! and the observer's and hooks' failures; the settings popup (`C`): every setting claude-mem
//! reads, its value (secrets masked by the core) and where it came from.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Line;
use ratatui::Frame;

use super::popup::reader;
use super::theme::Theme;
use crate::app::model::Model;
use crate::logs::sanitize;
use crate::procman::settings::Origin;
use crate::procman::status::fmt_uptime as fmt_age;

/// Milliseconds since the epoch → `5m 3s ago` against the model's clock.
fn ago(m: &Model, ms: Option<u64>) -> Option<String> {
    let now = m
        .now
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    ms.map(|t| format!("{} ago", fmt_age(now.saturating_sub(t) / 1000)))
}

pub fn queue(f: &mut Frame, area: Rect, m: &Model, top: u16, t: &Theme) {
    let mut lines: Vec<Line> = Vec::new();
    match &m.memory.queue {
        None => lines.push(Line::styled("reading the queue…", t.dim())),
        Some(Err(e)) => lines.push(Line::styled(sanitize(e), t.bad())),
        Some(Ok(q)) => {
            if !q.available {
                lines.push(Line::styled(
                    "no queue to read (no pending_messages table)",
                    t.dim(),
                ));
            } else {
                let mut head = format!("{} pending, {} processing", q.pending, q.processing);
                if let Some(a) = q.oldest_age_seconds {
                    head.push_str(&format!("; oldest {}", fmt_age(a)));
                }
                for (status, n) in &q.other {
                    head.push_str(&format!("; {n} {status}"));
                }
                if q.stuck > 0 {
                    head.push_str(&format!(
                        "; {} STUCK (waiting over {})",
                        q.stuck,
                        fmt_age(q.stall_after_seconds)
                    ));
                    lines.push(Line::styled(sanitize(&head), t.warn()));
                } else {
                    lines.push(Line::raw(sanitize(&head)));
                }
                if q.messages.is_empty() {
                    lines.push(Line::styled("nothing waiting", t.dim()));
                } else {
                    lines.push(Line::raw(""));
                    lines.push(Line::styled(
                        format!(
                            "{:>6}  {:<11} {:<10} {:<12} {:<16} {:>8}  SESSION",
                            "ID", "KIND", "STATUS", "TOOL", "PROJECT", "AGE"
                        ),
                        t.label(),
                    ));
                }
                for msg in &q.messages {
                    let project = msg.project.as_deref().or(msg.cwd.as_deref()).unwrap_or("-");
                    let row = format!(
                        "{:>6}  {:<11} {:<10} {:<12} {:<16} {:>8}  {}{}",
                        msg.id,
                        msg.kind.as_deref().unwrap_or("-"),
                        msg.status.as_deref().unwrap_or("-"),
                        msg.tool.as_deref().unwrap_or("-"),
                        project,
                        msg.age_seconds.map_or("?".into(), fmt_age),
                        msg.session.as_deref().unwrap_or("-"),
                        if msg.stuck { "  STUCK" } else { "" }
                    );
                    let style = if msg.stuck {
                        t.warn().add_modifier(Modifier::BOLD)
                    } else {
                        ratatui::style::Style::default()
                    };
                    lines.push(Line::styled(sanitize(&row), style));
                }
            }
            lines.push(Line::raw(""));
            match &q.observer {
                Some(o) if o.consecutive_failures > 0 => lines.push(Line::styled(
                    sanitize(&format!(
                        "observer: {} failures in a row{}; last error: {}",
                        o.consecutive_failures,
                        ago(m, o.failing_since_ms).map_or(String::new(), |a| format!(" since {a}")),
                        o.last_error_message.as_deref().unwrap_or("(no message)")
                    )),
                    t.warn(),
                )),
                Some(o) => lines.push(Line::raw(format!(
                    "observer: no failures{}",
                    ago(m, o.last_success_at_ms)
                        .map_or(String::new(), |a| format!(" (last success {a})"))
                ))),
                None => lines.push(Line::styled("observer: no observer-health.json", t.dim())),
            }
            match &q.hooks {
                Some(h) if h.consecutive_failures > 0 => lines.push(Line::styled(
                    format!(
                        "hooks: {} failures in a row (loud from {}){}",
                        h.consecutive_failures,
                        h.threshold,
                        ago(m, h.last_failure_at_ms)
                            .map_or(String::new(), |a| format!("; last {a}"))
                    ),
                    t.warn(),
                )),
                Some(_) => lines.push(Line::raw("hooks: no failures")),
                None => lines.push(Line::styled("hooks: no state/hook-failures.json", t.dim())),
            }
            for n in &q.notes {
                lines.push(Line::styled(sanitize(&format!("note: {n}")), t.dim()));
            }
            if q.stuck > 0 {
                lines.push(Line::styled(
                    "nothing here edits the queue: `claude-mem-top logs --level warn`, `claude-mem-top doctor`",
                    t.dim(),
                ));
            }
        }
    }
    let title = if m.memory.queue_loading && m.memory.queue.is_some() {
        " Queue · oldest first · reading… · Esc closes "
    } else {
        " Queue · oldest first · Esc closes "
    };
    reader(f, area, 110, title, lines, top, t);
}

pub fn settings(f: &mut Frame, area: Rect, m: &Model, top: u16, t: &Theme) {
    use crate::procman::settings::FileState;
    let mut lines: Vec<Line> = Vec::new();
    match &m.memory.settings {
        None => lines.push(Line::styled("resolving the settings…", t.dim())),
        Some(Err(e)) => lines.push(Line::styled(sanitize(e), t.bad())),
        Some(Ok(r)) => {
            lines.push(Line::raw(sanitize(&format!(
                "data dir {}",
                r.data_dir.display()
            ))));
            for fl in &r.files {
                let state = fl.state.describe();
                let style = if matches!(fl.state, FileState::Unusable(_)) {
                    t.warn()
                } else {
                    t.dim()
                };
                lines.push(Line::styled(
                    sanitize(&format!("file {}: {state}", fl.path.display())),
                    style,
                ));
            }
            lines.push(Line::raw(""));
            let kw = r.settings.iter().map(|s| s.key.len()).max().unwrap_or(3);
            let shown = |s: &crate::procman::settings::Setting| match s.value.as_deref() {
                None => "null".to_string(),
                Some("") => "\"\"".to_string(),
                Some(v) => v.to_string(),
            };
            let vw = r
                .settings
                .iter()
                .map(|s| shown(s).chars().count())
                .max()
                .unwrap_or(5)
                .clamp(5, 32);
            lines.push(Line::styled(
                format!("{:kw$}  {:vw$}  ORIGIN", "KEY", "VALUE"),
                t.label(),
            ));
            for s in &r.settings {
                let mut v = shown(s);
                if v.chars().count() > vw {
                    v = format!("{}…", v.chars().take(vw - 1).collect::<String>());
                }
                let mut row = format!("{:kw$}  {v:vw$}  {}", s.key, s.origin);
                if let Some(p) = &s.problem {
                    row.push_str(&format!("  ! {p}"));
                }
                let style = if s.problem.is_some() {
                    t.warn()
                } else if s.origin == Origin::Default {
                    t.dim()
                } else {
                    ratatui::style::Style::default()
                };
                lines.push(Line::styled(sanitize(&row), style));
            }
            let count = |f: fn(&Origin) -> bool| r.settings.iter().filter(|s| f(&s.origin)).count();
            lines.push(Line::raw(""));
            lines.push(Line::styled(
                format!(
                    "{} from the environment, {} from settings.json, {} defaults; {} problems",
                    count(|o| matches!(o, Origin::Env | Origin::Flag)),
                    count(|o| matches!(o, Origin::File(_))),
                    count(|o| matches!(o, Origin::Default)),
                    r.problems()
                ),
                t.dim(),
            ));
        }
    }
    let title = format!(
        " Settings · claude-mem {} · value and origin · Esc closes ",
        crate::procman::settings::RELEASE
    );
    reader(f, area, 130, &title, lines, top, t);
}
