//! Search what the worker remembers: observations, summaries and prompts whose text or title
//! match a phrase, newest first.
//!
//! With the worker up, its own search answers (`GET /api/search?format=json`, 13.x: FTS5, or
//! Chroma's semantic search where the user runs Chroma). With it down, or for a version without
//! that endpoint, the database is read as claude-mem's own SQLite search reads it: the phrase
//! against `observations_fts` and `session_summaries_fts`, prompts by `LIKE` on their text (as
//! 13.25.3 does), and `LIKE` over the text columns where a version has no FTS5 table or the
//! phrase is in a script FTS5 does not segment (CJK). The database is opened read-only by
//! [`super::db::open`]: nothing is created or written.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::Connection;
use serde::Serialize;

use super::activity::{self, Item, Kind};

/// Where to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// The worker when it answers, else the database.
    #[default]
    Auto,
    Worker,
    Db,
}

impl Source {
    /// For clap: `auto`, `worker`, `db`.
    pub fn parse(s: &str) -> Result<Source, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Source::Auto),
            "worker" | "api" => Ok(Source::Worker),
            "db" | "database" => Ok(Source::Db),
            _ => Err("use auto, worker or db".into()),
        }
    }
}

/// How an item was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Via {
    /// The worker's `GET /api/search`.
    Worker,
    /// The database's FTS5 index.
    Fts5,
    /// `LIKE` over the database's text columns.
    Like,
}

impl Via {
    pub fn describe(self) -> &'static str {
        match self {
            Via::Worker => "the worker's search API",
            Via::Fts5 => "the database (FTS5)",
            Via::Like => "the database (LIKE)",
        }
    }
}

/// Which kinds of items.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Scope {
    #[default]
    All,
    /// Observations, optionally of one type (`discovery`, `bugfix`, …).
    Observations(Option<String>),
    Summaries,
    Prompts,
}

impl Scope {
    /// `--type`: a kind (`observation`, `summary`, `prompt`, plurals, `session`), else an
    /// observation type, as claude-mem's `type` parameter reads it.
    pub fn parse(t: &str) -> Scope {
        match t.trim().to_ascii_lowercase().as_str() {
            "" | "all" => Scope::All,
            "observation" | "observations" | "obs" => Scope::Observations(None),
            "summary" | "summaries" | "session" | "sessions" => Scope::Summaries,
            "prompt" | "prompts" => Scope::Prompts,
            _ => Scope::Observations(Some(t.trim().to_string())),
        }
    }

    fn wants(&self, k: Kind) -> bool {
        matches!(
            (self, k),
            (Scope::All, _)
                | (Scope::Observations(_), Kind::Observation)
                | (Scope::Summaries, Kind::Summary)
                | (Scope::Prompts, Kind::Prompt)
        )
    }
}

/// What to look for.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub text: String,
    pub project: Option<String>,
    pub scope: Scope,
    /// Only items from then on (milliseconds since the epoch).
    pub since_ms: Option<i64>,
    pub limit: usize,
}

/// One item found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Hit {
    #[serde(flatten)]
    pub item: Item,
    pub via: Via,
}

/// What a search found, newest first, and what was noticed on the way.
#[derive(Debug, Clone, Default)]
pub struct Found {
    pub hits: Vec<Hit>,
    /// How the search ran (the worker, or the database's FTS5/LIKE).
    pub via: Option<Via>,
    pub notes: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    #[error("no database at {0}: nothing to search, and no worker answers")]
    NoDatabase(PathBuf),
    #[error("cannot read {path}: {msg}")]
    Db { path: PathBuf, msg: String },
    #[error("no worker to ask: {0}")]
    NoWorker(String),
}

impl SearchError {
    /// docs/usage.md: 1 nothing to read or a database that cannot be read · 7 `--source worker`
    /// and no worker answers.
    pub fn exit_code(&self) -> u8 {
        match self {
            SearchError::NoWorker(_) => 7,
            _ => 1,
        }
    }
}

/// Where the worker and the database are.
#[derive(Debug, Clone)]
pub struct Target {
    pub host: IpAddr,
    pub port: u16,
    pub db: PathBuf,
}

