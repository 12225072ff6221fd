//! The commands that look inside claude-mem: `settings`, `search` and `queue`. Each calls the
//! core (`procman::settings`, `procman::search`, `procman::queue`) and turns its answer into
//! text or JSON and an exit code. Nothing here writes to claude-mem's files or its worker.

use std::fmt::Write as _;
use std::path::PathBuf;

use crate::commands::{Fail, Res};
use crate::procman::settings::{self, FileState, Origin, Report};

/// `settings [--json]`: every setting claude-mem reads, its value and its origin.
pub fn settings(data_dir_flag: Option<PathBuf>, json: bool) -> Res {
    let inp = settings::Inputs::current(data_dir_flag)?;
    let report = settings::resolve(&inp);
    for f in &report.files {
        if let FileState::Unusable(why) = &f.state {
            eprintln!("claude-mem-top: {}: {why}", f.path.display());
        }
    }
    if json {
        let v = serde_json::to_string_pretty(&report.settings).map_err(|e| Fail {
            code: 1,
            msg: format!("cannot write JSON: {e}"),
        })?;
        println!("{v}");
    } else {
        print!("{}", settings_text(&report));
    }
    Ok(0)
}

/// The `settings` table: key, value, origin, and a problem where there is one.
pub fn settings_text(r: &Report) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "claude-mem {} settings for data dir {}",
        settings::RELEASE,
        r.data_dir.display()
    );
    for f in &r.files {
        let _ = writeln!(out, "  file {}: {}", f.path.display(), f.state.describe());
    }
    let kw = r.settings.iter().map(|s| s.key.len()).max().unwrap_or(3);
    let shown = |s: &settings::Setting| s.value.clone().unwrap_or_else(|| "null".into());
    let vw = r
        .settings
        .iter()
        .map(|s| shown(s).chars().count())
        .max()
        .unwrap_or(5)
        .clamp(5, 40);
    let _ = writeln!(out, "{:kw$}  {:vw$}  ORIGIN", "KEY", "VALUE");
    for s in &r.settings {
        let v = shown(s);
        let v = if v.is_empty() { "\"\"".to_string() } else { v };
        let _ = write!(out, "{:kw$}  {v:vw$}  {}", s.key, s.origin);
        if let Some(p) = &s.problem {
            let _ = write!(out, "  ! {p}");
        }
        out.push('\n');
    }
    let count = |f: fn(&Origin) -> bool| r.settings.iter().filter(|s| f(&s.origin)).count();
    let env = count(|o| matches!(o, Origin::Env | Origin::Flag));
    let file = count(|o| matches!(o, Origin::File(_)));
    let dflt = count(|o| matches!(o, Origin::Default));
    let problems = r.problems();
    let _ = writeln!(
        out,
        "{env} from the environment, {file} from settings.json, {dflt} defaults; {problems} {}",
        if problems == 1 { "problem" } else { "problems" }
    );
    out
}

/// `search QUERY …`: the worker's search, else the database's; newest first.
pub fn search(
    cfg: &crate::config::Config,
    source: crate::procman::search::Source,
    q: &crate::procman::search::Query,
    json: bool,
) -> Res {
    use crate::procman::search::{self, Target};
    let t = Target {
        host: cfg.host,
        port: cfg.port,
        db: cfg.path("claude-mem.db"),
    };
    let found = search::search(&t, source, q).map_err(|e| Fail {
        code: e.exit_code(),
        msg: e.to_string(),
    })?;
    for n in &found.notes {
        eprintln!("claude-mem-top: {n}");
    }
    if json {
        let v = serde_json::to_string_pretty(&found.hits).map_err(|e| Fail {
            code: 1,
            msg: format!("cannot write JSON: {e}"),
        })?;
        println!("{v}");
    } else {
        print!("{}", search_text(&q.text, &found));
    }
    Ok(0)
}

/// One line per item: time, kind and type, project, title.
pub fn search_text(query: &str, f: &crate::procman::search::Found) -> String {
    let mut out = String::new();
    let via = f.via.map_or("nothing", |v| v.describe());
    if f.hits.is_empty() {
        let _ = writeln!(out, "No memories match \"{query}\" (searched {via})");
        return out;
    }
    let n = f.hits.len();
    let _ = writeln!(
        out,
        "{n} {} matching \"{query}\", newest first (searched {via}):",
        if n == 1 { "item" } else { "items" }
    );
    for h in &f.hits {
        let it = &h.item;
        let when = it
            .at_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|d| {
                crate::platform::to_local(d)
                    .format("%Y-%m-%d %H:%M")
                    .to_string()
            })
            .or_else(|| it.at.clone())
            .unwrap_or_else(|| "?".into());
        let what = match (&it.label, it.kind) {
            (Some(l), crate::procman::activity::Kind::Observation) => format!("obs {l}"),
            (_, k) => k.label().to_string(),
        };
        let project = it.project.as_deref().unwrap_or("-");
        let _ = writeln!(
            out,
            "{when}  {what:<16} {project:<16} #{}  {}",
            it.id, it.title
        );
    }
    out
}

/// `queue [--stall-after D] [--json]`: the pending messages oldest first, and the failures.
pub fn queue(cfg: &crate::config::Config, stall_after: std::time::Duration, json: bool) -> Res {
    let now = chrono::Utc::now().timestamp_millis();
    let q = crate::procman::queue::read(cfg, stall_after, now).map_err(|e| Fail {
        code: e.exit_code(),
        msg: e.to_string(),
    })?;
    if json {
        let v = serde_json::to_string_pretty(&queue_json(&q)).map_err(|e| Fail {
            code: 1,
            msg: format!("cannot write JSON: {e}"),
        })?;
        println!("{v}");
    } else {
        print!("{}", queue_text(&q));
    }
    Ok(if q.stuck > 0 { 1 } else { 0 })
}

