//! The Resources panel: the worker's CPU and RSS charts, its threads and children.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::charts::{chart, chart_title, span_of};
use super::panel;
use crate::app::model::{Focus, Model};
use crate::config::fmt_bytes;
use crate::ui::fit;
use crate::ui::theme::Theme;

/// Draw the Resources panel: CPU and RSS charts, then threads and children with room to spare.
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
