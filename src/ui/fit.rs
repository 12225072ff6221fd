//! Width-aware text: pick the longest rendering of a line that fits, cut what is still too long
//! at a word boundary with `…`, ellipsize paths in the middle.

use ratatui::text::{Line, Span};
fn cw(c: char) -> usize {
    let mut b = [0u8; 4];
    Span::raw(&*c.encode_utf8(&mut b)).width()
}

pub fn width(s: &str) -> usize {
    s.chars().map(cw).sum()
}

/// The first candidate that fits in `w` columns; else the last one cut with `…`.
pub fn first_fit(w: usize, candidates: Vec<Line<'static>>) -> Line<'static> {
    let mut last = None;
    for c in candidates {
        if c.width() <= w {
            return c;
        }
        last = Some(c);
    }
    ellipsize(last.unwrap_or_default(), w)
}

/// Cut a line to `w` columns ending in `…` (at a word boundary when one is near, so a number is
/// never cut in half); a line that fits is returned as it is.
pub fn ellipsize(line: Line<'static>, w: usize) -> Line<'static> {
    if line.width() <= w {
        return line;
    }
    if w == 0 {
        return Line::default();
    }
    let budget = w - 1;
    // Flatten to (char, span index) to find the cut.
    let chars: Vec<(char, usize)> = line
        .spans
        .iter()
        .enumerate()
        .flat_map(|(i, s)| s.content.chars().map(move |c| (c, i)))
        .collect();
    let mut cut = 0;
    let mut used = 0;
    while cut < chars.len() && used + cw(chars[cut].0) <= budget {
        used += cw(chars[cut].0);
        cut += 1;
    }
    // Mid-word: back up to the last space if it is not too far (a third of the width).
    let mid_word = cut > 0
        && cut < chars.len()
        && !chars[cut].0.is_whitespace()
        && !chars[cut - 1].0.is_whitespace();
    if mid_word {
        if let Some(sp) = chars[..cut].iter().rposition(|(c, _)| c.is_whitespace()) {
            if cut - sp <= budget.div_ceil(3).max(8) {
                cut = sp + 1;
            }
        }
    }
    let mut spans: Vec<Span<'static>> = Vec::new();
    for (i, s) in line.spans.iter().enumerate() {
        let text: String = chars[..cut]
            .iter()
            .filter(|(_, j)| *j == i)
            .map(|(c, _)| *c)
            .collect();
        if !text.is_empty() {
            spans.push(Span::styled(text, s.style));
        }
    }
    let last_style = spans.last().map(|s| s.style).unwrap_or_default();
    spans.push(Span::styled("…", last_style));
    Line {
        spans,
        style: line.style,
        alignment: line.alignment,
    }
}

/// Facts of one line, each with a priority (0 = must stay): the least important (highest
/// number, rightmost first) are dropped until the line fits, then it is cut with `…`.
pub fn pack(w: usize, mut facts: Vec<(u8, Vec<Span<'static>>)>) -> Line<'static> {
    let total = |f: &[(u8, Vec<Span<'static>>)]| {
        f.iter()
            .flat_map(|(_, s)| s.iter())
            .map(Span::width)
            .sum::<usize>()
    };
    while total(&facts) > w {
        let Some(worst) = facts.iter().map(|(p, _)| *p).max().filter(|p| *p > 0) else {
            break;
        };
        if let Some(i) = facts.iter().rposition(|(p, _)| *p == worst) {
            facts.remove(i);
        }
    }
    ellipsize(
        Line::from(facts.into_iter().flat_map(|(_, s)| s).collect::<Vec<_>>()),
        w,
    )
}

/// Skip the first `cols` columns of a line (horizontal scroll); a line that starts further right
/// begins with `…`.
pub fn skip_cols(line: Line<'static>, cols: usize) -> Line<'static> {
    if cols == 0 {
        return line;
    }
    let mut left = cols;
    let mut spans = Vec::new();
    let mut first_style = None;
    for s in line.spans {
        let mut text = String::new();
        for c in s.content.chars() {
            if left > 0 {
                left = left.saturating_sub(cw(c).max(1));
            } else {
                text.push(c);
            }
        }
        if !text.is_empty() {
            first_style.get_or_insert(s.style);
            spans.push(Span::styled(text, s.style));
        }
    }
    if spans.is_empty() {
        return Line::default();
    }
    // The first visible column becomes the `…` that says something is to the left.
    let mut out = vec![Span::styled("…", first_style.unwrap_or_default())];
    let mut dropped = false;
    for s in spans {
        if dropped {
            out.push(s);
            continue;
        }
        let mut chars = s.content.chars();
        chars.next();
        dropped = true;
        let rest: String = chars.collect();
        if !rest.is_empty() {
            out.push(Span::styled(rest, s.style));
        }
    }
    Line::from(out)
}

/// A path or name shortened in the middle: `/home/me/…/worker-2026-12-01.log`. The file name
/// stays whole when it fits.
pub fn middle(s: &str, w: usize) -> String {
    if width(s) <= w {
        return s.to_string();
    }
    if w <= 1 {
        return "…".chars().take(w).collect();
    }
    let chars: Vec<char> = s.chars().collect();
    // Keep the last component whole if possible, and as much of the head as fits.
    let name_at = chars.iter().rposition(|c| *c == '/').unwrap_or(0);
    let name_len = chars.len() - name_at;
    let tail_len = if name_at > 0 && name_len < w.saturating_sub(4) {
        // Head gets what is left after `…` and the name.
        name_len
    } else {
        (w - 1) / 2
    };
    let head_len = w - 1 - tail_len;
    let head: String = chars[..head_len.min(chars.len())].iter().collect();
    let tail: String = chars[chars.len() - tail_len.min(chars.len())..]
        .iter()
        .collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(l: &Line) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn ellipsize_never_cuts_a_number_in_half() {
        let l = Line::raw("queue failed 1 · pending 312345 · processed 5");
        let out = text(&ellipsize(l, 30));
        assert_eq!(out, "queue failed 1 · pending …");
        assert_eq!(text(&ellipsize(Line::raw("short"), 30)), "short");
    }

    #[test]
    fn middle_keeps_the_file_name() {
        let p = "/home/me/.claude-mem/logs/worker-2026-12-01.log";
        let m = middle(p, 34);
        assert_eq!(m, "/home/me/.c…/worker-2026-12-01.log");
        assert!(
            m.ends_with("/worker-2026-12-01.log") && width(&m) == 34,
            "{m}"
        );
    }

    #[test]
    fn skip_cols_marks_the_left_edge() {
        assert_eq!(text(&skip_cols(Line::raw("abcdefgh"), 3)), "…efgh");
        assert_eq!(text(&skip_cols(Line::raw("abc"), 5)), "");
    }
}