fn queue_json(q: &crate::procman::queue::Queue) -> serde_json::Value {
    serde_json::json!({
        "schema_version": 1,
        "available": q.available,
        "pending": q.pending,
        "processing": q.processing,
        "other": q.other.iter().map(|(s, n)| serde_json::json!({"status": s, "count": n})).collect::<Vec<_>>(),
        "oldest_age_seconds": q.oldest_age_seconds,
        "stall_after_seconds": q.stall_after_seconds,
        "stuck": q.stuck,
        "messages": q.messages,
        "observer": q.observer,
        "hooks": q.hooks,
        "notes": q.notes,
    })
}

/// `3m 20s`, `2h 5m`, `1d 4h`.
pub fn fmt_age(s: u64) -> String {
    match s {
        0..60 => format!("{s}s"),
        60..3600 => format!("{}m {}s", s / 60, s % 60),
        3600..86_400 => format!("{}h {}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d {}h", s / 86_400, s % 86_400 / 3600),
    }
}

pub fn queue_text(q: &crate::procman::queue::Queue) -> String {
    let mut out = String::new();
    if !q.available {
        let _ = writeln!(out, "Queue: not available (no pending_messages table)");
    } else {
        let _ = write!(
            out,
            "Queue: {} pending, {} processing",
            q.pending, q.processing
        );
        if let Some(a) = q.oldest_age_seconds {
            let _ = write!(out, "; oldest {}", fmt_age(a));
        }
        if q.stuck > 0 {
            let _ = write!(
                out,
                "; {} STUCK (waiting over {})",
                q.stuck,
                fmt_age(q.stall_after_seconds)
            );
        }
        out.push('\n');
        for (status, n) in &q.other {
            let _ = writeln!(out, "  also {n} {status}");
        }
        if !q.messages.is_empty() {
            let _ = writeln!(
                out,
                "  {:>6}  {:<11} {:<11} {:<10} {:<16} {:>8}  SESSION",
                "ID", "KIND", "STATUS", "TOOL", "PROJECT", "AGE"
            );
        }
        for m in &q.messages {
            let age = m.age_seconds.map_or("?".into(), fmt_age);
            let project = m.project.as_deref().or(m.cwd.as_deref()).unwrap_or("-");
            let _ = writeln!(
                out,
                "  {:>6}  {:<11} {:<11} {:<10} {:<16} {:>8}  {}{}",
                m.id,
                m.kind.as_deref().unwrap_or("-"),
                m.status.as_deref().unwrap_or("-"),
                m.tool.as_deref().unwrap_or("-"),
                project,
                age,
                m.session.as_deref().unwrap_or("-"),
                if m.stuck { "  STUCK" } else { "" }
            );
        }
    }
    let ago = |ms: Option<u64>| {
        ms.map(|t| {
            let now = chrono::Utc::now().timestamp_millis().max(0) as u64;
            format!("{} ago", fmt_age(now.saturating_sub(t) / 1000))
        })
    };
    match &q.observer {
        Some(o) if o.consecutive_failures > 0 => {
            let _ = writeln!(
                out,
                "Observer: {} failures in a row{}; last error{}: {}",
                o.consecutive_failures,
                ago(o.failing_since_ms).map_or(String::new(), |a| format!(" since {a}")),
                ago(o.last_error_at_ms).map_or(String::new(), |a| format!(" {a}")),
                o.last_error_message.as_deref().unwrap_or("(no message)")
            );
        }
        Some(o) => {
            let _ = writeln!(
                out,
                "Observer: no failures{}",
                ago(o.last_success_at_ms).map_or(String::new(), |a| format!(" (last success {a})"))
            );
        }
        None => {
            let _ = writeln!(out, "Observer: no observer-health.json");
        }
    }
    match &q.hooks {
        Some(h) if h.consecutive_failures > 0 => {
            let _ = writeln!(
                out,
                "Hooks: {} failures in a row (loud from {}){}",
                h.consecutive_failures,
                h.threshold,
                ago(h.last_failure_at_ms).map_or(String::new(), |a| format!("; last {a}"))
            );
        }
        Some(_) => {
            let _ = writeln!(out, "Hooks: no failures");
        }
        None => {
            let _ = writeln!(out, "Hooks: no state/hook-failures.json");
        }
    }
    for n in &q.notes {
        let _ = writeln!(out, "  note: {n}");
    }
    if q.stuck > 0 {
        let _ = writeln!(
            out,
            "claude-mem-top never edits the queue: see `claude-mem-top logs --level warn` and `claude-mem-top doctor`"
        );
    }
    out
}

/// `--once --json`'s `queue`: the counts and the oldest message's age (`None`: no database).
pub fn queue_summary(
    cfg: &crate::config::Config,
    stall_after: std::time::Duration,
) -> Option<serde_json::Value> {
    let now = chrono::Utc::now().timestamp_millis();
    let q = crate::procman::queue::summary(&cfg.path("claude-mem.db"), stall_after, now)?;
    Some(serde_json::json!({
        "available": q.available,
        "pending": q.pending,
        "processing": q.processing,
        "oldest_age_seconds": q.oldest_age_seconds,
        "stuck": q.stuck,
    }))
}
