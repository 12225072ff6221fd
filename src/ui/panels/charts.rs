//! The charts of Health and Resources: a title line over a sparkline.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Sparkline};
use ratatui::Frame;

use crate::ui::fit;
use crate::ui::theme::Theme;

/// `45 s`, `3 min`, `2 h`: how much time `n` samples `interval` apart cover.
pub(super) fn span_of(n: usize, interval: std::time::Duration) -> String {
    let s = (interval.as_secs_f64() * n as f64).round() as u64;
    match s {
        0..=119 => format!("{s} s"),
        120..=7199 => format!("{} min", s / 60),
        _ => format!("{} h", s / 3600),
    }
}

/// A chart's title line: `CPU 1.0 % · max 3.2 % · 2 min`, shortened to fit.
pub(super) fn chart_title(
    w: usize,
    name: &str,
    now: &str,
    max: &str,
    span: &str,
    t: &Theme,
) -> Line<'static> {
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
pub(super) fn chart(
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
