//! The Activity panel: what the worker just stored, newest first, or a memory search's results.

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel;
use crate::app::memory::Results;
use crate::app::model::{Focus, Model};
use crate::procman::activity::Item;
use crate::ui::fit;
use crate::ui::theme::Theme;

/// What the worker just stored, newest first: time, kind (an observation's type), title and
/// project; the selected row (while focused) is what Enter opens. A memory search (`/` in
/// Activity) shows its results here until Esc.
pub fn activity(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let (items, sel, title): (Vec<&Item>, usize, String) = match &m.memory.results {
        Some(r) => (r.items(), r.sel, search_title(r)),
        None => (m.activity.iter().collect(), m.activity_sel, live_title(m)),
    };
    let inner = panel(f, area, &title, m, Focus::Activity, t);
    if items.is_empty() {
        f.render_widget(
            Paragraph::new(Line::styled(empty_text(m), t.dim()))
                .wrap(ratatui::widgets::Wrap { trim: true }),
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
            let mut line = item_row(it, today, w, t);
            if focused && i == sel {
                line = line.patch_style(Modifier::REVERSED);
            }
            line
        })
        .collect();
    f.render_widget(Paragraph::new(lines), inner);
}

/// The live list's title: `Activity (12) · live` (`12+` at the cap; ` · live` while the stream
/// is connected).
fn live_title(m: &Model) -> String {
    let live = if m.stream.connected.is_some() {
        " · live"
    } else {
        ""
    };
    match m.activity.len() {
        0 => format!("Activity{live}"),
        n if n >= crate::app::model::ACTIVITY_CAP => format!("Activity ({n}+){live}"),
        n => format!("Activity ({n}){live}"),
    }
}

/// A search's title: the query, then `searching…`, `failed`, or the hits and how they were
/// found (worker, FTS5, LIKE).
fn search_title(r: &Results) -> String {
    let q = crate::logs::sanitize(&r.query);
    match &r.found {
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
    }
}

/// What an empty panel says: the search under way, its error or that nothing matched; else
/// that there is no database or nothing stored yet.
fn empty_text(m: &Model) -> String {
    match (&m.memory.results, &m.db) {
        (Some(r), _) => match &r.found {
            None => "searching…".to_string(),
            Some(Err(e)) => crate::logs::sanitize(e),
            Some(Ok(_)) => format!("no memories match \"{}\"", crate::logs::sanitize(&r.query)),
        },
        (None, crate::app::msg::DbState::Missing) => "no database yet".into(),
        (None, _) => "nothing stored yet".into(),
    }
}

/// An item's row: when (today's by their time, older ones by their day), its kind, its title and
/// its project, cut to `w`.
fn item_row(it: &Item, today: chrono::NaiveDate, w: usize, t: &Theme) -> Line<'static> {
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
    fit::ellipsize(Line::from(spans), w)
}

/// Each kind's colour.
fn kind_style(k: crate::procman::activity::Kind, t: &Theme) -> ratatui::style::Style {
    use crate::procman::activity::Kind;
    match k {
        Kind::Observation => t.ok(),
        Kind::Prompt => t.key(),
        Kind::Summary => t.warn(),
        Kind::Session => t.dim(),
    }
}