/// The largest search answer read from the worker (its rows carry every column).
const ANSWER_CAP: usize = 4 * 1024 * 1024;
const WORKER_TIMEOUT: Duration = Duration::from_secs(5);

/// Search: the worker first (unless `Source::Db`), then the database.
pub fn search(t: &Target, source: Source, q: &Query) -> Result<Found, SearchError> {
    let mut notes = Vec::new();
    if source != Source::Db {
        match ask_worker(t, q) {
            Ok(hits) => {
                return Ok(Found {
                    hits: finish(hits, q),
                    via: Some(Via::Worker),
                    notes,
                })
            }
            Err(why) if source == Source::Worker => return Err(SearchError::NoWorker(why)),
            Err(why) => notes.push(format!("{why}: searched the database instead")),
        }
    }
    if !t.db.is_file() {
        return Err(SearchError::NoDatabase(t.db.clone()));
    }
    let db_err = |e: rusqlite::Error| SearchError::Db {
        path: t.db.clone(),
        msg: e.to_string(),
    };
    let c = super::db::open(&t.db).map_err(db_err)?;
    let (hits, via) = search_db(&c, q, &mut notes).map_err(db_err)?;
    Ok(Found {
        hits: finish(hits, q),
        via: Some(via),
        notes,
    })
}

/// Newest first, within `since`, at most `limit`.
fn finish(mut hits: Vec<Hit>, q: &Query) -> Vec<Hit> {
    if let Some(since) = q.since_ms {
        hits.retain(|h| h.item.at_ms.is_none_or(|at| at >= since));
    }
    hits.sort_by(|a, b| {
        b.item
            .at_ms
            .cmp(&a.item.at_ms)
            .then(a.item.kind.cmp(&b.item.kind))
            .then(b.item.id.cmp(&a.item.id))
    });
    hits.truncate(q.limit.max(1));
    hits
}

/// Percent-encode a query parameter's value.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The request for claude-mem's `GET /api/search`.
pub fn api_path(q: &Query) -> String {
    let mut p = format!(
        "/api/search?query={}&format=json&orderBy=date_desc&limit={}",
        enc(&q.text),
        q.limit.max(1)
    );
    if let Some(proj) = &q.project {
        p.push_str(&format!("&project={}", enc(proj)));
    }
    let ty = match &q.scope {
        Scope::All => None,
        Scope::Observations(None) => Some("observations"),
        Scope::Observations(Some(t)) => Some(t.as_str()),
        Scope::Summaries => Some("sessions"),
        Scope::Prompts => Some("prompts"),
    };
    if let Some(ty) = ty {
        p.push_str(&format!("&type={}", enc(ty)));
    }
    // claude-mem parses the date with `new Date(…)`: an ISO time, not a number.
    if let Some(iso) = q
        .since_ms
        .and_then(chrono::DateTime::from_timestamp_millis)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
    {
        p.push_str(&format!("&dateStart={}", enc(&iso)));
    }
    p
}

fn get_json(
    t: &Target,
    path: &str,
    cap: usize,
    timeout: Duration,
) -> Result<serde_json::Value, String> {
    let probe = super::http::block_on(super::http::fetch_capped(
        t.host, t.port, "GET", path, timeout, cap,
    ))
    .map_err(|e| e.to_string())?;
    match probe.result {
        Ok(r) if r.truncated => Err(format!("its answer is larger than {} MB", cap >> 20)),
        Ok(r) if r.status == 200 => r.json().ok_or_else(|| "its answer is not JSON".into()),
        Ok(r) if r.status == 404 => Err("this worker version has no search API".into()),
        Ok(r) => Err(format!("its search answered HTTP {}", r.status)),
        Err(e) => Err(format!("no worker answers on port {} ({e})", t.port)),
    }
}

