//! The header: two lines of facts over the panels, each fact with a rank (`fit::pack` drops the
//! highest ranks first when the line is too narrow).

use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::mark;
use crate::app::model::Model;
use crate::procman::status::{fmt_uptime, Status};
use crate::ui::fit;
use crate::ui::spinner;
use crate::ui::theme::Theme;

/// One fact of a header line: its rank (0 stays at every width, higher is dropped sooner) and
/// its spans.
type Fact = (u8, Vec<Span<'static>>);

/// Draw the header: the state line over the data line.
pub fn header(f: &mut Frame, area: Rect, m: &Model, t: &Theme) {
    let w = area.width as usize;
    // Below 60 columns the must-stay facts take their short forms: `PID 4242 :37777 up 2h`.
    let narrow = w < 60;
    let mut l1 = state_badges(m, t);
    if let Some(st) = &m.status {
        l1.extend(worker_facts(m, st, t, narrow));
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
    l1.extend(restart_policy(m, t));
    l1.extend(census_warnings(m, t));
    l1.extend(action_note(m, t));
    let line2 = data_line(w, m, install_facts(m, t), t);
    f.render_widget(
        Paragraph::new(vec![fit::pack(w, l1), fit::pack(w, line2)]),
        area,
    );
}

/// The state badge (`● RUNNING`), then DEGRADED / STALLED / FLAPPING: they stay on screen at
/// every width, next to the state.
fn state_badges(m: &Model, t: &Theme) -> Vec<Fact> {
    let badge = m.badge();
    let mut facts: Vec<Fact> = vec![(
        0,
        vec![Span::styled(
            format!(" {} {badge} ", if badge == "RUNNING" { "●" } else { "○" }),
            t.badge(badge),
        )],
    )];
    for b in m
        .status
        .iter()
        .flat_map(|st| st.pipeline.iter())
        .flat_map(|p| p.badge_labels())
    {
        facts.push((
            0,
            vec![Span::raw(" "), Span::styled(format!(" {b} "), t.badge(b))],
        ));
    }
    facts
}

/// The worker's PID, port and uptime (short forms when `narrow`), its version (with the
/// installed plugin's when they differ) and the PID-file layout.
fn worker_facts(m: &Model, st: &Status, t: &Theme, narrow: bool) -> Vec<Fact> {
    let mut facts: Vec<Fact> = Vec::new();
    if let Some(pid) = st.pid() {
        facts.push((
            0,
            vec![Span::raw(format!(
                " {}PID {pid}",
                if narrow { "" } else { " " }
            ))],
        ));
    }
    facts.push((
        0,
        vec![Span::raw(if narrow {
            format!(" :{}", st.port)
        } else {
            format!("  port {}", st.port)
        })],
    ));
    if let Some(u) = st.uptime_seconds() {
        let sep = if narrow { " " } else { "  " };
        facts.push((0, vec![Span::raw(format!("{sep}up {}", fmt_uptime(u)))]));
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
        facts.push((4, spans));
    }
    facts.push((
        5,
        vec![Span::styled(
            format!("  layout {}", st.layout.label()),
            t.dim(),
        )],
    ));
    facts
}

/// Who restarts the worker: `supervise`'s state and restarts, else why auto-restart gave up,
/// else auto-restart's count and next attempt; nothing when none of them is on.
fn restart_policy(m: &Model, t: &Theme) -> Option<Fact> {
    if let Some(s) = &m.supervisor {
        let backoff = s
            .backoff_seconds
            .map(|b| format!(", backoff {b:.0}s"))
            .unwrap_or_default();
        Some((
            2,
            vec![Span::styled(
                format!(
                    "  supervised: {} ({} restarts{backoff})",
                    s.state, s.restarts_total
                ),
                t.label(),
            )],
        ))
    } else if let Some(why) = &m.auto.fatal {
        Some((2, vec![Span::styled(format!("  {why}"), t.bad())]))
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
        Some((
            2,
            vec![Span::styled(
                format!("  auto-restart on ({} restarts{next})", m.auto.restarts),
                t.label(),
            )],
        ))
    } else {
        None
    }
}

/// From the census: how many other workers run and how many orphans are left.
fn census_warnings(m: &Model, t: &Theme) -> Vec<Fact> {
    let mut facts: Vec<Fact> = Vec::new();
    let Some(c) = &m.census else {
        return facts;
    };
    let orphans = c.orphans().count();
    let others = c
        .workers()
        .filter(|w| m.status.as_ref().and_then(|s| s.pid()) != Some(w.pid))
        .count();
    if others > 0 {
        facts.push((
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
        facts.push((
            3,
            vec![Span::styled(
                format!("  {orphans} orphan{}", if orphans == 1 { "" } else { "s" }),
                t.bad(),
            )],
        ));
    }
    facts
}

/// The action under way (a spinner and its verb), else the last action's result (✓ or ✗ and
/// its text). Ranked 0: kept and cut with `…` rather than dropped.
fn action_note(m: &Model, t: &Theme) -> Option<Fact> {
    if let Some((a, _)) = m.action {
        Some((
            0,
            vec![Span::styled(
                format!("  {} {}…", spinner(m.spinner), a.verb()),
                t.warn(),
            )],
        ))
    } else if let Some((_, text, ok)) = &m.result {
        Some((
            0,
            vec![
                Span::raw("  "),
                mark(*ok, t),
                Span::styled(format!(" {text}"), if *ok { t.ok() } else { t.bad() }),
            ],
        ))
    } else {
        None
    }
}

/// The second line's facts after the data dir: the PM2 migration marker, the first warning
/// (else the reason for the state), the installed claude-mem release.
fn install_facts(m: &Model, t: &Theme) -> Vec<Fact> {
    let mut facts: Vec<Fact> = Vec::new();
    if let Some(st) = &m.status {
        match &st.pm2_migrated_at {
            Some(at) => facts.push((
                3,
                vec![Span::raw(format!(
                    "  PM2 migrated {}",
                    at.chars().take(19).collect::<String>().replace('T', " ")
                ))],
            )),
            None => facts.push((3, vec![Span::styled("  PM2 marker: none", t.dim())])),
        }
        if let Some(w) = st.warnings.first() {
            facts.push((1, vec![Span::styled(format!("  ⚠ {w}"), t.warn())]));
        } else if let Some(r) = &st.reason() {
            facts.push((2, vec![Span::styled(format!("  {r}"), t.dim())]));
        }
    }
    if let Some(v) = &m.installed_version {
        facts.push((
            4,
            vec![Span::styled(format!("  claude-mem {v} installed"), t.dim())],
        ));
    }
    facts
}

/// The second line: ` data DIR` and then `facts`. The data dir takes what the facts leave (at
/// least 24 columns), shortened in the middle; facts are dropped, worst rank first, until it
/// has that much.
fn data_line(w: usize, m: &Model, facts: Vec<Fact>, t: &Theme) -> Vec<Fact> {
    let data = m.data_dir.display().to_string();
    let others = |l: &[Fact]| {
        l.iter()
            .flat_map(|(_, s)| s.iter())
            .map(Span::width)
            .sum::<usize>()
    };
    let mut kept = facts;
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
    let mut line = vec![(
        0,
        vec![
            Span::styled(" data ", t.label()),
            Span::raw(fit::middle(&data, room)),
        ],
    )];
    line.extend(kept);
    line
}
