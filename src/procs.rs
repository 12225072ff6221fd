//! Text for `ps` and `reap`: the census as a table, workers first with their helpers under them,
//! then orphans.

use std::fmt::Write;
use std::path::Path;

use crate::config::fmt_bytes;
use crate::procman::census::{Census, Class, Member, ReapOutcome, Reaped};
use crate::procman::status::fmt_uptime;

/// `~` for the home dir, so paths fit.
pub fn short_path(p: &Path, home: Option<&Path>) -> String {
    if let Some(h) = home {
        if let Ok(rest) = p.strip_prefix(h) {
            return if rest.as_os_str().is_empty() {
                "~".into()
            } else {
                format!("~/{}", rest.display())
            };
        }
    }
    p.display().to_string()
}

/// Another user's process: its login name (else `uid N`); empty for this user's.
fn other_user(m: &Member) -> String {
    match (m.owner, crate::platform::current_uid()) {
        (Some(o), Some(me)) if o != me => m.user.clone().unwrap_or_else(|| format!("uid {o}")),
        _ => String::new(),
    }
}

fn row(s: &mut String, m: &Member, class: &str, home: Option<&Path>) {
    let ports: Vec<String> = m.ports.iter().map(u16::to_string).collect();
    let helpers = if m.class.is_worker() {
        m.helpers.to_string()
    } else {
        String::new()
    };
    let line = format!(
        "{:<8} {:<22} {:<9} {:<6} {:<22} {:>6} {:>9} {:>7} {:>7}  {}",
        m.pid,
        class,
        m.version.as_deref().unwrap_or("-"),
        if ports.is_empty() {
            "-".into()
        } else {
            ports.join(",")
        },
        m.data_dir
            .as_deref()
            .map_or_else(|| "?".into(), |d| short_path(d, home)),
        format!("{:.1}%", m.cpu_percent),
        fmt_bytes(m.rss_bytes),
        m.age_seconds.map_or_else(|| "-".into(), fmt_uptime),
        helpers,
        other_user(m),
    );
    let _ = writeln!(s, "{}", line.trim_end());
}

/// The `ps` table.
pub fn table(c: &Census, home: Option<&Path>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<8} {:<22} {:<9} {:<6} {:<22} {:>6} {:>9} {:>7} {:>7}  USER",
        "PID", "CLASS", "VERSION", "PORT", "DATA DIR", "CPU", "RSS", "AGE", "HELPERS"
    );
    if c.members.is_empty() {
        let _ = writeln!(s, "(no claude-mem process)");
        return s;
    }
    for w in c.workers() {
        row(&mut s, w, w.class.label(), home);
        for h in c.helpers_of(w.pid) {
            let kind = h.kind.map_or("child", |k| k.label());
            row(&mut s, h, &format!("└ {kind}"), home);
        }
    }
    let loose: Vec<&Member> = c
        .members
        .iter()
        .filter(|m| !m.class.is_worker() && m.worker.is_none())
        .collect();
    for h in &loose {
        let kind = h.kind.map_or("helper", |k| k.label());
        let class = if h.class == Class::OrphanedHelper {
            format!("orphaned {kind}")
        } else {
            kind.to_string()
        };
        row(&mut s, h, &class, home);
    }
    let orphans: Vec<&Member> = c.orphans().collect();
    if !orphans.is_empty() {
        let _ = writeln!(
            s,
            "\n{} orphaned helper(s), {}: `claude-mem-top reap --dry-run` lists what `reap` would end",
            orphans.len(),
            fmt_bytes(c.orphan_rss())
        );
    }
    s
}

/// What `reap` did, one line each.
pub fn reap_text(done: &[Reaped], dry_run: bool) -> String {
    let mut s = String::new();
    if done.is_empty() {
        let _ = writeln!(s, "No orphaned helpers");
        return s;
    }
    for r in done {
        let kind = r.kind.map_or("helper", |k| k.label());
        let what = match r.outcome {
            ReapOutcome::Listed => "would end",
            ReapOutcome::Ended => "ended",
            ReapOutcome::Killed => "killed (SIGKILL after the grace period)",
            ReapOutcome::Changed => "left alone: no longer the process seen",
            ReapOutcome::NotOurs => "left alone: another user's",
            ReapOutcome::Survived => "still alive after SIGKILL",
            ReapOutcome::Gone => "gone already (ended with its launcher or server)",
        };
        // A launcher's command is a whole script (`node -e …`): its start says what it is.
        let command: String = if r.command.chars().count() > 100 {
            format!("{}…", r.command.chars().take(99).collect::<String>())
        } else {
            r.command.clone()
        };
        let _ = writeln!(
            s,
            "{what}: PID {} ({kind}, {}) {command}",
            r.pid,
            fmt_bytes(r.rss_bytes),
        );
    }
    let total: u64 = done.iter().map(|r| r.rss_bytes).sum();
    let _ = writeln!(
        s,
        "{} {} orphaned helper(s), {}",
        if dry_run { "Would end" } else { "Handled" },
        done.len(),
        fmt_bytes(total)
    );
    s
}