/// Ask the worker, if it is this data dir's (its `/api/stats` names the database it serves).
fn ask_worker(t: &Target, q: &Query) -> Result<Vec<Hit>, String> {
    let stats = get_json(
        t,
        "/api/stats",
        super::health::BODY_CAP,
        super::api::TIMEOUT,
    );
    if let Err(e) = &stats {
        if e.starts_with("no worker answers") {
            return Err(e.clone());
        }
    }
    if let Some(served) = stats
        .ok()
        .and_then(|s| s.pointer("/database/path")?.as_str().map(PathBuf::from))
    {
        if !same_file(&served, &t.db) {
            return Err(format!(
                "the worker on port {} serves {}, not {}",
                t.port,
                served.display(),
                t.db.display()
            ));
        }
    }
    let v = get_json(t, &api_path(q), ANSWER_CAP, WORKER_TIMEOUT)?;
    let mut hits = Vec::new();
    for (key, kind) in [
        ("observations", Kind::Observation),
        ("sessions", Kind::Summary),
        ("prompts", Kind::Prompt),
    ] {
        for row in v.get(key).and_then(|r| r.as_array()).into_iter().flatten() {
            if let Some(item) = activity::from_json_row(kind, row) {
                hits.push(Hit {
                    item,
                    via: Via::Worker,
                });
            }
        }
    }
    if v.get("observations").is_none() && v.get("content").is_some() {
        return Err("the worker answered text, not the JSON list".into());
    }
    Ok(hits)
}

fn same_file(a: &Path, b: &Path) -> bool {
    a == b
        || match (a.canonicalize(), b.canonicalize()) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        }
}

/// Does claude-mem search this text by substring (a script FTS5's tokenizer does not segment)?
fn unsegmented(s: &str) -> bool {
    s.chars().any(|c| {
        matches!(c as u32,
            0x3040..=0x30FF | 0x3100..=0x318F | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
            | 0xAC00..=0xD7AF | 0xF900..=0xFAFF)
    })
}

/// What each kind's table is searched by.
struct Table {
    kind: Kind,
    table: &'static str,
    fts: Option<&'static str>,
    /// The columns a `LIKE` search covers.
    like: &'static [&'static str],
}

const TABLES: [Table; 3] = [
    Table {
        kind: Kind::Observation,
        table: "observations",
        fts: Some("observations_fts"),
        like: &[
            "title",
            "subtitle",
            "narrative",
            "text",
            "facts",
            "concepts",
        ],
    },
    Table {
        kind: Kind::Summary,
        table: "session_summaries",
        fts: Some("session_summaries_fts"),
        like: &[
            "request",
            "investigated",
            "learned",
            "completed",
            "next_steps",
            "notes",
        ],
    },
    // 13.25.3 searches prompts by LIKE even though it keeps `user_prompts_fts`.
    Table {
        kind: Kind::Prompt,
        table: "user_prompts",
        fts: None,
        like: &["prompt_text"],
    },
];

fn names(c: &Connection, sql: &str) -> rusqlite::Result<Vec<String>> {
    let mut q = c.prepare(sql)?;
    let rows = q.query_map([], |r| r.get::<_, String>(0))?;
    rows.collect()
}

fn columns(c: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut q = c.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let rows = q.query_map([], |r| r.get::<_, String>(1))?;
    rows.collect()
}

/// The search against an open (read-only) database.
pub fn search_db(
    c: &Connection,
    q: &Query,
    notes: &mut Vec<String>,
) -> rusqlite::Result<(Vec<Hit>, Via)> {
    let tables = names(c, "SELECT name FROM sqlite_master WHERE type = 'table'")?;
    let mut hits = Vec::new();
    let mut used_fts = false;
    for t in &TABLES {
        if !q.scope.wants(t.kind) || !tables.iter().any(|n| n == t.table) {
            continue;
        }
        let cols = columns(c, t.table)?;
        let fts = t
            .fts
            .filter(|f| tables.iter().any(|n| n == f) && !unsegmented(&q.text));
        let found = match fts {
            Some(f) => match matches(c, t, &cols, q, Some(f)) {
                Ok(ids) => {
                    used_fts = true;
                    Ok((ids, Via::Fts5))
                }
                Err(e) => {
                    notes.push(format!("{f}: {e}: searched {} by LIKE", t.table));
                    matches(c, t, &cols, q, None).map(|ids| (ids, Via::Like))
                }
            },
            None => matches(c, t, &cols, q, None).map(|ids| (ids, Via::Like)),
        };
        let (ids, via) = found?;
        let projects: std::collections::HashMap<i64, Option<String>> =
            ids.iter().cloned().collect();
        let ids: Vec<i64> = ids.into_iter().map(|(id, _)| id).collect();
        for mut item in activity::read_ids(c, t.kind, &ids)? {
            if item.project.is_none() {
                item.project = projects.get(&item.id).cloned().flatten();
            }
            hits.push(Hit { item, via });
        }
    }
    Ok((hits, if used_fts { Via::Fts5 } else { Via::Like }))
}

