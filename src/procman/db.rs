//! The claude-mem SQLite database, read-only (the core's one reader: the dashboard's source,
//! doctor and the metrics all call [`read`]): never created, migrated or written. A WAL database
//! whose `-wal`/`-shm` are absent, or whose directory we cannot write, is opened immutable so
//! SQLite creates nothing. Short busy timeout; one short read transaction per sample.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// What a read of the database found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DbStats {
    pub counts: Vec<(String, u64)>,
    pub pending: Vec<(String, u64)>,
    pub schema: Option<i64>,
    pub size: u64,
    pub wal_size: Option<u64>,
    pub newest_observation: Option<String>,
}

/// The database's state for the dashboard, doctor and the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbState {
    Loading,
    Missing,
    Busy,
    Error(String),
    Ok(DbStats),
}

/// Tables counted when they exist (older schemas lack some).
pub const TABLES: &[(&str, &str)] = &[
    ("observations", "observations"),
    ("sdk_sessions", "sessions"),
    ("session_summaries", "summaries"),
    ("user_prompts", "prompts"),
    ("pending_messages", "pending"),
];

fn side(db: &Path, suffix: &str) -> PathBuf {
    let mut s = db.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// Is the file in WAL mode? Byte 18 of the header is 2 for WAL.
fn is_wal(db: &Path) -> bool {
    use std::io::Read;
    let mut h = [0u8; 20];
    std::fs::File::open(db)
        .and_then(|mut f| f.read_exact(&mut h))
        .map(|_| h[18] == 2)
        .unwrap_or(false)
}

/// A path for a SQLite `file:` URI: `?`, `#`, `%`, control bytes and every non-ASCII byte
/// percent-encoded, so SQLite decodes them back to the same bytes (UTF-8 stays UTF-8).
pub fn uri_path(db: &Path) -> String {
    let mut out = String::new();
    for &b in db.as_os_str().as_encoded_bytes() {
        if b.is_ascii() && !b.is_ascii_control() && !matches!(b, b'?' | b'#' | b'%') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Open read-only, immutable when SQLite would otherwise need to create files.
pub fn open(db: &Path) -> rusqlite::Result<Connection> {
    let wal = side(db, "-wal");
    let shm = side(db, "-shm");
    let dir = db.parent().unwrap_or(Path::new("."));
    let immutable =
        (is_wal(db) && !(wal.exists() && shm.exists())) || !crate::platform::dir_writable(dir);
    let mut uri = String::from("file:");
    uri.push_str(&uri_path(db));
    uri.push_str(if immutable {
        "?mode=ro&immutable=1"
    } else {
        "?mode=ro"
    });
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let c = Connection::open_with_flags(uri, flags)?;
    c.busy_timeout(Duration::from_millis(100))?;
    c.execute_batch("PRAGMA query_only = ON;")?;
    Ok(c)
}

pub fn read(db: &Path) -> DbState {
    let meta = match std::fs::metadata(db) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return DbState::Missing,
        // Not "no database yet": the data dir (or the file) cannot be read.
        Err(e) => return DbState::Error(format!("{}: {e}", db.display())),
    };
    let wal_size = std::fs::metadata(side(db, "-wal")).map(|m| m.len()).ok();
    match read_stats(db) {
        Ok(mut s) => {
            s.size = meta.len();
            s.wal_size = wal_size;
            DbState::Ok(s)
        }
        Err(e) => {
            let msg = e.to_string();
            if matches!(
                e.sqlite_error_code(),
                Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked)
            ) {
                DbState::Busy
            } else {
                DbState::Error(msg)
            }
        }
    }
}

fn read_stats(db: &Path) -> rusqlite::Result<DbStats> {
    let c = open(db)?;
    let mut s = DbStats::default();
    let tables: Vec<String> = {
        let mut q = c.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
        let rows = q.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    let has = |t: &str| tables.iter().any(|x| x == t);
    for (table, label) in TABLES {
        if has(table) {
            let n: i64 = c.query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |r| {
                r.get(0)
            })?;
            s.counts.push((label.to_string(), n.max(0) as u64));
        }
    }
    if has("pending_messages") && column_exists(&c, "pending_messages", "status")? {
        let mut q = c.prepare(
            "SELECT COALESCE(status, '?'), COUNT(*) FROM pending_messages GROUP BY 1 ORDER BY 1",
        )?;
        let rows = q.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?.max(0) as u64))
        })?;
        s.pending = rows.collect::<rusqlite::Result<_>>()?;
    }
    if has("schema_versions") {
        s.schema = c.query_row("SELECT MAX(version) FROM schema_versions", [], |r| {
            r.get::<_, Option<i64>>(0)
        })?;
    }
    if has("observations") {
        if column_exists(&c, "observations", "created_at_epoch")? {
            let ms: Option<i64> =
                c.query_row("SELECT MAX(created_at_epoch) FROM observations", [], |r| {
                    r.get(0)
                })?;
            s.newest_observation = ms.and_then(|ms| {
                // Seconds or milliseconds, whichever the version stored.
                let ms = if ms < 100_000_000_000 { ms * 1000 } else { ms };
                chrono::DateTime::from_timestamp_millis(ms)
                    .map(|d| d.format("%Y-%m-%d %H:%M").to_string())
            });
        } else if column_exists(&c, "observations", "created_at")? {
            s.newest_observation =
                c.query_row("SELECT MAX(created_at) FROM observations", [], |r| r.get(0))?;
        }
    }
    Ok(s)
}

