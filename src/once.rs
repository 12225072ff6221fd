//! Status output for `status` and `--once`: the 7.1.0 text shape, or JSON.

use std::fmt::Write;

use crate::procman::status::{fmt_uptime, State, Status};

pub fn text(st: &Status) -> String {
    let mut s = String::new();
    match st.state() {
        State::Unhealthy if st.proven().is_none() => {
            let _ = writeln!(
                s,
                "Worker is wedged: port {} {}",
                st.port,
                crate::procman::status::WEDGED
            );
            if let Some(pid) = st.pid() {
                match &st.command() {
                    Some(cmd) => {
                        let _ = writeln!(s, "  PID: {pid} ({cmd})");
                    }
                    None => {
                        let _ = writeln!(s, "  PID: {pid}");
                    }
                }
            }
            let _ = writeln!(s, "  Port: {}", st.port);
        }
        State::Running | State::Unhealthy => {
            let _ = writeln!(s, "Worker is running");
            if let Some(pid) = st.pid() {
                let _ = writeln!(s, "  PID: {pid}");
            }
            let _ = writeln!(s, "  Port: {}", st.port);
            if let Some(u) = st.uptime_seconds() {
                let _ = writeln!(s, "  Uptime: {}", fmt_uptime(u));
            }
        }
        State::Unmanaged => {
            let why = if st.record().is_some() {
                "stale PID file"
            } else {
                "no PID file"
            };
            let _ = writeln!(s, "Worker is running, but unmanaged ({why})");
            match (st.pid(), &st.command()) {
                (Some(pid), Some(cmd)) => {
                    let _ = writeln!(s, "  PID: {pid} ({cmd})");
                }
                (Some(pid), None) => {
                    let _ = writeln!(s, "  PID: {pid}");
                }
                _ => {}
            }
            let _ = writeln!(s, "  Port: {}", st.port);
            if let Some(u) = st.uptime_seconds() {
                let _ = writeln!(s, "  Uptime: {}", fmt_uptime(u));
            }
        }
        State::Stale => {
            let _ = writeln!(s, "Worker is not running (stale PID file)");
            if let Some(e) = &st.elsewhere {
                let _ = writeln!(s, "  PID file names: {e}");
            }
        }
        State::Taken => {
            let _ = writeln!(
                s,
                "Worker is not running: port {} is taken by another worker",
                st.port
            );
            if let Some(e) = &st.elsewhere {
                let _ = writeln!(s, "  Held by: {e}");
            }
            let _ = writeln!(s, "  Port: {}", st.port);
        }
        State::Stopped => {
            let _ = writeln!(s, "Worker is not running");
        }
        State::Unknown => {
            let _ = writeln!(s, "Worker state unknown");
        }
    }
    let _ = writeln!(
        s,
        "  State: {} (layout {})",
        st.state().label(),
        st.layout.label()
    );
    let badges = st
        .pipeline
        .as_ref()
        .map(|p| p.badge_labels().join(", "))
        .filter(|b| !b.is_empty())
        .map(|b| format!(" ({b})"))
        .unwrap_or_default();
    let _ = writeln!(
        s,
        "  Health: {}{badges}",
        if st.healthy() {
            "healthy"
        } else {
            "not healthy"
        }
    );
    for c in &st.checks {
        let mark = if c.ok { "ok  " } else { "FAIL" };
        let lat = c
            .latency_ms
            .map(|l| format!(" ({l:.2} ms)"))
            .unwrap_or_default();
        let name = c.name.label();
        let _ = writeln!(s, "    {mark} {name}  {}{lat}", c.detail);
    }
    if let Some(r) = &st.reason() {
        if !st.checks.iter().any(|c| &c.detail == r) {
            let _ = writeln!(s, "  Reason: {r}");
        }
    }
    if let Some(h) = &st.port_holder {
        // Unmanaged and taken name the holder already (with its PID, when the socket table hid
        // it from us but the worker reported it).
        if !matches!(st.state(), State::Unmanaged | State::Taken) {
            let _ = writeln!(s, "  Port {} held by: {h}", st.port);
        }
    }
    if let Some(p) = &st.pipeline {
        pipeline_lines(&mut s, p);
    }
    if let Some(r) = &st.previous_run {
        let _ = writeln!(s, "  Previous run: PID {}, {}", r.pid, r.brief());
    }
    match &st.log_file {
        Some(l) => {
            let _ = writeln!(s, "  Log: {}", l.display());
        }
        None => {
            let _ = writeln!(s, "  Log: none yet");
        }
    }
    if let Some(a) = &st.api {
        let mut parts = Vec::new();
        if let Some(v) = &a.version {
            let installed = st
                .pipeline
                .as_ref()
                .and_then(|p| p.versions.installed.as_deref())
                .map(|i| format!(" (installed {i})"))
                .unwrap_or_default();
            parts.push(format!("version {v}{installed}"));
        }
        if let Some(r) = &a.readiness {
            parts.push(r.clone());
        }
        if let Some(q) = a.queue_depth {
            parts.push(format!("queue depth {q}"));
        }
        if let Some(p) = a.processing {
            parts.push(format!("processing {}", if p { "yes" } else { "no" }));
        }
        if let Some(x) = a.active_sessions {
            parts.push(format!("{x} active sessions"));
        }
        if let Some(x) = a.db_observations {
            parts.push(format!("{x} observations"));
        }
        if parts.is_empty() {
            parts.push("not available in this version".into());
        }
        let _ = writeln!(s, "  API: {}", parts.join(", "));
    }
    let _ = writeln!(s, "  Data dir: {}", st.data_dir.display());
    if let Some(v) = &st.installed_version {
        let _ = writeln!(s, "  claude-mem installed: {v}");
    }
    if let Some(m) = &st.pm2_migrated_at {
        let _ = writeln!(s, "  PM2 migrated: {m}");
    }
    for w in &st.warnings {
        let _ = writeln!(s, "  Warning: {w}");
    }
    s
}

