//! The header and the small panels.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};
use ratatui::Frame;

use super::theme::Theme;
use super::{ago, spinner};
use crate::app::model::{Focus, Model};
use crate::app::msg::DbState;
use crate::config::fmt_bytes;
use crate::procman::status::fmt_uptime;

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

fn mark(ok: bool, t: &Theme) -> Span<'static> {
    if ok {
        Span::styled("✓", t.ok())
    } else {
        Span::styled("✗", t.bad())
    }
}

pub fn header(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let badge = m.badge();
    let mut l1 = vec![Span::styled(
        format!(" {} {badge} ", if badge == "RUNNING" { "●" } else { "○" }),
        t.badge(badge),
    )];
    if let Some(st) = &m.status {
        if let Some(pid) = st.pid {
            l1.push(Span::raw(format!("  PID {pid}")));
        }
        l1.push(Span::raw(format!("  port {}", st.port)));
        if let Some(u) = st.uptime_seconds {
            l1.push(Span::raw(format!("  up {}", fmt_uptime(u))));
        }
        if let Some(v) = m.api.as_ref().and_then(|a| a.version.as_ref()) {
            l1.push(Span::raw(format!("  v{}", crate::logs::sanitize(v))));
        }
        l1.push(Span::styled(
            format!("  layout {}", st.layout.label()),
            t.dim(),
        ));
    }
    if m.demo {
        l1.push(Span::styled(
            "  DEMO",
            t.warn().add_modifier(Modifier::BOLD),
        ));
    }
    if let Some(s) = &m.supervisor {
        let backoff = s
            .backoff_seconds
            .map(|b| format!(", backoff {b:.0}s"))
            .unwrap_or_default();
        l1.push(Span::styled(
            format!(
                "  supervised: {} ({} restarts{backoff})",
                s.state, s.restarts_total
            ),
            t.label(),
        ));
    } else if m.auto.on {
        let next = m
            .auto
            .next_at
            .map(|at| {
                format!(
                    ", next in {}s",
                    at.duration_since(m.now).unwrap_or_default().as_secs()
                )
            })
            .unwrap_or_default();
        l1.push(Span::styled(
            format!("  auto-restart on ({} restarts{next})", m.auto.restarts),
            t.label(),
        ));
    }
    if let Some(c) = &m.census {
        let orphans = c.orphans().count();
        let others = c
            .workers()
            .filter(|w| m.status.as_ref().and_then(|s| s.pid) != Some(w.pid))
            .count();
        if others > 0 {
            l1.push(Span::styled(
                format!(
                    "  {others} other worker{}",
                    if others == 1 { "" } else { "s" }
                ),
                t.warn(),
            ));
        }
        if orphans > 0 {
            l1.push(Span::styled(
                format!("  {orphans} orphan{}", if orphans == 1 { "" } else { "s" }),
                t.bad(),
            ));
        }
    }
    if let Some((a, _)) = m.action {
        l1.push(Span::styled(
            format!("  {} {}…", spinner(m.spinner), a.verb()),
            t.warn(),
        ));
    } else if let Some((_, text, ok)) = &m.result {
        l1.push(Span::raw("  "));
        l1.push(mark(*ok, t));
        l1.push(Span::styled(
            format!(" {text}"),
            if *ok { t.ok() } else { t.bad() },
        ));
    }
    let mut l2 = vec![
        Span::styled(" data ", t.label()),
        Span::raw(m.data_dir.display().to_string()),
    ];
    if let Some(st) = &m.status {
        match &st.pm2_migrated_at {
            Some(at) => l2.push(Span::raw(format!(
                "  PM2 migrated {}",
                at.chars().take(19).collect::<String>().replace('T', " ")
            ))),
            None => l2.push(Span::styled("  PM2 marker: none", t.dim())),
        }
        if let Some(w) = st.warnings.first() {
            l2.push(Span::styled(format!("  ⚠ {w}"), t.warn()));
        } else if let Some(r) = &st.reason {
            l2.push(Span::styled(format!("  {r}"), t.dim()));
        }
    }
    if let Some(v) = &m.installed_version {
        l2.push(Span::styled(format!("  claude-mem {v} installed"), t.dim()));
    }
    f.render_widget(Paragraph::new(vec![Line::from(l1), Line::from(l2)]), area);
}