/// Seconds or milliseconds, whichever the version stored, as milliseconds.
fn epoch_ms(v: i64) -> i64 {
    if v < 100_000_000_000 {
        v.saturating_mul(1000)
    } else {
        v
    }
}

/// Prompts against observations (for the pipeline's stall check): `Ok(None)` when there is no
/// database or it lacks `user_prompts`/`observations` with `created_at_epoch`.
pub fn prompt_flow(db: &Path) -> Result<Option<super::pipeline::PromptFlow>, String> {
    if std::fs::metadata(db).is_err() {
        return Ok(None);
    }
    read_prompt_flow(db).map_err(|e| {
        if matches!(
            e.sqlite_error_code(),
            Some(rusqlite::ErrorCode::DatabaseBusy) | Some(rusqlite::ErrorCode::DatabaseLocked)
        ) {
            "busy: the stall check waits for the next read".to_string()
        } else {
            e.to_string()
        }
    })
}

fn read_prompt_flow(db: &Path) -> rusqlite::Result<Option<super::pipeline::PromptFlow>> {
    let c = open(db)?;
    for t in ["user_prompts", "observations"] {
        if !column_exists(&c, t, "created_at_epoch")? {
            return Ok(None);
        }
    }
    let max = |t: &str| -> rusqlite::Result<Option<i64>> {
        c.query_row(
            &format!("SELECT MAX(created_at_epoch) FROM \"{t}\""),
            [],
            |r| r.get(0),
        )
    };
    let newest_obs = max("observations")?;
    let newest_prompt = max("user_prompts")?;
    // The prompts' own unit, so the comparison runs in SQL on the index.
    let prompt_in_ms = newest_prompt.is_some_and(|v| v >= 100_000_000_000);
    let after =
        newest_obs
            .map(epoch_ms)
            .map_or(i64::MIN, |ms| if prompt_in_ms { ms } else { ms / 1000 });
    let (n, first): (i64, Option<i64>) = c.query_row(
        "SELECT COUNT(*), MIN(created_at_epoch) FROM user_prompts WHERE created_at_epoch > ?1",
        [after],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Some(super::pipeline::PromptFlow {
        newest_prompt_ms: newest_prompt.map(epoch_ms),
        newest_observation_ms: newest_obs.map(epoch_ms),
        prompts_since_observation: n.max(0) as u64,
        oldest_unobserved_prompt_ms: first.map(epoch_ms),
    }))
}