/// The newest activity, one line each (nothing when there is none).
pub fn activity_text(items: &[crate::procman::activity::Item]) -> String {
    let mut s = String::new();
    if items.is_empty() {
        return s;
    }
    let _ = writeln!(s, "  Activity (newest first):");
    for it in items {
        let what = it.label.as_deref().unwrap_or(it.kind.label());
        let _ = writeln!(
            s,
            "    {} {} {what}: {}{}",
            it.at.as_deref().unwrap_or("?"),
            it.kind.label(),
            crate::logs::sanitize(&it.title),
            it.project
                .as_deref()
                .map(|p| format!(" ({})", crate::logs::sanitize(p)))
                .unwrap_or_default()
        );
    }
    s
}

/// The status JSON with an `activity` array (`--once --json`).
pub fn json_with_activity(
    st: &Status,
    items: &[crate::procman::activity::Item],
    queue: Option<serde_json::Value>,
) -> String {
    let v = serde_json::to_value(st).and_then(|mut v| {
        if let Some(o) = v.as_object_mut() {
            o.insert("activity".into(), serde_json::to_value(items)?);
            o.insert("queue".into(), queue.unwrap_or(serde_json::Value::Null));
        }
        Ok(v)
    });
    match v {
        Ok(v) => {
            serde_json::to_string_pretty(&v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        }
        Err(e) => format!("{{\"error\":\"{e}\"}}"),
    }
}

/// `DEGRADED: …` / `STALLED: …` / `FLAPPING: …` with the fix under each; a version mismatch and
/// unreadable files as warnings and notes.
fn pipeline_lines(s: &mut String, p: &crate::procman::pipeline::Pipeline) {
    let clean = crate::logs::sanitize;
    for f in &p.findings {
        let head = if f.signal.badge() {
            f.signal.label()
        } else {
            "Warning"
        };
        let _ = writeln!(s, "  {head}: {}", clean(&f.reason));
        let _ = writeln!(s, "    fix: {}", clean(&f.fix));
    }
    for n in &p.notes {
        let _ = writeln!(s, "  Note: {}", clean(n));
    }
}

pub fn json(st: &Status) -> String {
    serde_json::to_string_pretty(st).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}
