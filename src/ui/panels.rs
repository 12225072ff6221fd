//! The header and the small panels.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Sparkline};
use ratatui::Frame;

use super::fit;
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
    let w = area.width as usize;
    let badge = m.badge();
    // Below 60 columns the must-stay facts take their short forms: `PID 4242 :37777 up 2h`.
    let narrow = w < 60;
    let mut l1: Vec<(u8, Vec<Span<'static>>)> = vec![(
        0,
        vec![Span::styled(
            format!(" {} {badge} ", if badge == "RUNNING" { "●" } else { "○" }),
            t.badge(badge),
        )],
    )];
    // DEGRADED / STALLED / FLAPPING stay on screen at every width, next to the state.
    for b in m
        .status
        .iter()
        .flat_map(|st| st.pipeline.iter())
        .flat_map(|p| p.badge_labels())
    {
        l1.push((
            0,
            vec![Span::raw(" "), Span::styled(format!(" {b} "), t.badge(b))],
        ));
    }
    if let Some(st) = &m.status {
        if let Some(pid) = st.pid() {
            l1.push((
                0,
                vec![Span::raw(format!(
                    " {}PID {pid}",
                    if narrow { "" } else { " " }
                ))],
            ));
        }
        l1.push((
            0,
            vec![Span::raw(if narrow {
                format!(" :{}", st.port)
            } else {
                format!("  port {}", st.port)
            })],
        ));
        if let Some(u) = st.uptime_seconds() {
            let sep = if narrow { " " } else { "  " };
            l1.push((0, vec![Span::raw(format!("{sep}up {}", fmt_uptime(u)))]));
        }
        if let Some(v) = m.api.as_ref().and_then(|a| a.version.as_ref()) {
            let mut spans = vec![Span::raw(format!("  v{}", crate::logs::sanitize(v)))];
            // The installed plugin next to it, when it differs: the hooks kill such a worker.
            let installed = st
                .pipeline
                .as_ref()
                .and_then(|p| p.versions.installed.as_ref())
                .filter(|i| i.trim_start_matches('v') != v.trim_start_matches('v'));
            if let Some(i) = installed {
                spans.push(Span::styled(
                    format!(" ≠ installed {}", crate::logs::sanitize(i)),
                    t.warn(),
                ));
            }
            l1.push((4, spans));
        }
        l1.push((
            5,
            vec![Span::styled(
                format!("  layout {}", st.layout.label()),
                t.dim(),
            )],
        ));
    }
    if m.demo {
        l1.push((
            1,
            vec![Span::styled(
                "  DEMO",
                t.warn().add_modifier(Modifier::BOLD),
            )],
        ));
    }
    if let Some(s) = &m.supervisor {
        let backoff = s
            .backoff_seconds
            .map(|b| format!(", backoff {b:.0}s"))
            .unwrap_or_default();
        l1.push((
            2,
            vec![Span::styled(
                format!(
                    "  supervised: {} ({} restarts{backoff})",
                    s.state, s.restarts_total
                ),
                t.label(),
            )],
        ));
    } else if let Some(why) = &m.auto.fatal {
        l1.push((2, vec![Span::styled(format!("  {why}"), t.bad())]));
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
        l1.push((
            2,
            vec![Span::styled(
                format!("  auto-restart on ({} restarts{next})", m.auto.restarts),
                t.label(),
            )],
        ));
    }
    if let Some(c) = &m.census {
        let orphans = c.orphans().count();
        let others = c
            .workers()
            .filter(|w| m.status.as_ref().and_then(|s| s.pid()) != Some(w.pid))
            .count();
        if others > 0 {
            l1.push((
                3,
                vec![Span::styled(
                    format!(
                        "  {others} other worker{}",
                        if others == 1 { "" } else { "s" }
                    ),
                    t.warn(),
                )],
            ));
        }
        if orphans > 0 {
            l1.push((
                3,
                vec![Span::styled(
                    format!("  {orphans} orphan{}", if orphans == 1 { "" } else { "s" }),
                    t.bad(),
                )],
            ));
        }
    }
    // The result of the last action is kept and cut with `…` rather than dropped.
    if let Some((a, _)) = m.action {
        l1.push((
            0,
            vec![Span::styled(
                format!("  {} {}…", spinner(m.spinner), a.verb()),
                t.warn(),
            )],
        ));
    } else if let Some((_, text, ok)) = &m.result {
        l1.push((
            0,
            vec![
                Span::raw("  "),
                mark(*ok, t),
                Span::styled(format!(" {text}"), if *ok { t.ok() } else { t.bad() }),
            ],
        ));
    }
    let mut l2: Vec<(u8, Vec<Span<'static>>)> = Vec::new();
    if let Some(st) = &m.status {
        match &st.pm2_migrated_at {
            Some(at) => l2.push((
                3,
                vec![Span::raw(format!(
                    "  PM2 migrated {}",
                    at.chars().take(19).collect::<String>().replace('T', " ")
                ))],
            )),
            None => l2.push((3, vec![Span::styled("  PM2 marker: none", t.dim())])),
        }
        if let Some(w) = st.warnings.first() {
            l2.push((1, vec![Span::styled(format!("  ⚠ {w}"), t.warn())]));
        } else if let Some(r) = &st.reason() {
            l2.push((2, vec![Span::styled(format!("  {r}"), t.dim())]));
        }
    }
    if let Some(v) = &m.installed_version {
        l2.push((
            4,
            vec![Span::styled(format!("  claude-mem {v} installed"), t.dim())],
        ));
    }
    // The data dir takes what the other facts leave (at least 24 columns), shortened in the
    // middle.
    let data = m.data_dir.display().to_string();
    let others = |l: &[(u8, Vec<Span<'static>>)]| {
        l.iter()
            .flat_map(|(_, s)| s.iter())
            .map(Span::width)
            .sum::<usize>()
    };
    let mut kept = l2.clone();
    while 6 + fit::width(&data) + others(&kept) > w {
        let Some(worst) = kept.iter().map(|(p, _)| *p).max() else {
            break;
        };
        if worst <= 1 || 6 + 24 + others(&kept) <= w {
            break;
        }
        if let Some(i) = kept.iter().rposition(|(p, _)| *p == worst) {
            kept.remove(i);
        }
    }
    let room = w
        .saturating_sub(6 + others(&kept))
        .max(24.min(w.saturating_sub(6)));
    let mut line2 = vec![(
        0,
        vec![
            Span::styled(" data ", t.label()),
            Span::raw(fit::middle(&data, room)),
        ],
    )];
    line2.extend(kept);
    f.render_widget(
        Paragraph::new(vec![fit::pack(w, l1), fit::pack(w, line2)]),
        area,
    );
}

/// `45 s`, `3 min`, `2 h`: how much time `n` samples `interval` apart cover.
fn span_of(n: usize, interval: std::time::Duration) -> String {
    let s = (interval.as_secs_f64() * n as f64).round() as u64;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// A chart's title line: `CPU 1.0 % · max 3.2 % · 2 min`, shortened to fit.
fn chart_title(w: usize, name: &str, now: &str, max: &str, span: &str, t: &Theme) -> Line<'static> {
    let l = |s: &str| Span::styled(s.to_string(), t.label());
    let v = |s: &str| Span::raw(s.to_string());
    let d = |s: String| Span::styled(s, t.dim());
    fit::first_fit(
        w,
        vec![
            Line::from(vec![
                l(name),
                v(&format!(" {now}")),
                d(format!(" · max {max} · {span}")),
            ]),
            Line::from(vec![
                l(name),
                v(&format!(" {now}")),
                d(format!(" · max {max}")),
            ]),
            Line::from(vec![l(name), v(&format!(" {now}")), d(format!(" ↑{max}"))]),
            Line::from(vec![l(name), v(&format!(" {now}"))]),
        ],
    )
}

/// A title line and a sparkline under it, in `area` (the chart only when there are 2+ rows).
fn chart(
    f: &mut Frame,
    area: Rect,
    title: Line<'static>,
    data: &[u64],
    style: ratatui::style::Style,
) {
    if area.height == 0 {
        return;
    }
    f.render_widget(Paragraph::new(title), Rect { height: 1, ..area });
    if area.height > 1 {
        let w = area.width as usize;
        let tail: Vec<u64> = data.iter().rev().take(w).rev().copied().collect();
        f.render_widget(
            Sparkline::default().data(&tail).style(style),
            Rect {
                y: area.y + 1,
                height: area.height - 1,
                ..area
            },
        );
    }
}

pub fn health(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let inner = panel(f, area, "Health", m, Focus::Health, t);
    let w = inner.width as usize;
    let mut lines = Vec::new();
    match &m.status {
        None => lines.push(Line::styled("checking…", t.dim())),
        Some(st) => {
            // What /health does not say comes first: the checks are all ✓ when it matters.
            if let Some(p) = &st.pipeline {
                // The fixes too when they leave room for the checks; `status` and doctor always
                // print them.
                let with_fix = p.findings.len() * 2 + st.checks.len() <= inner.height as usize;
                for fnd in &p.findings {
                    let label = if fnd.signal.badge() {
                        fnd.signal.label()
                    } else {
                        "WARNING"
                    };
                    let style = if fnd.signal == crate::procman::pipeline::Signal::Flapping {
                        t.bad()
                    } else {
                        t.warn()
                    };
                    lines.push(fit::ellipsize(
                        Line::from(vec![
                            Span::styled(format!("⚠ {label} "), style.add_modifier(Modifier::BOLD)),
                            Span::raw(crate::logs::sanitize(&fnd.reason)),
                        ]),
                        w,
                    ));
                    if !with_fix {
                        continue;
                    }
                    lines.push(fit::ellipsize(
                        Line::from(vec![
                            Span::styled("  fix ", t.label()),
                            Span::styled(crate::logs::sanitize(&fnd.fix), t.dim()),
                        ]),
                        w,
                    ));
                }
            }
            for c in &st.checks {
                let (name, short) = (c.name.label(), c.name.short());
                let detail = crate::logs::sanitize(&c.detail);
                // `.worker.pid: PID 4242` → `PID 4242`; `PID 4242 alive (bun)` → `PID 4242 alive`.
                let shorter = detail
                    .split_once(": ")
                    .map(|(_, r)| r.to_string())
                    .unwrap_or_else(|| detail.clone());
                let shortest = shorter
                    .split_once(" (")
                    .map(|(l, _)| l.to_string())
                    .unwrap_or_else(|| shorter.clone());
                let row = |name: &str, d: &str, lat: bool| {
                    let mut spans = vec![mark(c.ok, t), Span::raw(format!(" {name} {d}"))];
                    if let (true, Some(l)) = (lat, c.latency_ms) {
                        spans.push(Span::styled(format!("  {l:.2} ms"), t.dim()));
                    }
                    Line::from(spans)
                };
                lines.push(fit::first_fit(
                    w,
                    vec![
                        row(name, &detail, true),
                        row(short, &detail, true),
                        row(short, &shorter, true),
                        row(short, &shortest, true),
                        row(short, &shortest, false),
                    ],
                ));
            }
            let fails = m.consecutive_failures;
            // Failures in a row count a running worker's probes: with none running there is
            // nothing to count (a refused /health is the worker being gone, shown above).
            let counts = matches!(
                st.state(),
                crate::procman::status::State::Running | crate::procman::status::State::Unhealthy
            );
            if counts && (fails > 0 || inner.height as usize > st.checks.len() + 2) {
                lines.push(fit::first_fit(
                    w,
                    vec![
                        Line::from(vec![
                            Span::styled("failures ", t.label()),
                            Span::styled(
                                format!("{fails} in a row"),
                                if fails > 0 { t.bad() } else { t.dim() },
                            ),
                        ]),
                        Line::from(vec![
                            Span::styled("fails ", t.label()),
                            Span::styled(
                                fails.to_string(),
                                if fails > 0 { t.bad() } else { t.dim() },
                            ),
                        ]),
                    ],
                ));
            }
        }
    }
    let rest = lines_on_top(f, inner, lines);
    if rest.height > 0 && !m.latencies.is_empty() {
        let ms = |us: u64| format!("{:.2} ms", us as f64 / 1000.0);
        let now = m.latencies.back().map_or("…".to_string(), |&u| {
            if u == 0 {
                "failed".to_string()
            } else {
                ms(u)
            }
        });
        let max = ms(m.latencies.iter().copied().max().unwrap_or(0));
        let title = chart_title(
            w,
            "latency",
            &now,
            &max,
            &span_of(m.latencies.len(), m.interval),
            t,
        );
        let data: Vec<u64> = m.latencies.iter().copied().collect();
        chart(f, rest, title, &data, t.ok());
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
    let w = inner.width as usize;
    let span = span_of(m.cpu_hist.len().max(m.rss_hist.len()), m.interval);
    let cpu_now = s
        .cpu_percent
        .map(|c| format!("{c:.1} %"))
        .unwrap_or_else(|| "…".into());
    let cpu_max = format!(
        "{:.1} %",
        m.cpu_hist.iter().copied().max().unwrap_or(0) as f64 / 10.0
    );
    let rss_now = fmt_bytes(s.rss_bytes);
    let rss_max = fmt_bytes(m.rss_hist.iter().copied().max().unwrap_or(0) * 1024);
    let cpu_title = chart_title(w, "CPU", &cpu_now, &cpu_max, &span, t);
    let rss_title = chart_title(w, "RSS", &rss_now, &rss_max, &span, t);
    let extra = Line::from(vec![
        Span::styled("threads ", t.label()),
        Span::raw(s.threads.to_string()),
        Span::styled("  children ", t.label()),
        Span::raw(s.children.to_string()),
    ]);
    let h = inner.height;
    // Two charts (title + sparkline each); threads and children only with room to spare.
    let (charts_h, extra_row) = if h >= 7 { (h - 1, true) } else { (h, false) };
    let cpu_h = charts_h.div_ceil(2);
    chart(
        f,
        Rect {
            height: cpu_h,
            ..inner
        },
        cpu_title,
        &m.cpu_hist.iter().copied().collect::<Vec<_>>(),
        t.warn(),
    );
    chart(
        f,
        Rect {
            y: inner.y + cpu_h,
            height: charts_h - cpu_h,
            ..inner
        },
        rss_title,
        &m.rss_hist.iter().copied().collect::<Vec<_>>(),
        t.label(),
    );
    if extra_row {
        f.render_widget(
            Paragraph::new(fit::ellipsize(extra, w)),
            Rect {
                y: inner.y + charts_h,
                height: 1,
                ..inner
            },
        );
    }
}

fn short_file_name(name: &str) -> String {
    match name {
        ".worker.pid" => "pid".into(),
        // 13.x's JSON PID file; "worke" said nothing.
        "worker.pid" => "w.pid".into(),
        ".worker.port" => "port".into(),
        ".pm2-migrated" => "pm2".into(),
        "claude-mem.db" => "db".into(),
        n => n.chars().take(5).collect(),
    }
}

pub fn files(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let inner = panel(f, area, "Files", m, Focus::Files, t);
    let w = inner.width as usize;
    let mut lines = Vec::new();
    for fi in &m.files {
        let fresh = m.file_changed.get(&fi.name).is_some_and(|when| {
            m.now
                .duration_since(*when)
                .map_or(true, |d| d.as_secs() < 3)
        });
        let name_style = if fresh { t.changed() } else { t.label() };
        let short = short_file_name(&fi.name);
        let row = |name: String, value: Option<String>, age: bool| {
            let mut spans = vec![Span::styled(name, name_style)];
            match &value {
                None => spans.push(Span::styled("absent", t.dim())),
                Some(v) => {
                    spans.push(Span::raw(v.clone()));
                    if let (true, Some(mt)) = (age, fi.mtime) {
                        spans.push(Span::styled(format!("  {}", ago(m.now, mt)), t.dim()));
                    }
                }
            }
            Line::from(spans)
        };
        let text = fi.present.then(|| crate::logs::sanitize(&fi.value));
        let size = fi.size.map(fmt_bytes);
        let join = |t: &str| match (&size, t.is_empty()) {
            (Some(sz), true) => sz.clone(),
            (Some(sz), false) => format!("{t} {sz}"),
            (None, _) => t.to_string(),
        };
        let value = text.as_deref().map(join);
        // A date-time value (`2025-12-13 00:18:39`) shortens to its date.
        let dated = text
            .as_deref()
            .filter(|t| {
                let b = t.as_bytes();
                b.len() >= 10 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
            })
            .map(|t| join(t.split(' ').next().unwrap_or(t)));
        // Label first, then a shorter value, then the age; numbers stay whole (only the name
        // part of a value is shortened, in the middle).
        let short_col = format!("{short:<5} ");
        let size_w = size.as_ref().map_or(0, |s| s.len() + 1);
        let room = w.saturating_sub(short_col.len() + size_w);
        let squeezed = text.as_deref().map(|t| join(&fit::middle(t, room)));
        let mut cands = vec![
            row(format!("{:<14}", fi.name), value.clone(), true),
            row(format!("{} ", fi.name), value.clone(), true),
            row(short_col.clone(), value.clone(), true),
        ];
        if dated.is_some() {
            cands.push(row(short_col.clone(), dated.clone(), true));
        }
        cands.push(row(short_col.clone(), value.clone(), false));
        // A value of fields (`pid 28635, port 37700, token 1570186`) drops whole fields from
        // its end before anything is cut: a number is shown whole or not at all.
        if let Some(t) = text.as_deref().filter(|t| t.contains(", ")) {
            let fields: Vec<&str> = t.split(", ").collect();
            for k in (1..fields.len()).rev() {
                cands.push(row(
                    short_col.clone(),
                    Some(join(&fields[..k].join(", "))),
                    false,
                ));
            }
        }
        cands.push(row(short_col.clone(), squeezed, false));
        lines.push(fit::first_fit(w, cands));
    }
    if lines.is_empty() {
        lines.push(Line::styled("reading…", t.dim()));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// `label value` facts packed into at most `rows` lines of `w` columns joined by ` · `: full
/// labels if they fit, else short ones, else the last facts dropped (`…` says so).
fn flow(
    w: usize,
    rows: usize,
    facts: &[(String, String, String)],
    t: &Theme,
) -> Vec<Line<'static>> {
    // `short`: None = each fact's full label where it fits, else its short one; Some(true) =
    // short labels throughout.
    let build = |short: bool, n: usize| -> Option<Vec<Line<'static>>> {
        let mut out: Vec<Vec<Span<'static>>> = vec![Vec::new()];
        let mut used = 0usize;
        for (i, (full, sh, v)) in facts.iter().take(n).enumerate() {
            let more = if i + 1 == n && n < facts.len() {
                " …"
            } else {
                ""
            };
            let text = |label: &str| format!("{label} {v}{more}");
            let labels: Vec<&String> = if short { vec![sh] } else { vec![full, sh] };
            let sep = if used == 0 { 0 } else { 3 };
            // On this row with the longest label that fits, else on a new row.
            let here = labels
                .iter()
                .find(|l| used + sep + fit::width(&text(l)) <= w)
                .copied();
            let label = match here {
                Some(l) => {
                    if sep > 0 {
                        if let Some(row) = out.last_mut() {
                            row.push(Span::styled(" · ", t.dim()));
                        }
                        used += sep;
                    }
                    l
                }
                None => {
                    let l = labels.iter().find(|l| fit::width(&text(l)) <= w).copied()?;
                    if out.len() == rows {
                        return None;
                    }
                    out.push(Vec::new());
                    used = 0;
                    l
                }
            };
            if let Some(row) = out.last_mut() {
                row.push(Span::styled(format!("{label} "), t.label()));
                row.push(Span::raw(format!("{v}{more}")));
            }
            used += fit::width(&text(label));
        }
        Some(out.into_iter().map(Line::from).collect())
    };
    for n in (1..=facts.len()).rev() {
        for short in [false, true] {
            if let Some(l) = build(short, n) {
                return l;
            }
        }
    }
    vec![Line::raw("…")]
}

fn short_count(name: &str) -> String {
    match name {
        "observations" => "obs".into(),
        "sessions" => "sess".into(),
        "summaries" => "sum".into(),
        "prompts" => "prm".into(),
        "pending" => "pend".into(),
        "processed" => "done".into(),
        "failed" => "fail".into(),
        n => n.chars().take(4).collect(),
    }
}

pub fn database(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let inner = panel(f, area, "Database", m, Focus::Database, t);
    let w = inner.width as usize;
    let h = inner.height as usize;
    let mut lines = Vec::new();
    match &m.db {
        DbState::Loading => lines.push(Line::styled("reading…", t.dim())),
        DbState::Missing => lines.push(Line::styled("no database yet", t.dim())),
        DbState::Busy => lines.push(Line::styled(
            "busy (locked by a writer): retrying",
            t.warn(),
        )),
        DbState::Error(e) => {
            // The whole reason, wrapped over the panel's rows (cut, it lost its point).
            let text = Line::styled(format!("unreadable: {}", crate::logs::sanitize(e)), t.bad());
            let p = Paragraph::new(text).wrap(ratatui::widgets::Wrap { trim: true });
            f.render_widget(p, inner);
            return;
        }
        DbState::Ok(s) => {
            let counts: Vec<(String, String, String)> = s
                .counts
                .iter()
                .map(|(k, v)| (k.clone(), short_count(k), v.to_string()))
                .collect();
            // The counts take two rows when the panel has three or more, three when the other
            // lines leave room.
            let others = usize::from(!s.pending.is_empty())
                + 1
                + usize::from(s.newest_observation.is_some())
                + usize::from(m.api.is_some());
            let count_rows = h
                .saturating_sub(others)
                .clamp(if h >= 3 { 2 } else { 1 }, 3);
            lines.extend(flow(w, count_rows, &counts, t));
            if !s.pending.is_empty() {
                let p: Vec<(String, String, String)> = s
                    .pending
                    .iter()
                    .map(|(k, v)| {
                        let k = crate::logs::sanitize(k);
                        (k.clone(), short_count(&k), v.to_string())
                    })
                    .collect();
                let mut q = flow(w.saturating_sub(6), 1, &p, t);
                let mut spans = vec![Span::styled("queue ", t.label())];
                spans.extend(q.remove(0).spans);
                lines.push(Line::from(spans));
            }
            let wal = s.wal_size.map(fmt_bytes).unwrap_or_else(|| "none".into());
            let schema = s.schema.map(|v| v.to_string());
            let size_line = |wal_label: &str, schema_label: Option<&str>| {
                let mut sizes = vec![
                    Span::styled("size ", t.label()),
                    Span::raw(fmt_bytes(s.size)),
                    Span::raw(format!(" + {wal_label}{wal}")),
                ];
                if let (Some(v), Some(l)) = (&schema, schema_label) {
                    sizes.push(Span::styled(format!("  {l}"), t.label()));
                    sizes.push(Span::raw(v.clone()));
                }
                Line::from(sizes)
            };
            lines.push(fit::first_fit(
                w,
                vec![
                    size_line("wal ", Some("schema ")),
                    size_line("wal ", None),
                    size_line("", None),
                ],
            ));
            if let Some(n) = &s.newest_observation {
                lines.push(fit::ellipsize(
                    Line::from(vec![
                        Span::styled("newest observation ", t.label()),
                        Span::raw(crate::logs::sanitize(n)),
                    ]),
                    w,
                ));
            }
        }
    }
    if let Some(a) = &m.api {
        let mut parts = Vec::new();
        if let Some(q) = a.queue_depth {
            parts.push((
                "queue depth".to_string(),
                "queue".to_string(),
                q.to_string(),
            ));
        }
        if let Some(p) = a.processing {
            parts.push((
                "processing".into(),
                "proc".into(),
                if p { "yes" } else { "no" }.into(),
            ));
        }
        if let Some(p) = a.parked {
            parts.push(("parked".into(), "park".into(), p.to_string()));
        }
        if let Some(s) = a.active_sessions {
            parts.push(("sessions".into(), "sess".into(), s.to_string()));
        }
        if let Some(s) = a.sse_clients {
            parts.push(("SSE".into(), "SSE".into(), s.to_string()));
        }
        let mut spans = vec![Span::styled("API ", t.label())];
        if parts.is_empty() {
            spans.push(Span::raw("not available in this version"));
        } else {
            spans.extend(flow(w.saturating_sub(4), 1, &parts, t).remove(0).spans);
        }
        lines.push(fit::ellipsize(Line::from(spans), w));
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
            fit::ellipsize(
                Line::from(vec![
                    Span::styled(format!("{} ", clock(*when)), t.dim()),
                    Span::styled(crate::logs::sanitize(text), style),
                ]),
                inner.width as usize,
            )
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
    let room = (area.width as usize).saturating_sub(4);
    let title = match &m.census {
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
                // Another descendant of the worker (no helper's shape): a plain child.
                (Class::Helper, None) => ("└ child".to_string(), t.dim()),
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
                text.push_str(&format!(" {:>7}", compact_bytes(p.rss_bytes)));
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

/// A size in at most 7 columns, whole (`107.7 MB` would be cut to `107.7 M`): `512 B`, `93.5 MB`,
/// `108 MB`, `1023 MB`.
fn compact_bytes(n: u64) -> String {
    match crate::config::scaled_bytes(n) {
        (_, "B") => format!("{n} B"),
        (v, unit) if v < 100.0 => format!("{v:.1} {unit}"),
        (v, unit) => format!("{v:.0} {unit}"),
    }
}

/// What the worker just stored, newest first: time, kind (an observation's type), title and
/// project; the selected row (while focused) is what Enter opens.
pub fn activity(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let live = if m.stream.connected.is_some() {
        " · live"
    } else {
        ""
    };
    // A memory search (`/` in Activity) shows its results here until Esc.
    let (items, sel, title): (Vec<&crate::procman::activity::Item>, usize, String) =
        match &m.memory.results {
            Some(r) => {
                let q = crate::logs::sanitize(&r.query);
                let title = match &r.found {
                    None => format!("Search \"{q}\" · searching…"),
                    Some(Err(_)) => format!("Search \"{q}\" · failed · Esc live"),
                    Some(Ok(found)) => format!(
                        "Search \"{q}\" ({}) · {} · Esc live",
                        found.hits.len(),
                        match found.via {
                            Some(crate::procman::search::Via::Worker) => "worker",
                            Some(crate::procman::search::Via::Fts5) => "FTS5",
                            Some(crate::procman::search::Via::Like) => "LIKE",
                            None => "-",
                        }
                    ),
                };
                (r.items(), r.sel, title)
            }
            None => {
                let title = match m.activity.len() {
                    0 => format!("Activity{live}"),
                    n if n >= crate::app::model::ACTIVITY_CAP => {
                        format!("Activity ({n}+){live}")
                    }
                    n => format!("Activity ({n}){live}"),
                };
                (m.activity.iter().collect(), m.activity_sel, title)
            }
        };
    let inner = panel(f, area, &title, m, Focus::Activity, t);
    if items.is_empty() {
        let text = match (&m.memory.results, &m.db) {
            (Some(r), _) => match &r.found {
                None => "searching…".to_string(),
                Some(Err(e)) => crate::logs::sanitize(e),
                Some(Ok(_)) => format!("no memories match \"{}\"", crate::logs::sanitize(&r.query)),
            },
            (None, crate::app::msg::DbState::Missing) => "no database yet".into(),
            (None, _) => "nothing stored yet".into(),
        };
        f.render_widget(
            Paragraph::new(Line::styled(text, t.dim())).wrap(ratatui::widgets::Wrap { trim: true }),
            inner,
        );
        return;
    }
    let h = inner.height as usize;
    let sel = sel.min(items.len() - 1);
    let start = sel.saturating_sub(h.saturating_sub(1));
    let focused = m.focus == Focus::Activity;
    let w = inner.width as usize;
    let today =
        crate::platform::to_local(chrono::DateTime::<chrono::Utc>::from(m.now)).date_naive();
    let lines: Vec<Line> = items
        .into_iter()
        .enumerate()
        .skip(start)
        .take(h)
        .map(|(i, it)| {
            // Today's items by their time, older ones (search results) by their day.
            let when = it
                .at_ms
                .and_then(chrono::DateTime::<chrono::Utc>::from_timestamp_millis)
                .map(|d| {
                    let d = crate::platform::to_local(d);
                    if d.date_naive() == today {
                        d.format("%H:%M").to_string()
                    } else {
                        d.format("%m-%d").to_string()
                    }
                })
                .unwrap_or_else(|| "--:--".into());
            let kind = match it.kind {
                crate::procman::activity::Kind::Observation => {
                    it.label.clone().unwrap_or_else(|| it.kind.label().into())
                }
                k => k.label().to_string(),
            };
            let kind: String = kind.chars().take(9).collect();
            let mut spans = vec![
                Span::styled(format!("{when} "), t.dim()),
                Span::styled(format!("{kind:<9} "), kind_style(it.kind, t)),
                Span::raw(crate::logs::sanitize(&it.title)),
            ];
            if let Some(p) = &it.project {
                spans.push(Span::styled(
                    format!("  {}", crate::logs::sanitize(p)),
                    t.dim(),
                ));
            }
            let mut line = fit::ellipsize(Line::from(spans), w);
            if focused && i == sel {
                line = line.patch_style(Modifier::REVERSED);
            }
            line
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

fn kind_style(k: crate::procman::activity::Kind, t: &Theme) -> ratatui::style::Style {
    use crate::procman::activity::Kind;
    match k {
        Kind::Observation => t.ok(),
        Kind::Prompt => t.key(),
        Kind::Summary => t.warn(),
        Kind::Session => t.dim(),
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

    use crate::procman::files::{JSON_PID_FILE, MARKER_FILE, PID_FILE, PORT_FILE};

    #[test]
    fn the_files_short_names_are_short_and_tell_the_files_apart() {
        let names: Vec<String> = [
            PID_FILE,
            PORT_FILE,
            JSON_PID_FILE,
            MARKER_FILE,
            "claude-mem.db",
        ]
        .iter()
        .map(|n| super::short_file_name(n))
        .collect();
        assert!(
            names.iter().all(|n| !n.is_empty() && n.len() <= 5),
            "{names:?}"
        );
        let mut distinct = names.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), names.len(), "{names:?}");
        // Both PID files say so (13.x's `worker.pid` was once cut to "worke").
        assert!(
            names[0].contains("pid") && names[2].contains("pid"),
            "{names:?}"
        );
    }
}
