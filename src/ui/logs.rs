//! The log panel: tail of the newest dated log, level colours, search highlight, wrap.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph, Wrap};
use ratatui::Frame;

use super::fit;
use super::theme::Theme;
use crate::app::model::{Focus, Model};

/// Split a line into spans, highlighting case-insensitive matches of `q`.
fn highlight<'a>(
    text: &'a str,
    q: &str,
    base: ratatui::style::Style,
    hl: ratatui::style::Style,
) -> Vec<Span<'a>> {
    if q.is_empty() {
        return vec![Span::styled(text, base)];
    }
    let lower = text.to_lowercase();
    let ql = q.to_lowercase();
    // Lowercasing can change byte lengths outside ASCII: only highlight when it did not.
    if lower.len() != text.len() {
        return vec![Span::styled(text, base)];
    }
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find(&ql) {
        let s = pos + i;
        let e = s + ql.len();
        if !text.is_char_boundary(s) || !text.is_char_boundary(e) {
            break;
        }
        if s > pos {
            out.push(Span::styled(&text[pos..s], base));
        }
        out.push(Span::styled(&text[s..e], hl));
        pos = e;
    }
    if pos < text.len() {
        out.push(Span::styled(&text[pos..], base));
    }
    out
}

fn rows_for(text: &str, width: usize, wrap: bool) -> usize {
    if !wrap || width == 0 {
        1
    } else {
        let w = unicode_width(text);
        w.div_ceil(width).max(1)
    }
}

fn unicode_width(s: &str) -> usize {
    ratatui::text::Line::raw(s).width()
}

pub fn draw(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let v = &m.log;
    let name = v
        .path
        .as_ref()
        .and_then(|p| p.file_name())
        .map(|n| crate::logs::sanitize(&n.to_string_lossy()))
        .unwrap_or_else(|| "no log yet".into());
    let mut title = format!(" Logs: {name} ");
    title.push_str(if m.logfile.showing_file() {
        "[on disk: [ ] days, f live] "
    } else if v.follow {
        "[follow] "
    } else {
        "[paused: f/End to follow] "
    });
    if m.logfile.busy {
        title.push_str("[searching the file…] ");
    }
    if let Some(l) = v.min_level() {
        title.push_str(&format!("[≥{}] ", l.label().to_lowercase()));
    }
    if v.wrap {
        title.push_str("[wrap] ");
    } else if v.hscroll > 0 {
        title.push_str(&format!("[→{}] ", v.hscroll));
    }
    if !v.timestamps {
        title.push_str("[no time] ");
    }
    if !v.query.is_empty() {
        let n = v.match_count();
        title.push_str(&format!(
            "[/{} {n} match{}] ",
            crate::logs::sanitize(&v.query),
            if n == 1 { "" } else { "es" }
        ));
    }
    let focused = m.focus == Focus::Logs;
    let title = if focused {
        format!("[{}]", title.trim())
    } else {
        title
    };
    let title = fit::ellipsize(Line::raw(title), (area.width as usize).saturating_sub(2));
    let b = Block::bordered()
        .title(title)
        .border_style(t.border(focused));
    let inner = b.inner(area);
    f.render_widget(b, area);
    let total = v.filtered_len();
    if total == 0 {
        let msg = if v.path.is_none() {
            "no log file yet (logs/worker-YYYY-MM-DD.log)"
        } else {
            "no lines"
        };
        f.render_widget(Paragraph::new(Line::styled(msg, t.dim())), inner);
        return;
    }
    let end = total.saturating_sub(v.scroll);
    let mut start = end;
    let mut used = 0usize;
    let h = inner.height as usize;
    while start > 0 {
        let Some(l) = v.filtered_at(start - 1) else {
            break;
        };
        let r = rows_for(v.shown(&l.text), inner.width as usize, v.wrap);
        if used + r > h && used > 0 {
            break;
        }
        used += r;
        start -= 1;
        if used >= h {
            break;
        }
    }
    // At the top of the log (`g`, Home) the first lines fill the panel downward, a full page,
    // instead of one line at the bottom of an empty panel.
    let mut end = end;
    if start == 0 {
        while end < total {
            let Some(l) = v.filtered_at(end) else { break };
            let r = rows_for(v.shown(&l.text), inner.width as usize, v.wrap);
            if used + r > h {
                break;
            }
            used += r;
            end += 1;
        }
    }
    // The cursor (the selected line `y` copies) is the bottom line, marked while focused.
    let cursor = v.cursor(total);
    let w = inner.width as usize;
    let lines: Vec<Line> = (start..end)
        .filter_map(|i| v.filtered_at(i))
        .enumerate()
        .map(|(i, l)| {
            let spans = highlight(v.shown(&l.text), &v.query, t.level(l.level), t.matched());
            let owned: Vec<Span<'static>> = spans
                .into_iter()
                .map(|s| Span::styled(s.content.into_owned(), s.style))
                .collect();
            let mut line = Line::from(owned);
            if !v.wrap {
                line = fit::ellipsize(fit::skip_cols(line, v.hscroll), w);
            }
            if focused && Some(start + i) == cursor {
                line = line.patch_style(
                    ratatui::style::Style::default()
                        .add_modifier(ratatui::style::Modifier::REVERSED),
                );
            }
            line
        })
        .collect();
    let mut p = Paragraph::new(lines);
    if v.wrap {
        p = p.wrap(Wrap { trim: false });
        // Bottom-align: if the wrapped text is taller than the area, skip its top rows; but one
        // entry taller than the panel shows its first page (its start is what is read first).
        let over = if end - start <= 1 {
            0
        } else {
            used.saturating_sub(h) as u16
        };
        p = p.scroll((over, 0));
    }
    f.render_widget(p, inner);
}
