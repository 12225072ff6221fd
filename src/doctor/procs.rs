//! Doctor checks of the processes no PID file names: unmanaged, other versions, duplicates,
//! wedged listeners and orphaned helpers, from the status read's census.

use super::{ok, warn, Finding};
use crate::config::fmt_bytes;
use crate::procman::census::{Class, Member};
use crate::procman::status::Status;

fn listed(members: &[&Member]) -> String {
    members
        .iter()
        .map(|m| {
            let ports: Vec<String> = m.ports.iter().map(u16::to_string).collect();
            format!(
                "PID {}{}{}",
                m.pid,
                m.version
                    .as_deref()
                    .map(|v| format!(" v{v}"))
                    .unwrap_or_default(),
                if ports.is_empty() {
                    String::new()
                } else {
                    format!(" on port {}", ports.join(","))
                }
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn of(st: &Status, class: Class) -> Vec<&Member> {
    st.processes.iter().filter(|m| m.class == class).collect()
}

pub(super) fn check_unmanaged(st: &Status) -> Finding {
    const ID: &str = "unmanaged";
    const T: &str = "unmanaged worker";
    let found = of(st, Class::Unmanaged);
    if found.is_empty() {
        return ok(ID, T, "every worker on the port is named by a PID file");
    }
    warn(
        ID,
        T,
        format!(
            "{} answers on port {} but no valid PID file names it",
            listed(&found),
            st.port
        ),
        "claude-mem-top adopt (records it, so hooks and `stop` see it again)",
    )
}

pub(super) fn check_other_workers(st: &Status) -> Finding {
    const ID: &str = "other_workers";
    const T: &str = "other workers";
    let found = of(st, Class::OtherVersion);
    if found.is_empty() {
        return ok(ID, T, "no worker of another plugin version");
    }
    warn(
        ID,
        T,
        format!(
            "a worker of another plugin version still runs: {} (the hooks kill a mismatched worker and restart it)",
            listed(&found)
        ),
        "claude-mem-top ps lists them; stop the old one (`kill PID`) once you have checked it is not in use",
    )
}

pub(super) fn check_duplicates(st: &Status) -> Finding {
    const ID: &str = "duplicates";
    const T: &str = "duplicate workers";
    let found = of(st, Class::Duplicate);
    if found.is_empty() {
        return ok(ID, T, "one worker for this data dir");
    }
    warn(
        ID,
        T,
        format!(
            "{} more worker(s) for this data dir: {}",
            found.len(),
            listed(&found)
        ),
        "claude-mem-top ps lists them; stop the extra ones (the dashboard's K asks first)",
    )
}

pub(super) fn check_wedged(st: &Status) -> Finding {
    const ID: &str = "wedged";
    const T: &str = "wedged listeners";
    let found = of(st, Class::Wedged);
    if found.is_empty() {
        return ok(ID, T, "no wedged listener");
    }
    warn(
        ID,
        T,
        format!(
            "{} {}",
            listed(&found),
            crate::procman::status::WEDGED
        ),
        "claude-mem-top restart if it is the named worker; else stop it (`claude-mem-top ps` shows it)",
    )
}

pub(super) fn check_orphans(st: &Status) -> Finding {
    const ID: &str = "orphaned_helpers";
    const T: &str = "orphaned helpers";
    if st.orphans.is_empty() {
        return ok(ID, T, "no orphaned helper");
    }
    let rss: u64 = st.orphans.iter().map(|m| m.rss_bytes).sum();
    warn(
        ID,
        T,
        format!(
            "{} orphaned helper(s) using {}: {}",
            st.orphans.len(),
            fmt_bytes(rss),
            st.orphans
                .iter()
                .map(|m| format!("PID {} ({})", m.pid, m.kind.map_or("helper", |k| k.label())))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        "claude-mem-top reap --dry-run lists them; claude-mem-top reap ends them",
    )
}

/// The worker and its live helpers together above this: reported (the field's leaks reach tens
/// of GB; a healthy 13.x worker with its helpers stays well under 1 GB).
pub const MEMORY_WARN: u64 = 2 << 30;
/// More live helpers than this: reported (a leak; claude-mem runs a handful).
pub const HELPERS_WARN: usize = 20;

pub(super) fn check_memory(st: &Status) -> Finding {
    const ID: &str = "memory";
    const T: &str = "worker memory";
    let workers = of(st, Class::Worker);
    let helpers = of(st, Class::Helper);
    if workers.is_empty() && helpers.is_empty() {
        return ok(ID, T, "no worker of this data dir runs");
    }
    let rss: u64 = workers.iter().chain(&helpers).map(|m| m.rss_bytes).sum();
    let what = format!(
        "the worker{} and {} live helper(s) use {}",
        workers
            .iter()
            .map(|m| format!(" PID {}", m.pid))
            .collect::<String>(),
        helpers.len(),
        fmt_bytes(rss)
    );
    if rss <= MEMORY_WARN && helpers.len() <= HELPERS_WARN {
        return ok(ID, T, what);
    }
    warn(
        ID,
        T,
        format!(
            "{what}: above {} or {HELPERS_WARN} helpers, a leak",
            fmt_bytes(MEMORY_WARN)
        ),
        "claude-mem-top ps lists them; claude-mem-top restart frees them now, and \
         `claude-mem-top supervise --max-memory 1G` restarts the worker when it grows past 1 GB",
    )
}