pub fn health(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let inner = panel(f, area, "Health", m, Focus::Health, t);
    let mut lines = Vec::new();
    match &m.status {
        None => lines.push(Line::styled("checking…", t.dim())),
        Some(st) => {
            for c in &st.checks {
                let name = match c.name {
                    "pid_file" => "PID file",
                    "process" => "process ",
                    _ => "/health ",
                };
                let mut spans = vec![
                    mark(c.ok, t),
                    Span::raw(format!(" {name} ")),
                    Span::raw(crate::logs::sanitize(&c.detail)),
                ];
                if let Some(l) = c.latency_ms {
                    spans.push(Span::styled(format!("  {l:.2} ms"), t.dim()));
                }
                lines.push(Line::from(spans));
            }
            let fails = m.consecutive_failures;
            lines.push(Line::from(vec![
                Span::styled("failures ", t.label()),
                Span::styled(
                    format!("{fails} in a row"),
                    if fails > 0 { t.bad() } else { t.dim() },
                ),
            ]));
        }
    }
    let spark = lines_on_top(f, inner, lines);
    if spark.height > 0 {
        let data: Vec<u64> = m
            .latencies
            .iter()
            .rev()
            .take(inner.width as usize)
            .rev()
            .copied()
            .collect();
        f.render_widget(Sparkline::default().data(&data).style(t.ok()), spark);
    }
}

pub fn resources(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let inner = panel(f, area, "Resources", m, Focus::Resources, t);
    let Some(s) = &m.metrics else {
        let msg = if m.watched_pid.is_some() {
            "sampling…"
        } else {
            "no worker process"
        };
        f.render_widget(Paragraph::new(Line::styled(msg, t.dim())), inner);
        return;
    };
    let cpu = s
        .cpu_percent
        .map(|c| format!("{c:.1} %"))
        .unwrap_or_else(|| "…".into());
    let lines = vec![
        Line::from(vec![
            Span::styled("CPU ", t.label()),
            Span::raw(cpu),
            Span::styled("  RSS ", t.label()),
            Span::raw(fmt_bytes(s.rss_bytes)),
        ]),
        Line::from(vec![
            Span::styled("threads ", t.label()),
            Span::raw(s.threads.to_string()),
            Span::styled("  children ", t.label()),
            Span::raw(s.children.to_string()),
        ]),
    ];
    let below = lines_on_top(f, inner, lines);
    let rest = below.height;
    if rest > 0 {
        let w = inner.width as usize;
        let cpu: Vec<u64> = m.cpu_hist.iter().rev().take(w).rev().copied().collect();
        let rss: Vec<u64> = m.rss_hist.iter().rev().take(w).rev().copied().collect();
        let cpu_h = rest.div_ceil(2);
        f.render_widget(
            Sparkline::default().data(&cpu).style(t.warn()),
            Rect {
                height: cpu_h,
                ..below
            },
        );
        if rest > cpu_h {
            f.render_widget(
                Sparkline::default().data(&rss).style(t.label()),
                Rect {
                    y: below.y + cpu_h,
                    height: rest - cpu_h,
                    ..below
                },
            );
        }
    }
}