/// The matching rows' ids (and, for prompts, their session's project), newest first.
fn matches(
    c: &Connection,
    t: &Table,
    cols: &[String],
    q: &Query,
    fts: Option<&str>,
) -> rusqlite::Result<Vec<(i64, Option<String>)>> {
    let has = |col: &str| cols.iter().any(|c| c == col);
    let mut wh: Vec<String> = Vec::new();
    let mut params: Vec<rusqlite::types::Value> = Vec::new();
    match fts {
        Some(f) => {
            wh.push(format!(
                "x.id IN (SELECT rowid FROM \"{f}\" WHERE \"{f}\" MATCH ?)"
            ));
            params.push(format!("\"{}\"", q.text.replace('"', "\"\"")).into());
        }
        None => {
            let like: Vec<&str> = t.like.iter().copied().filter(|c| has(c)).collect();
            if like.is_empty() {
                return Ok(Vec::new());
            }
            let pattern = format!(
                "%{}%",
                q.text
                    .replace('\\', "\\\\")
                    .replace('%', "\\%")
                    .replace('_', "\\_")
            );
            let ors: Vec<String> = like
                .iter()
                .map(|c| format!("x.\"{c}\" LIKE ? ESCAPE '\\'"))
                .collect();
            wh.push(format!("({})", ors.join(" OR ")));
            params.extend(like.iter().map(|_| pattern.clone().into()));
        }
    }
    // Prompts have their project in their session.
    let sessions = names(
        c,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'sdk_sessions'",
    )?;
    let join = if t.kind == Kind::Prompt && !sessions.is_empty() {
        let sc = columns(c, "sdk_sessions")?;
        let s_has = |col: &str| sc.iter().any(|c| c == col);
        if !s_has("project") {
            None
        } else if has("session_db_id") && s_has("id") {
            Some("LEFT JOIN sdk_sessions s ON s.id = x.session_db_id")
        } else if has("content_session_id") && s_has("content_session_id") {
            Some("LEFT JOIN sdk_sessions s ON s.content_session_id = x.content_session_id")
        } else if has("claude_session_id") && s_has("claude_session_id") {
            Some("LEFT JOIN sdk_sessions s ON s.claude_session_id = x.claude_session_id")
        } else {
            None
        }
    } else {
        None
    };
    let project_col = if join.is_some() {
        Some("s.project")
    } else if has("project") && t.kind != Kind::Prompt {
        Some("x.project")
    } else {
        None
    };
    if let Some(p) = &q.project {
        let Some(col) = project_col else {
            // No project to compare with: nothing of this kind is in that project.
            return Ok(Vec::new());
        };
        wh.push(format!("{col} = ?"));
        params.push(p.clone().into());
    }
    if let Scope::Observations(Some(ty)) = &q.scope {
        if !has("type") {
            return Ok(Vec::new());
        }
        wh.push("x.type = ?".into());
        params.push(ty.clone().into());
    }
    let epoch = has("created_at_epoch").then_some(
        "(CASE WHEN x.created_at_epoch < 100000000000 THEN x.created_at_epoch * 1000 ELSE x.created_at_epoch END)",
    );
    if let (Some(since), Some(e)) = (q.since_ms, epoch) {
        wh.push(format!("{e} >= ?"));
        params.push(since.into());
    }
    let order = epoch.map_or("x.id DESC".to_string(), |e| format!("{e} DESC, x.id DESC"));
    params.push(i64::try_from(q.limit.max(1)).unwrap_or(i64::MAX).into());
    let sql = format!(
        "SELECT x.id, {} FROM \"{}\" x {} WHERE {} ORDER BY {order} LIMIT ?",
        project_col.filter(|_| join.is_some()).unwrap_or("NULL"),
        t.table,
        join.unwrap_or(""),
        wh.join(" AND "),
    );
    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(params), |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, Option<String>>(1)?))
    })?;
    rows.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// claude-mem 13.25.3's tables (the columns search reads) with its FTS5 tables and triggers.
    fn db_13x(fts: bool) -> (tempfile::TempDir, PathBuf) {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("claude-mem.db");
        let c = Connection::open(&p).expect("open");
        c.execute_batch(
            "CREATE TABLE sdk_sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, content_session_id TEXT NOT NULL, memory_session_id TEXT UNIQUE, project TEXT NOT NULL, started_at TEXT NOT NULL, started_at_epoch INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'active');
             CREATE TABLE observations (id INTEGER PRIMARY KEY AUTOINCREMENT, memory_session_id TEXT NOT NULL, project TEXT NOT NULL, text TEXT, type TEXT NOT NULL, title TEXT, subtitle TEXT, facts TEXT, narrative TEXT, concepts TEXT, files_read TEXT, files_modified TEXT, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);
             CREATE TABLE session_summaries (id INTEGER PRIMARY KEY AUTOINCREMENT, memory_session_id TEXT NOT NULL, project TEXT NOT NULL, request TEXT, investigated TEXT, learned TEXT, completed TEXT, next_steps TEXT, notes TEXT, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);
             CREATE TABLE user_prompts (id INTEGER PRIMARY KEY AUTOINCREMENT, session_db_id INTEGER, content_session_id TEXT NOT NULL, prompt_number INTEGER NOT NULL, prompt_text TEXT NOT NULL, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);",
        )
        .expect("schema");
        if fts {
            c.execute_batch(
                "CREATE VIRTUAL TABLE observations_fts USING fts5(title, subtitle, narrative, text, facts, concepts, content='observations', content_rowid='id');
                 CREATE TRIGGER observations_ai AFTER INSERT ON observations BEGIN INSERT INTO observations_fts(rowid, title, subtitle, narrative, text, facts, concepts) VALUES (new.id, new.title, new.subtitle, new.narrative, new.text, new.facts, new.concepts); END;
                 CREATE VIRTUAL TABLE session_summaries_fts USING fts5(request, investigated, learned, completed, next_steps, notes, content='session_summaries', content_rowid='id');
                 CREATE TRIGGER session_summaries_ai AFTER INSERT ON session_summaries BEGIN INSERT INTO session_summaries_fts(rowid, request, investigated, learned, completed, next_steps, notes) VALUES (new.id, new.request, new.investigated, new.learned, new.completed, new.next_steps, new.notes); END;",
            )
            .expect("fts");
        }
        c.execute_batch(
            "INSERT INTO sdk_sessions (content_session_id, memory_session_id, project, started_at, started_at_epoch) VALUES ('c1', 'm1', 'web', 'x', 1764583200000);
             INSERT INTO observations (memory_session_id, project, type, title, narrative, created_at, created_at_epoch) VALUES
               ('m1', 'web', 'discovery', 'Parser alpha notes', 'The zebrafish parser handles brackets', 'x', 1764583201000),
               ('m1', 'api', 'decision', 'Cache decision', 'We chose quokka caching', 'x', 1764583202000),
               ('m1', 'web', 'bugfix', 'Deploy marmot plan', 'blue green', 'x', 1764583203000);
             INSERT INTO session_summaries (memory_session_id, project, request, learned, created_at, created_at_epoch) VALUES ('m1', 'web', 'speed up the quokka cache', 'it works', 'x', 1764583204000);
             INSERT INTO user_prompts (session_db_id, content_session_id, prompt_number, prompt_text, created_at, created_at_epoch) VALUES (1, 'c1', 1, 'why is quokka slow?', 'x', 1764583205000);",
        )
        .expect("rows");
        (d, p)
    }

    fn run(p: &Path, q: Query) -> (Vec<Hit>, Via) {
        let c = crate::procman::db::open(p).expect("open ro");
        let mut notes = Vec::new();
        let (hits, via) = search_db(&c, &q, &mut notes).expect("search");
        (finish(hits, &q), via)
    }

    fn q(text: &str) -> Query {
        Query {
            text: text.into(),
            limit: 20,
            ..Query::default()
        }
    }

    #[test]
    fn fts5_finds_a_word_of_the_text_and_every_kind_newest_first() {
        let (_d, p) = db_13x(true);
        let (hits, via) = run(&p, q("zebrafish"));
        assert_eq!(via, Via::Fts5);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].item.title, "Parser alpha notes");
        let (hits, _) = run(&p, q("quokka"));
        let kinds: Vec<Kind> = hits.iter().map(|h| h.item.kind).collect();
        assert_eq!(kinds, [Kind::Prompt, Kind::Summary, Kind::Observation]);
        assert_eq!(hits[0].via, Via::Like, "prompts by LIKE, as 13.25.3");
        assert_eq!(
            hits[0].item.project.as_deref(),
            Some("web"),
            "a prompt's project from its session"
        );
        assert_eq!(hits[1].via, Via::Fts5);
    }

    #[test]
    fn filters_by_project_type_since_and_limit() {
        let (_d, p) = db_13x(true);
        let only = |mut qq: Query| {
            qq.text = "quokka".into();
            run(&p, qq)
                .0
                .into_iter()
                .map(|h| (h.item.kind, h.item.id))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            only(Query {
                project: Some("api".into()),
                limit: 20,
                ..Query::default()
            }),
            [(Kind::Observation, 2)]
        );
        assert_eq!(
            only(Query {
                scope: Scope::parse("summary"),
                limit: 20,
                ..Query::default()
            }),
            [(Kind::Summary, 1)]
        );
        assert_eq!(
            only(Query {
                scope: Scope::parse("decision"),
                limit: 20,
                ..Query::default()
            }),
            [(Kind::Observation, 2)]
        );
        assert_eq!(
            only(Query {
                since_ms: Some(1_764_583_203_500),
                limit: 20,
                ..Query::default()
            }),
            [(Kind::Prompt, 1), (Kind::Summary, 1)]
        );
        assert_eq!(
            only(Query {
                limit: 1,
                ..Query::default()
            }),
            [(Kind::Prompt, 1)]
        );
    }

    #[test]
    fn without_fts5_tables_like_finds_the_same() {
        let (_d, p) = db_13x(false);
        let (hits, via) = run(&p, q("zebrafish"));
        assert_eq!(via, Via::Like);
        assert_eq!(hits.len(), 1);
        // LIKE's wildcards in the query are literal.
        assert!(run(&p, q("%")).0.is_empty());
        assert!(run(&p, q("a_b")).0.is_empty());
    }

    #[test]
    fn a_phrase_with_quotes_or_fts_syntax_is_searched_as_text() {
        let (_d, p) = db_13x(true);
        for odd in ["\"", "quokka OR", "NEAR(", "*", "marmot\" OR \"x"] {
            let _ = run(&p, q(odd));
        }
        assert_eq!(run(&p, q("deploy marmot")).0.len(), 1);
    }

    #[test]
    fn the_database_files_stay_as_they_were() {
        let (d, p) = db_13x(true);
        let before = std::fs::read(&p).expect("read");
        let _ = run(&p, q("quokka"));
        assert_eq!(std::fs::read(&p).expect("read"), before);
        for side in [
            "claude-mem.db-wal",
            "claude-mem.db-shm",
            "claude-mem.db-journal",
        ] {
            assert!(!d.path().join(side).exists(), "{side} created");
        }
    }

    #[test]
    fn the_api_request_carries_the_filters() {
        let p = api_path(&Query {
            text: "token expiry & co".into(),
            project: Some("my web".into()),
            scope: Scope::parse("summaries"),
            since_ms: Some(1_764_583_200_000),
            limit: 5,
        });
        assert_eq!(
            p,
            "/api/search?query=token%20expiry%20%26%20co&format=json&orderBy=date_desc&limit=5&project=my%20web&type=sessions&dateStart=2025-12-01T10%3A00%3A00.000Z"
        );
        assert!(unsegmented("東京") && !unsegmented("zebra"));
    }
}
