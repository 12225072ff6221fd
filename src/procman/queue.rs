//! The worker's processing queue and what is stuck: `pending_messages` rows (pending and
//! processing, oldest first, each with its age), the observer's failures
//! (`observer-health.json`) and the hooks' (`state/hook-failures.json`). Read-only: the
//! database through [`super::db::open`], the files through the pipeline's parsers. In 13.25.3
//! a failure is not a row: it is the observer's file and the log.

use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;

use super::files;
use super::pipeline::{self, Hooks, Observer};
use crate::config::Config;

/// One message waiting for the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: i64,
    /// `observation` or `summarize`.
    pub kind: Option<String>,
    /// `pending` or `processing`.
    pub status: Option<String>,
    pub tool: Option<String>,
    pub project: Option<String>,
    pub cwd: Option<String>,
    /// Claude Code's session id.
    pub session: Option<String>,
    /// When it was queued, ISO 8601 UTC.
    pub queued_at: Option<String>,
    pub age_seconds: Option<u64>,
    /// Older than the stall threshold.
    pub stuck: bool,
}

/// The queue, oldest first, and the failures around it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Queue {
    /// Whether the database has a `pending_messages` table to read.
    pub available: bool,
    pub pending: u64,
    pub processing: u64,
    /// Rows of other statuses (older versions kept processed and failed rows).
    pub other: Vec<(String, u64)>,
    pub oldest_age_seconds: Option<u64>,
    pub stall_after_seconds: u64,
    pub stuck: u64,
    /// The oldest messages (at most [`MAX_LISTED`]).
    pub messages: Vec<Message>,
    pub observer: Option<Observer>,
    pub hooks: Option<Hooks>,
    pub notes: Vec<String>,
}

/// Messages listed at most (the counts cover all).
pub const MAX_LISTED: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("cannot read {path}: {msg}")]
    Db {
        path: std::path::PathBuf,
        msg: String,
    },
}

impl QueueError {
    /// docs/usage.md: 1.
    pub fn exit_code(&self) -> u8 {
        1
    }
}

/// Read the queue of `cfg`'s data dir at `now_ms`.
pub fn read(cfg: &Config, stall_after: Duration, now_ms: i64) -> Result<Queue, QueueError> {
    let mut q = Queue {
        stall_after_seconds: stall_after.as_secs(),
        ..Queue::default()
    };
    let db = cfg.path("claude-mem.db");
    if db.is_file() {
        let err = |e: rusqlite::Error| QueueError::Db {
            path: db.clone(),
            msg: e.to_string(),
        };
        let c = super::db::open(&db).map_err(err)?;
        read_db(&c, &mut q, stall_after, now_ms).map_err(err)?;
    } else {
        q.notes.push(format!("no database at {}", db.display()));
    }
    read_files(cfg, &mut q);
    Ok(q)
}

fn read_files(cfg: &Config, q: &mut Queue) {
    let state = |name: &str| match files::read_capped(&cfg.path(name), 64 * 1024) {
        Ok(f) => Ok(f.map(|f| f.text)),
        Err(p) => Err(format!("{p}: ignored")),
    };
    match state(pipeline::OBSERVER_HEALTH_FILE).and_then(|t| {
        t.map(|t| pipeline::parse_observer(&t).map_err(|e| e.to_string()))
            .transpose()
    }) {
        Ok(o) => q.observer = o,
        Err(e) => q.notes.push(e),
    }
    let threshold = pipeline::hook_threshold(cfg);
    match state(pipeline::HOOK_FAILURES_FILE).and_then(|t| {
        t.map(|t| pipeline::parse_hooks(&t, threshold).map_err(|e| e.to_string()))
            .transpose()
    }) {
        Ok(h) => q.hooks = h,
        Err(e) => q.notes.push(e),
    }
}

fn columns(c: &Connection, table: &str) -> rusqlite::Result<HashSet<String>> {
    let mut s = c.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let names = s.query_map([], |r| r.get::<_, String>(1))?;
    names.collect()
}

fn col(cols: &HashSet<String>, name: &str) -> String {
    if cols.contains(name) {
        format!("CAST(m.\"{name}\" AS TEXT)")
    } else {
        "NULL".into()
    }
}