fn column_exists(c: &Connection, table: &str, col: &str) -> rusqlite::Result<bool> {
    let mut q = c.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let names = q.query_map([], |r| r.get::<_, String>(1))?;
    for n in names {
        if n? == col {
            return Ok(true);
        }
    }
    Ok(false)
}

const DEMO_TITLES: [&str; 7] = [
    "Worker health check answers in 2 ms",
    "PID file written after the port listens",
    "Log rotation keeps one file per UTC day",
    "Settings port falls back to 37777",
    "Stale PID file recovered on start",
    "SQLite opened read-only by the dashboard",
    "Restart waits for the old port to close",
];

const DEMO_PROMPTS: [&str; 3] = [
    "why does the worker restart every hour?",
    "add a health check to the status command",
    "summarise what changed in the log rotation",
];

/// Create the demo database (only ever in the demo's own temporary dir).
pub fn create_demo(db: &Path) -> rusqlite::Result<()> {
    let c = Connection::open(db)?;
    c.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE schema_versions (id INTEGER PRIMARY KEY, version INTEGER UNIQUE, applied_at TEXT);
         CREATE TABLE sdk_sessions (id INTEGER PRIMARY KEY, claude_session_id TEXT, project TEXT, started_at TEXT, status TEXT);
         CREATE TABLE observations (id INTEGER PRIMARY KEY, session_id INTEGER, project TEXT, type TEXT, title TEXT, narrative TEXT, text TEXT, created_at TEXT, created_at_epoch INTEGER);
         CREATE TABLE session_summaries (id INTEGER PRIMARY KEY, session_id INTEGER, request TEXT, learned TEXT, created_at TEXT);
         CREATE TABLE user_prompts (id INTEGER PRIMARY KEY, session_id INTEGER, prompt_number INTEGER, prompt_text TEXT, created_at TEXT, created_at_epoch INTEGER);
         CREATE TABLE pending_messages (id INTEGER PRIMARY KEY, session_id INTEGER, status TEXT, created_at TEXT);",
    )?;
    let tx = c.unchecked_transaction()?;
    for v in 1..=52 {
        tx.execute(
            "INSERT INTO schema_versions (version, applied_at) VALUES (?1, '2026-01-01')",
            [v],
        )?;
    }
    let now = chrono::Utc::now().timestamp_millis();
    let kinds = ["discovery", "bugfix", "feature", "refactor", "decision"];
    for s in 0..24i64 {
        tx.execute(
            "INSERT INTO sdk_sessions (claude_session_id, project, started_at, status) VALUES (?1, 'claude-mem', '2026-11-24', 'completed')",
            [format!("demo-{s}")],
        )?;
        tx.execute(
            "INSERT INTO user_prompts (session_id, prompt_number, prompt_text, created_at, created_at_epoch) VALUES (?1, 1, ?2, '2026-11-24', ?3)",
            rusqlite::params![s, DEMO_PROMPTS[(s % 3) as usize], now - (24 - s) * 13 * 60_000 - 30_000],
        )?;
        if s % 2 == 0 {
            tx.execute("INSERT INTO session_summaries (session_id, request, learned, created_at) VALUES (?1, 'demo', 'demo', '2026-11-24')", [s])?;
        }
    }
    for i in 0..317i64 {
        let title = DEMO_TITLES[(i % DEMO_TITLES.len() as i64) as usize];
        tx.execute(
            "INSERT INTO observations (session_id, project, type, title, narrative, text, created_at, created_at_epoch) VALUES (?1, 'claude-mem', ?2, ?3, ?4, 'text', '2026-11-24', ?5)",
            rusqlite::params![
                i % 24,
                kinds[(i % 5) as usize],
                title,
                format!("A demo observation: {title}."),
                now - (317 - i) * 60_000
            ],
        )?;
    }
    for (status, n) in [
        ("pending", 3),
        ("processing", 1),
        ("processed", 41),
        ("failed", 2),
    ] {
        for _ in 0..n {
            tx.execute("INSERT INTO pending_messages (session_id, status, created_at) VALUES (1, ?1, '2026-11-24')", [status])?;
        }
    }
    tx.commit()?;
    Ok(())
}