pub fn files(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let inner = panel(f, area, "Files", m, Focus::Files, t);
    let mut lines = Vec::new();
    for fi in &m.files {
        let fresh = m.file_changed.get(&fi.name).is_some_and(|when| {
            m.now
                .duration_since(*when)
                .map_or(true, |d| d.as_secs() < 3)
        });
        let name_style = if fresh { t.changed() } else { t.label() };
        let mut spans = vec![Span::styled(format!("{:<14}", fi.name), name_style)];
        if !fi.present {
            spans.push(Span::styled("absent", t.dim()));
        } else {
            let mut v = fi.value.clone();
            if let Some(sz) = fi.size {
                if !v.is_empty() {
                    v.push(' ');
                }
                v.push_str(&fmt_bytes(sz));
            }
            spans.push(Span::raw(v));
            if let Some(mt) = fi.mtime {
                spans.push(Span::styled(format!("  {}", ago(m.now, mt)), t.dim()));
            }
        }
        lines.push(Line::from(spans));
    }
    if lines.is_empty() {
        lines.push(Line::styled("reading…", t.dim()));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

pub fn database(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let inner = panel(f, area, "Database", m, Focus::Database, t);
    let mut lines = Vec::new();
    match &m.db {
        DbState::Loading => lines.push(Line::styled("reading…", t.dim())),
        DbState::Missing => lines.push(Line::styled("no database yet", t.dim())),
        DbState::Busy => lines.push(Line::styled(
            "busy (locked by a writer): retrying",
            t.warn(),
        )),
        DbState::Error(e) => lines.push(Line::styled(
            format!("unreadable: {}", crate::logs::sanitize(e)),
            t.bad(),
        )),
        DbState::Ok(s) => {
            let counts: Vec<String> = s.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            lines.push(Line::raw(counts.join(" · ")));
            if !s.pending.is_empty() {
                let p: Vec<String> = s
                    .pending
                    .iter()
                    .map(|(k, v)| format!("{} {v}", crate::logs::sanitize(k)))
                    .collect();
                lines.push(Line::from(vec![
                    Span::styled("queue ", t.label()),
                    Span::raw(p.join(" · ")),
                ]));
            }
            let mut sizes = vec![
                Span::styled("size ", t.label()),
                Span::raw(fmt_bytes(s.size)),
            ];
            sizes.push(Span::raw(format!(
                " + wal {}",
                s.wal_size.map(fmt_bytes).unwrap_or_else(|| "none".into())
            )));
            if let Some(v) = s.schema {
                sizes.push(Span::styled("  schema ", t.label()));
                sizes.push(Span::raw(v.to_string()));
            }
            lines.push(Line::from(sizes));
            if let Some(n) = &s.newest_observation {
                lines.push(Line::from(vec![
                    Span::styled("newest observation ", t.label()),
                    Span::raw(crate::logs::sanitize(n)),
                ]));
            }
        }
    }
    if let Some(a) = &m.api {
        let mut spans = vec![Span::styled("API ", t.label())];
        let mut parts = Vec::new();
        if let Some(q) = a.queue_depth {
            parts.push(format!("queue depth {q}"));
        }
        if let Some(p) = a.processing {
            parts.push(format!("processing {}", if p { "yes" } else { "no" }));
        }
        if let Some(p) = a.parked {
            parts.push(format!("parked {p}"));
        }
        if let Some(s) = a.active_sessions {
            parts.push(format!("sessions {s}"));
        }
        if let Some(s) = a.sse_clients {
            parts.push(format!("SSE {s}"));
        }
        if parts.is_empty() {
            parts.push("not available in this version".into());
        }
        spans.push(Span::raw(parts.join(" · ")));
        lines.push(Line::from(spans));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

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
            Line::from(vec![
                Span::styled(format!("{} ", clock(*when)), t.dim()),
                Span::styled(crate::logs::sanitize(text), style),
            ])
        })
        .collect();
    if lines.is_empty() {
        f.render_widget(Paragraph::new(Line::styled("nothing yet", t.dim())), inner);
    } else {
        f.render_widget(Paragraph::new(lines), inner);
    }
}

/// Every claude-mem process of this data dir: workers with their helpers under them, then
/// orphans; the selected row (while focused) is what `K` stops.
pub fn processes(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    use crate::procman::census::Class;
    let title = match &m.census {
        Some(c) if c.orphans().next().is_some() => {
            format!("Processes ({} orphaned)", c.orphans().count())
        }
        _ => "Processes".to_string(),
    };
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
            let (label, style) = match (p.class, p.kind) {
                (Class::Worker, _) => ("worker".to_string(), t.ok()),
                (Class::Helper, Some(k)) if p.worker.is_some() => {
                    (format!("└ {}", k.label()), ratatui::style::Style::default())
                }
                (Class::Helper, Some(k)) => {
                    (k.label().to_string(), ratatui::style::Style::default())
                }
                (Class::OrphanedHelper, Some(k)) => (format!("orphan {}", k.label()), t.bad()),
                (c, _) => (c.label().to_string(), t.warn()),
            };
            // PID, what, RSS, age; on a narrow panel the age goes first, then the RSS.
            let w = inner.width as usize;
            let age = p.age_seconds.map(fmt_uptime).unwrap_or_default();
            let with_rss = w >= pid_w + 1 + 8 + 1 + 7;
            let with_age = w >= pid_w + 1 + 17 + 1 + 7 + 1 + 7;
            let fixed = pid_w + 1 + if with_rss { 8 } else { 0 } + if with_age { 8 } else { 0 };
            let lw = w.saturating_sub(fixed).max(6);
            let label: String = label.chars().take(lw).collect();
            let mut text = format!("{:<pid_w$} {label:<lw$}", p.pid);
            if with_rss {
                text.push_str(&format!(" {:>7}", fmt_bytes(p.rss_bytes)));
            }
            if with_age {
                text.push_str(&format!(" {age:>7}"));
            }
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
