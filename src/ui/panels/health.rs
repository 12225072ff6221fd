//! The Health panel: the pipeline's findings, the health checks, the failures in a row, and the
//! latency chart below them.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::Frame;

use super::charts::{chart, chart_title, span_of};
use super::{lines_on_top, mark, panel};
use crate::app::model::{Focus, Model};
use crate::procman::pipeline::Pipeline;
use crate::procman::status::{Check, State, Status};
use crate::ui::fit;
use crate::ui::theme::Theme;

/// Draw the Health panel: its lines at the top, the latency chart in the rows left.
pub fn health(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let inner = panel(f, area, "Health", m, Focus::Health, t);
    let w = inner.width as usize;
    let lines = match &m.status {
        None => vec![Line::styled("checking…", t.dim())],
        Some(st) => status_lines(m, st, inner.height as usize, w, t),
    };
    let rest = lines_on_top(f, inner, lines);
    latency_chart(f, rest, m, w, t);
}

/// The panel's lines for a status read, for a panel `h` rows high: what /health does not say
/// comes first (the checks are all ✓ when it matters), then a row per check, then the failures
/// in a row.
fn status_lines(m: &Model, st: &Status, h: usize, w: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if let Some(p) = &st.pipeline {
        // The fixes too when they leave room for the checks; `status` and doctor always print
        // them.
        let with_fix = p.findings.len() * 2 + st.checks.len() <= h;
        lines.extend(findings(p, with_fix, w, t));
    }
    for c in &st.checks {
        lines.push(check_row(c, w, t));
    }
    let fails = m.consecutive_failures;
    // Failures in a row count a running worker's probes: with none running there is nothing to
    // count (a refused /health is the worker being gone, shown above).
    let counts = matches!(st.state(), State::Running | State::Unhealthy);
    if counts && (fails > 0 || h > st.checks.len() + 2) {
        lines.push(failures_row(fails, w, t));
    }
    lines
}

/// One line per finding (`⚠ STALLED reason`), each followed by its `fix` line when `with_fix`.
fn findings(p: &Pipeline, with_fix: bool, w: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
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
    lines
}

/// A check's row: ✓ or ✗, its name, its detail and latency, shortened to fit (short name, then
/// shorter details, then no latency).
fn check_row(c: &Check, w: usize, t: &Theme) -> Line<'static> {
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
    fit::first_fit(
        w,
        vec![
            row(name, &detail, true),
            row(short, &detail, true),
            row(short, &shorter, true),
            row(short, &shortest, true),
            row(short, &shortest, false),
        ],
    )
}

/// `failures 2 in a row` (or `fails 2` when narrow), red while above 0.
fn failures_row(fails: u32, w: usize, t: &Theme) -> Line<'static> {
    fit::first_fit(
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
                Span::styled(fails.to_string(), if fails > 0 { t.bad() } else { t.dim() }),
            ]),
        ],
    )
}

/// The /health latency chart (`latency 1.20 ms · max 3.40 ms · 2 min`, a failed probe as 0) in
/// `area`, when it has a row and there are samples.
fn latency_chart(f: &mut Frame, area: Rect, m: &Model, w: usize, t: &Theme) {
    if area.height == 0 || m.latencies.is_empty() {
        return;
    }
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
    chart(f, area, title, &data, t.ok());
}
