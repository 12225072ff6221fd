//! The Database panel: the row counts, the queue, the sizes and the newest observation, then
//! the worker's API facts.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel;
use crate::app::model::{Focus, Model};
use crate::app::msg::{ApiInfo, DbState, DbStats};
use crate::config::fmt_bytes;
use crate::ui::fit;
use crate::ui::theme::Theme;

/// Draw the Database panel: the database's state or its facts, then the API line.
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
        DbState::Ok(s) => lines.extend(stats_lines(s, m.api.is_some(), w, h, t)),
    }
    if let Some(a) = &m.api {
        lines.push(api_line(a, w, t));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// A readable database's lines, for a panel `w` × `h` (`with_api`: the API line comes after
/// them): the row counts over two or three rows, the queue, the sizes, the newest observation.
fn stats_lines(s: &DbStats, with_api: bool, w: usize, h: usize, t: &Theme) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let counts: Vec<(String, String, String)> = s
        .counts
        .iter()
        .map(|(k, v)| (k.clone(), short_count(k), v.to_string()))
        .collect();
    // The counts take two rows when the panel has three or more, three when the other lines
    // leave room.
    let others = usize::from(!s.pending.is_empty())
        + 1
        + usize::from(s.newest_observation.is_some())
        + usize::from(with_api);
    let count_rows = h
        .saturating_sub(others)
        .clamp(if h >= 3 { 2 } else { 1 }, 3);
    lines.extend(flow(w, count_rows, &counts, t));
    if !s.pending.is_empty() {
        lines.push(queue_line(&s.pending, w, t));
    }
    lines.push(size_line(s, w, t));
    if let Some(n) = &s.newest_observation {
        lines.push(fit::ellipsize(
            Line::from(vec![
                Span::styled("newest observation ", t.label()),
                Span::raw(crate::logs::sanitize(n)),
            ]),
            w,
        ));
    }
    lines
}

/// `queue pending 3 · processed 12`: the pending messages by status, on one line.
fn queue_line(pending: &[(String, u64)], w: usize, t: &Theme) -> Line<'static> {
    let p: Vec<(String, String, String)> = pending
        .iter()
        .map(|(k, v)| {
            let k = crate::logs::sanitize(k);
            (k.clone(), short_count(&k), v.to_string())
        })
        .collect();
    let mut q = flow(w.saturating_sub(6), 1, &p, t);
    let mut spans = vec![Span::styled("queue ", t.label())];
    spans.extend(q.remove(0).spans);
    Line::from(spans)
}

/// `size 80.0 KB + wal none  schema 27`: without the schema, then without `wal `, when narrow.
fn size_line(s: &DbStats, w: usize, t: &Theme) -> Line<'static> {
    let wal = s.wal_size.map(fmt_bytes).unwrap_or_else(|| "none".into());
    let schema = s.schema.map(|v| v.to_string());
    let line = |wal_label: &str, schema_label: Option<&str>| {
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
    fit::first_fit(
        w,
        vec![
            line("wal ", Some("schema ")),
            line("wal ", None),
            line("", None),
        ],
    )
}

/// `API queue depth 0 · processing no · …`: what the worker's API reported, or that this
/// version has none of it.
fn api_line(a: &ApiInfo, w: usize, t: &Theme) -> Line<'static> {
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
    fit::ellipsize(Line::from(spans), w)
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

/// A count's short label (`obs`, `sess`, `pend`), for narrow panels.
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