/// The queue's rows (any schema: absent columns read as absent).
pub fn read_db(
    c: &Connection,
    q: &mut Queue,
    stall_after: Duration,
    now_ms: i64,
) -> rusqlite::Result<()> {
    let cols = columns(c, "pending_messages")?;
    if !cols.contains("id") {
        q.notes
            .push("this database has no processing queue (pending_messages)".into());
        return Ok(());
    }
    q.available = true;
    let has_status = cols.contains("status");
    if has_status {
        let mut s = c.prepare(
            "SELECT COALESCE(status, '?'), COUNT(*) FROM pending_messages GROUP BY 1 ORDER BY 1",
        )?;
        let rows = s.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (status, n) = row?;
            let n = n.max(0) as u64;
            match status.as_str() {
                "pending" => q.pending = n,
                "processing" => q.processing = n,
                _ => q.other.push((status, n)),
            }
        }
    } else {
        q.pending = c
            .query_row("SELECT COUNT(*) FROM pending_messages", [], |r| {
                r.get::<_, i64>(0)
            })?
            .max(0) as u64;
    }
    let sessions = columns(c, "sdk_sessions")?;
    let (join, project) = if cols.contains("session_db_id")
        && sessions.contains("id")
        && sessions.contains("project")
    {
        (
            "LEFT JOIN sdk_sessions s ON s.id = m.session_db_id",
            "CAST(s.project AS TEXT)",
        )
    } else {
        ("", "NULL")
    };
    let epoch = if cols.contains("created_at_epoch") {
        "(CASE WHEN m.created_at_epoch < 100000000000 THEN m.created_at_epoch * 1000 ELSE m.created_at_epoch END)"
    } else {
        "NULL"
    };
    let session = if cols.contains("content_session_id") {
        col(&cols, "content_session_id")
    } else {
        col(&cols, "claude_session_id")
    };
    let filter = if has_status {
        "WHERE m.status IN ('pending', 'processing')"
    } else {
        ""
    };
    let sql = format!(
        "SELECT m.id, {kind}, {status}, {tool}, {project}, {cwd}, {session}, {epoch}, {created}
         FROM pending_messages m {join} {filter}
         ORDER BY {order} LIMIT {MAX_LISTED}",
        kind = col(&cols, "message_type"),
        status = col(&cols, "status"),
        tool = col(&cols, "tool_name"),
        cwd = col(&cols, "cwd"),
        created = col(&cols, "created_at"),
        order = if epoch == "NULL" {
            "m.id".to_string()
        } else {
            format!("{epoch}, m.id")
        },
    );
    let mut s = c.prepare(&sql)?;
    let rows = s.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Option<String>>(1)?,
            r.get::<_, Option<String>>(2)?,
            r.get::<_, Option<String>>(3)?,
            r.get::<_, Option<String>>(4)?,
            r.get::<_, Option<String>>(5)?,
            r.get::<_, Option<String>>(6)?,
            r.get::<_, Option<i64>>(7)?,
            r.get::<_, Option<String>>(8)?,
        ))
    })?;
    for row in rows {
        let (id, kind, status, tool, project, cwd, session, at_ms, created) = row?;
        let at_ms = at_ms.or_else(|| created.as_deref().and_then(parse_ms));
        let age = at_ms.map(|t| ((now_ms - t).max(0) / 1000) as u64);
        let stuck = age.is_some_and(|a| a >= stall_after.as_secs());
        q.messages.push(Message {
            id,
            kind: kind.filter(|s| !s.is_empty()),
            status,
            tool: tool.filter(|s| !s.is_empty()),
            project: project.filter(|s| !s.is_empty()),
            cwd: cwd.filter(|s| !s.is_empty()),
            session: session.filter(|s| !s.is_empty()),
            queued_at: at_ms
                .and_then(chrono::DateTime::from_timestamp_millis)
                .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
                .or(created),
            age_seconds: age,
            stuck,
        });
    }
    q.oldest_age_seconds = q.messages.iter().filter_map(|m| m.age_seconds).max();
    q.stuck = q.messages.iter().filter(|m| m.stuck).count() as u64;
    Ok(())
}

fn parse_ms(s: &str) -> Option<i64> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .ok()
        .map(|d| d.and_utc().timestamp_millis())
}

/// The queue for `--once --json`: the counts and the oldest pending age (one query).
pub fn summary(db: &Path, stall_after: Duration, now_ms: i64) -> Option<Queue> {
    if !db.is_file() {
        return None;
    }
    let c = super::db::open(db).ok()?;
    let mut q = Queue {
        stall_after_seconds: stall_after.as_secs(),
        ..Queue::default()
    };
    read_db(&c, &mut q, stall_after, now_ms).ok()?;
    q.messages.clear();
    Some(q)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_rows_of_several_ages_come_oldest_first_and_old_ones_are_stuck() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("claude-mem.db");
        let c = Connection::open(&p).expect("open");
        c.execute_batch(
            "CREATE TABLE sdk_sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, content_session_id TEXT NOT NULL, project TEXT NOT NULL);
             CREATE TABLE pending_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_db_id INTEGER NOT NULL, content_session_id TEXT NOT NULL, message_type TEXT NOT NULL, tool_name TEXT, cwd TEXT, status TEXT NOT NULL DEFAULT 'pending', created_at_epoch INTEGER NOT NULL);
             INSERT INTO sdk_sessions (content_session_id, project) VALUES ('c1', 'web');
             INSERT INTO pending_messages (session_db_id, content_session_id, message_type, tool_name, cwd, status, created_at_epoch) VALUES
               (1, 'c1', 'observation', 'Edit', '/p', 'pending', 1000000000000 - 60000),
               (1, 'c1', 'summarize', NULL, '/p', 'processing', 1000000000000 - 3600000),
               (1, 'c1', 'observation', 'Bash', '/p', 'pending', 1000000000000 - 5000);",
        )
        .expect("schema");
        drop(c);
        let c = crate::procman::db::open(&p).expect("ro");
        let mut q = Queue::default();
        read_db(&c, &mut q, Duration::from_secs(300), 1_000_000_000_000).expect("read");
        assert_eq!((q.pending, q.processing), (2, 1));
        let ages: Vec<Option<u64>> = q.messages.iter().map(|m| m.age_seconds).collect();
        assert_eq!(ages, [Some(3600), Some(60), Some(5)]);
        assert_eq!(q.stuck, 1);
        assert!(q.messages[0].stuck);
        assert_eq!(q.messages[0].kind.as_deref(), Some("summarize"));
        assert_eq!(q.messages[1].tool.as_deref(), Some("Edit"));
        assert_eq!(q.messages[1].project.as_deref(), Some("web"));
        assert_eq!(q.oldest_age_seconds, Some(3600));
    }
}
