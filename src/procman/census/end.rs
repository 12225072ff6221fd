//! Ending census members: each proven again (same PID, same start, this user's) right before
//! its signal, through the platform layer's handle.

use std::time::Duration;

use serde::Serialize;

use super::{Census, HelperKind, Member};
use crate::config::Config;
use crate::platform::{self, Pid, Stop};
use crate::procman::ownership::norm;

/// What `reap` did with one orphan.
#[derive(Debug, Clone, Serialize)]
pub struct Reaped {
    pub pid: Pid,
    pub kind: Option<HelperKind>,
    pub command: String,
    pub rss_bytes: u64,
    pub outcome: ReapOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReapOutcome {
    /// Listed only (`--dry-run`).
    Listed,
    /// Ended by SIGTERM (Windows: terminated).
    Ended,
    /// Ended by SIGKILL after the grace period.
    Killed,
    /// Not signalled: it is no longer the process the census saw.
    Changed,
    /// Not signalled: another user's.
    NotOurs,
    /// Signalled but still alive after the grace period and SIGKILL.
    Survived,
    /// Gone before its signal: an MCP server or launcher that ended with its partner.
    Gone,
}

/// End these census members, each proven again (same PID, same start, ours) right before its
/// signal: SIGTERM, then SIGKILL after `grace`.
pub fn end(members: &[&Member], grace: Duration, dry_run: bool) -> Vec<Reaped> {
    // Claude Code's MCP launchers first: each forwards its signal to its server and exits.
    let mut members = members.to_vec();
    members.sort_by_key(|m| m.kind != Some(HelperKind::McpLauncher));
    members
        .iter()
        .map(|m| {
            let outcome = if dry_run {
                ReapOutcome::Listed
            } else if !m.is_ours() {
                ReapOutcome::NotOurs
            } else {
                end_one(m, grace)
            };
            Reaped {
                pid: m.pid,
                kind: m.kind,
                command: m.command.clone(),
                rss_bytes: m.rss_bytes,
                outcome,
            }
        })
        .collect()
}

fn end_one(m: &Member, grace: Duration) -> ReapOutcome {
    // The handle is opened only for this PID with this start: a reused PID fails here.
    let Some(handle) = platform::ProcHandle::open(m.pid, m.start) else {
        let pair = matches!(
            m.kind,
            Some(HelperKind::McpServer | HelperKind::McpLauncher)
        );
        return if pair && !platform::alive(m.pid) {
            ReapOutcome::Gone
        } else {
            ReapOutcome::Changed
        };
    };
    if !m.still_same() {
        return ReapOutcome::Changed;
    }
    // Graceful first where the OS has a way (SIGTERM; Windows has none for a process without
    // our console), then forced through the same handle.
    let graceful = handle.signal(Stop::Graceful);
    if graceful && handle.wait_exit(grace) {
        return ReapOutcome::Ended;
    }
    if !handle.signal(Stop::Force) {
        return if handle.exited() {
            ReapOutcome::Ended
        } else {
            ReapOutcome::Changed
        };
    }
    if !handle.wait_exit(Duration::from_secs(2)) {
        ReapOutcome::Survived
    } else if graceful {
        ReapOutcome::Killed
    } else {
        ReapOutcome::Ended
    }
}

/// The proven orphaned helpers of this data dir.
pub fn reapable(census: &Census, cfg: &Config) -> Vec<Member> {
    let here = norm(&cfg.data_dir);
    census
        .orphans()
        .filter(|m| m.data_dir.as_deref() == Some(here.as_path()) && m.tie.is_some())
        .cloned()
        .collect()
}
