//! The Files panel: the data dir's PID, port and marker files and the database, a row each.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::panel;
use crate::app::model::{Focus, Model};
use crate::app::msg::FileInfo;
use crate::config::fmt_bytes;
use crate::ui::ago;
use crate::ui::fit;
use crate::ui::theme::Theme;

/// A file's name in at most 5 columns, for narrow panels.
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

/// Draw the Files panel: a row per file, its value, size and age, shortened to fit.
pub fn files(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let inner = panel(f, area, "Files", m, Focus::Files, t);
    let w = inner.width as usize;
    let mut lines: Vec<Line> = m.files.iter().map(|fi| file_row(fi, m, w, t)).collect();
    if lines.is_empty() {
        lines.push(Line::styled("reading…", t.dim()));
    }
    f.render_widget(Paragraph::new(lines), inner);
}

/// A file's row in `w` columns: its name (highlighted for 3 s after a change), its value and
/// size (or `absent`) and its age; the first of ever shorter forms that fits.
fn file_row(fi: &FileInfo, m: &Model, w: usize, t: &Theme) -> Line<'static> {
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
    // Label first, then a shorter value, then the age; numbers stay whole (only the name part
    // of a value is shortened, in the middle).
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
    // A value of fields (`pid 28635, port 37700, token 1570186`) drops whole fields from its
    // end before anything is cut: a number is shown whole or not at all.
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
    fit::first_fit(w, cands)
}

#[cfg(test)]
mod tests {
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
