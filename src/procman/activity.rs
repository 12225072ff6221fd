//! What the worker just stored: observations, prompts, summaries and sessions, newest first.
//!
//! New database rows are the source every version has (a manual `POST /api/memory/save` sends
//! no `/stream` frame, so rows are watched even where frames arrive). The database is opened
//! read-only by [`super::db::open`]; columns a version lacks read as absent, never as an error.
//! A [`Cursor`] remembers the newest row id of each table, so a re-read costs only the new rows.

use std::collections::HashSet;
use std::path::Path;

use rusqlite::Connection;
use serde::Serialize;

/// What kind of thing the worker stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Observation,
    Prompt,
    Summary,
    Session,
}

impl Kind {
    pub const ALL: [Kind; 4] = [
        Kind::Observation,
        Kind::Prompt,
        Kind::Summary,
        Kind::Session,
    ];

    /// A short word for the panel.
    pub fn label(self) -> &'static str {
        match self {
            Kind::Observation => "obs",
            Kind::Prompt => "prompt",
            Kind::Summary => "summary",
            Kind::Session => "session",
        }
    }

    fn index(self) -> usize {
        match self {
            Kind::Observation => 0,
            Kind::Prompt => 1,
            Kind::Summary => 2,
            Kind::Session => 3,
        }
    }
}

/// One thing the worker stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub kind: Kind,
    /// The row's id in its table (a `/stream` frame carries the same id).
    pub id: i64,
    /// When, in milliseconds since the epoch, where the row says.
    #[serde(skip)]
    pub at_ms: Option<i64>,
    /// When, as ISO 8601 UTC (or as the row wrote it when that does not parse).
    pub at: Option<String>,
    /// An observation's type (`discovery`, `bugfix`, …), a session's status, a prompt's number.
    pub label: Option<String>,
    /// One line: an observation's title, a prompt's text, a summary's request.
    pub title: String,
    pub project: Option<String>,
    /// The full text, for the detail view.
    pub text: String,
}

impl Item {
    /// The key that identifies an item across sources.
    pub fn key(&self) -> (Kind, i64) {
        (self.kind, self.id)
    }
}

/// The newest row id seen in each table (0: none yet).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Cursor([i64; 4]);

impl Cursor {
    pub fn last(&self, k: Kind) -> i64 {
        self.0[k.index()]
    }
}

/// Where a kind's rows live and which columns say what (the first present one wins).
struct Spec {
    kind: Kind,
    table: &'static str,
    epoch: &'static [&'static str],
    time: &'static [&'static str],
    label: &'static [&'static str],
    project: &'static [&'static str],
    /// The title's candidates, in order.
    title: &'static [&'static str],
    /// The detail's sections: (heading, column).
    text: &'static [(&'static str, &'static str)],
}

const SPECS: [Spec; 4] = [
    Spec {
        kind: Kind::Observation,
        table: "observations",
        epoch: &["created_at_epoch"],
        time: &["created_at"],
        label: &["type"],
        project: &["project"],
        title: &["title", "subtitle", "narrative", "text"],
        text: &[
            ("", "title"),
            ("", "subtitle"),
            ("Narrative", "narrative"),
            ("Text", "text"),
            ("Facts", "facts"),
            ("Concepts", "concepts"),
            ("Files read", "files_read"),
            ("Files modified", "files_modified"),
        ],
    },
    Spec {
        kind: Kind::Prompt,
        table: "user_prompts",
        epoch: &["created_at_epoch"],
        time: &["created_at"],
        label: &["prompt_number"],
        project: &[],
        title: &["prompt_text"],
        text: &[("", "prompt_text")],
    },
    Spec {
        kind: Kind::Summary,
        table: "session_summaries",
        epoch: &["created_at_epoch"],
        time: &["created_at"],
        label: &[],
        project: &["project"],
        title: &["request", "completed", "learned"],
        text: &[
            ("Request", "request"),
            ("Investigated", "investigated"),
            ("Learned", "learned"),
            ("Completed", "completed"),
            ("Next steps", "next_steps"),
            ("Notes", "notes"),
        ],
    },
    Spec {
        kind: Kind::Session,
        table: "sdk_sessions",
        epoch: &["started_at_epoch"],
        time: &["started_at"],
        label: &["status"],
        project: &["project"],
        title: &[
            "custom_title",
            "user_prompt",
            "content_session_id",
            "claude_session_id",
        ],
        text: &[
            ("", "custom_title"),
            ("Prompt", "user_prompt"),
            ("Session", "content_session_id"),
            ("Session", "claude_session_id"),
            ("Status", "status"),
        ],
    },
];

/// At most this many characters of one item's text are kept.
const TEXT_CAP: usize = 16 * 1024;

/// The newest `limit` items with ids above `since`, newest first, and the cursor after them.
pub fn read(db: &Path, since: Cursor, limit: usize) -> rusqlite::Result<(Vec<Item>, Cursor)> {
    let c = super::db::open(db)?;
    read_conn(&c, since, limit)
}

fn columns(c: &Connection, table: &str) -> rusqlite::Result<HashSet<String>> {
    let mut q = c.prepare(&format!("PRAGMA table_info(\"{table}\")"))?;
    let names = q.query_map([], |r| r.get::<_, String>(1))?;
    names.collect()
}

fn read_conn(c: &Connection, since: Cursor, limit: usize) -> rusqlite::Result<(Vec<Item>, Cursor)> {
    let mut items = Vec::new();
    let mut next = since;
    for spec in &SPECS {
        let cols = columns(c, spec.table)?;
        if !cols.contains("id") {
            continue;
        }
        let (rows, top) = read_table(c, spec, &cols, Rows::After(since.last(spec.kind)), limit)?;
        next.0[spec.kind.index()] = top.max(since.last(spec.kind));
        items.extend(rows);
    }
    sort_newest_first(&mut items);
    items.truncate(limit);
    Ok((items, next))
}

/// Newest first: by time where both know it, else by kind and id.
pub fn sort_newest_first(items: &mut [Item]) {
    items.sort_by(|a, b| {
        b.at_ms
            .cmp(&a.at_ms)
            .then(a.kind.cmp(&b.kind))
            .then(b.id.cmp(&a.id))
    });
}

fn pick<'a>(cols: &HashSet<String>, names: &[&'a str]) -> Option<&'a str> {
    names.iter().copied().find(|n| cols.contains(*n))
}

fn text_expr(col: Option<&str>) -> String {
    col.map_or("NULL".into(), |c| format!("CAST(\"{c}\" AS TEXT)"))
}

/// Which rows of a table [`read_table`] reads.
enum Rows<'a> {
    /// Ids above this one, newest first.
    After(i64),
    /// These ids.
    Ids(&'a [i64]),
}

/// The items of `kind` with these row ids (a search's matches), in no particular order. A
/// table or id that is not there gives none.
pub fn read_ids(c: &Connection, kind: Kind, ids: &[i64]) -> rusqlite::Result<Vec<Item>> {
    let Some(spec) = SPECS.iter().find(|s| s.kind == kind) else {
        return Ok(Vec::new());
    };
    let cols = columns(c, spec.table)?;
    if ids.is_empty() || !cols.contains("id") {
        return Ok(Vec::new());
    }
    Ok(read_table(c, spec, &cols, Rows::Ids(ids), ids.len())?.0)
}

/// An item from a row the worker's API answered as JSON (its keys are the table's columns).
pub fn from_json_row(kind: Kind, row: &serde_json::Value) -> Option<Item> {
    let spec = SPECS.iter().find(|s| s.kind == kind)?;
    let id = row.get("id")?.as_i64()?;
    let text = |col: &str| -> Option<String> {
        match row.get(col)? {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    };
    let first = |names: &[&str]| names.iter().find_map(|n| row.get(*n).map(|_| text(n)));
    let epoch = spec.epoch.iter().find_map(|e| row.get(*e)?.as_i64());
    let mut item = assemble(
        spec.kind,
        id,
        epoch,
        first(spec.time).flatten(),
        first(spec.label).flatten(),
        first(spec.project).flatten(),
        spec.title.iter().map(|t| text(t)),
        spec.text.iter().map(|(h, col)| (*h, text(col))),
    );
    if item.project.is_none() {
        // Prompts carry their session's project in the API's answer.
        item.project = text("project").filter(|p| !p.is_empty());
    }
    Some(item)
}

/// One item out of its columns' values: the first non-blank title, the sections joined under
/// their headings, the time from the epoch (else the text time).
#[allow(clippy::too_many_arguments)]
fn assemble<'h>(
    kind: Kind,
    id: i64,
    epoch: Option<i64>,
    time: Option<String>,
    label: Option<String>,
    project: Option<String>,
    titles: impl Iterator<Item = Option<String>>,
    sections: impl Iterator<Item = (&'h str, Option<String>)>,
) -> Item {
    let mut title = None;
    for t in titles {
        if let Some(t) = t.filter(|t| !t.trim().is_empty()) {
            title = Some(t);
            break;
        }
    }
    let mut text = String::new();
    for (heading, v) in sections {
        // An empty JSON list (`facts`, `concepts`, `files_read` of a manual memory) says nothing.
        let Some(v) = v.filter(|v| !v.trim().is_empty() && v.trim() != "[]") else {
            continue;
        };
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        if !heading.is_empty() {
            text.push_str(heading);
            text.push_str(":\n");
        }
        text.push_str(v.trim_end());
    }
    let at_ms = epoch
        .map(to_ms)
        .or_else(|| time.as_deref().and_then(parse_ms));
    Item {
        kind,
        id,
        at_ms,
        at: at_ms.and_then(iso).or(time),
        label: label.filter(|l| !l.is_empty()),
        title: one_line(title.as_deref().unwrap_or("")),
        project: project.filter(|p| !p.is_empty()),
        text: cap(text),
    }
}

fn read_table(
    c: &Connection,
    spec: &Spec,
    cols: &HashSet<String>,
    rows: Rows<'_>,
    limit: usize,
) -> rusqlite::Result<(Vec<Item>, i64)> {
    let epoch = pick(cols, spec.epoch);
    let sections: Vec<(&str, &str)> = spec
        .text
        .iter()
        .copied()
        .filter(|(_, col)| cols.contains(*col))
        .collect();
    let titles: Vec<&str> = spec
        .title
        .iter()
        .copied()
        .filter(|t| cols.contains(*t))
        .collect();
    let mut select = vec![
        "id".to_string(),
        epoch.map_or("NULL".into(), |e| format!("CAST(\"{e}\" AS INTEGER)")),
        text_expr(pick(cols, spec.time)),
        text_expr(pick(cols, spec.label)),
        text_expr(pick(cols, spec.project)),
    ];
    select.extend(titles.iter().map(|t| text_expr(Some(t))));
    select.extend(sections.iter().map(|(_, col)| text_expr(Some(col))));
    let (filter, after) = match rows {
        Rows::After(after) => ("id > ?1".to_string(), after),
        // Row ids are integers: inlined, they cannot inject anything.
        Rows::Ids(ids) => {
            let list: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
            (format!("id IN ({}) AND ?1 = ?1", list.join(",")), 0)
        }
    };
    let sql = format!(
        "SELECT {} FROM \"{}\" WHERE {filter} ORDER BY id DESC LIMIT ?2",
        select.join(", "),
        spec.table
    );
    let mut q = c.prepare(&sql)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut top = after;
    let mut out = Vec::new();
    let mut rows = q.query(rusqlite::params![after, limit])?;
    while let Some(r) = rows.next()? {
        let id: i64 = r.get(0)?;
        top = top.max(id);
        let epoch: Option<i64> = r.get(1)?;
        let time: Option<String> = r.get(2)?;
        let label: Option<String> = r.get(3)?;
        let project: Option<String> = r.get(4)?;
        let mut titles_v = Vec::with_capacity(titles.len());
        for i in 0..titles.len() {
            titles_v.push(r.get::<_, Option<String>>(5 + i)?);
        }
        let mut sections_v = Vec::with_capacity(sections.len());
        for (i, (heading, _)) in sections.iter().enumerate() {
            sections_v.push((*heading, r.get::<_, Option<String>>(5 + titles.len() + i)?));
        }
        out.push(assemble(
            spec.kind,
            id,
            epoch,
            time,
            label,
            project,
            titles_v.into_iter(),
            sections_v.into_iter(),
        ));
    }
    Ok((out, top))
}

/// Seconds or milliseconds, whichever the version stored.
fn to_ms(v: i64) -> i64 {
    if v.abs() < 100_000_000_000 {
        v.saturating_mul(1000)
    } else {
        v
    }
}

fn parse_ms(s: &str) -> Option<i64> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(d.timestamp_millis());
    }
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| chrono::NaiveDateTime::parse_from_str(s, f).ok())
    .map(|d| d.and_utc().timestamp_millis())
}

fn iso(ms: i64) -> Option<String> {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// The first line, whitespace folded, at most 200 characters.
pub fn one_line(s: &str) -> String {
    let folded: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = folded.chars().take(200).collect();
    if folded.chars().count() > 200 {
        out.push('…');
    }
    out
}

fn cap(mut s: String) -> String {
    if s.len() > TEXT_CAP {
        let mut end = TEXT_CAP;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("\n…");
    }
    s
}

/// The newest first, at most `cap`, each item once: `new` merged into `list`. An item seen
/// again replaces the one held when it says more (a database row after its `/stream` frame).
pub fn merge(list: &mut Vec<Item>, new: Vec<Item>, cap: usize) {
    for item in new {
        match list.iter_mut().find(|i| i.key() == item.key()) {
            Some(held) if item.text.len() > held.text.len() => *held = item,
            Some(_) => {}
            None => list.push(item),
        }
    }
    sort_newest_first(list);
    list.truncate(cap);
}

/// The item a `/stream` frame announces (frames that store nothing give none).
pub fn from_frame(f: &super::stream::Frame) -> Option<Item> {
    use super::stream::Frame;
    let item = |kind, id: Option<i64>, at: Option<i64>, label, title: &[Option<&str>], project| {
        let title = title
            .iter()
            .flatten()
            .find(|t| !t.trim().is_empty())
            .copied()
            .unwrap_or("");
        let at_ms = at.map(to_ms);
        Some(Item {
            kind,
            id: id?,
            at_ms,
            at: at_ms.and_then(iso),
            label,
            title: one_line(title),
            project,
            text: cap(title.trim_end().to_string()),
        })
    };
    match f {
        Frame::NewObservation(o) => item(
            Kind::Observation,
            o.id,
            o.created_at_epoch,
            o.kind.clone(),
            &[o.title.as_deref(), o.subtitle.as_deref()],
            o.project.clone(),
        ),
        Frame::NewPrompt(p) => item(
            Kind::Prompt,
            p.id,
            p.created_at_epoch,
            p.prompt_number.map(|n| n.to_string()),
            &[p.prompt_text.as_deref()],
            p.project.clone(),
        ),
        Frame::NewSummary(s) => item(
            Kind::Summary,
            s.id,
            s.created_at_epoch,
            None,
            &[s.request.as_deref(), s.completed.as_deref()],
            s.project.clone(),
        ),
        Frame::SessionStarted {
            session_db_id,
            project,
        } => item(
            Kind::Session,
            *session_db_id,
            None,
            Some("active".into()),
            &[Some("session started")],
            project.clone(),
        ),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_13x() -> (tempfile::TempDir, std::path::PathBuf) {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("claude-mem.db");
        let c = Connection::open(&p).expect("open");
        c.execute_batch(
            "CREATE TABLE sdk_sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, content_session_id TEXT NOT NULL, memory_session_id TEXT UNIQUE, project TEXT NOT NULL, user_prompt TEXT, started_at TEXT NOT NULL, started_at_epoch INTEGER NOT NULL, status TEXT NOT NULL DEFAULT 'active', custom_title TEXT);
             CREATE TABLE observations (id INTEGER PRIMARY KEY AUTOINCREMENT, memory_session_id TEXT NOT NULL, project TEXT NOT NULL, text TEXT, type TEXT NOT NULL, title TEXT, subtitle TEXT, facts TEXT, narrative TEXT, concepts TEXT, files_read TEXT, files_modified TEXT, prompt_number INTEGER, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);
             CREATE TABLE user_prompts (id INTEGER PRIMARY KEY AUTOINCREMENT, session_db_id INTEGER, content_session_id TEXT NOT NULL, prompt_number INTEGER NOT NULL, prompt_text TEXT NOT NULL, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);
             INSERT INTO sdk_sessions (content_session_id, project, user_prompt, started_at, started_at_epoch) VALUES ('c1', 'web', 'fix login', '2026-12-01T10:00:00.000Z', 1764583200000);
             INSERT INTO user_prompts (content_session_id, prompt_number, prompt_text, created_at, created_at_epoch) VALUES ('c1', 1, 'fix   the
login page', '2026-12-01T10:00:01.000Z', 1764583201000);
             INSERT INTO observations (memory_session_id, project, type, title, narrative, created_at, created_at_epoch) VALUES ('m1', 'web', 'bugfix', 'Login token expired early', 'The token TTL was seconds, not minutes.', '2026-12-01T10:00:05.000Z', 1764583205000);",
        )
        .expect("schema");
        (d, p)
    }

    #[test]
    fn reads_every_kind_newest_first_with_its_fields() {
        let (_d, p) = db_13x();
        let (items, cur) = read(&p, Cursor::default(), 10).expect("read");
        let kinds: Vec<Kind> = items.iter().map(|i| i.kind).collect();
        assert_eq!(kinds, [Kind::Observation, Kind::Prompt, Kind::Session]);
        let o = &items[0];
        assert_eq!(o.title, "Login token expired early");
        assert_eq!(o.label.as_deref(), Some("bugfix"));
        assert_eq!(o.project.as_deref(), Some("web"));
        assert_eq!(o.at.as_deref(), Some("2025-12-01T10:00:05.000Z"));
        assert!(o.text.contains("Narrative:\nThe token TTL"), "{}", o.text);
        assert_eq!(items[1].title, "fix the login page");
        assert_eq!(items[1].label.as_deref(), Some("1"));
        assert_eq!(cur.last(Kind::Observation), 1);
        assert_eq!(cur.last(Kind::Summary), 0, "absent table");
    }

    #[test]
    fn a_long_text_is_kept_to_16_kib_and_cut_on_a_character() {
        let short = "a".repeat(5000);
        assert_eq!(cap(short.clone()), short, "5,000 bytes stay whole");
        let exact = "b".repeat(TEXT_CAP);
        assert_eq!(cap(exact.clone()), exact);
        // Two-byte characters across the cap: cut before the one the cap would split.
        let long = format!("x{}", "é".repeat(TEXT_CAP));
        let cut = cap(long);
        assert!(
            cut.ends_with("\n…"),
            "ends {:?}",
            cut.chars().rev().take(4).collect::<String>()
        );
        let body = cut.trim_end_matches("\n…");
        assert_eq!(body.len(), TEXT_CAP - 1);
        assert!(body.starts_with('x') && body[1..].chars().all(|c| c == 'é'));
    }

    #[test]
    fn the_cursor_returns_only_new_rows() {
        let (_d, p) = db_13x();
        let (_, cur) = read(&p, Cursor::default(), 10).expect("read");
        let (none, same) = read(&p, cur, 10).expect("again");
        assert!(none.is_empty());
        assert_eq!(same, cur);
        let c = Connection::open(&p).expect("open rw");
        c.execute("INSERT INTO observations (memory_session_id, project, type, title, created_at, created_at_epoch) VALUES ('m1', 'web', 'feature', 'second', 'x', 1764583300)", []).expect("insert");
        let (new, next) = read(&p, cur, 10).expect("new");
        assert_eq!(new.len(), 1);
        assert_eq!(new[0].title, "second");
        // Seconds, not milliseconds: still the right time.
        assert_eq!(new[0].at_ms, Some(1_764_583_300_000));
        assert_eq!(next.last(Kind::Observation), 2);
    }

    #[test]
    fn an_old_schema_without_titles_or_epochs_still_reads() {
        let d = tempfile::tempdir().expect("tempdir");
        let p = d.path().join("old.db");
        let c = Connection::open(&p).expect("open");
        c.execute_batch(
            "CREATE TABLE observations (id INTEGER PRIMARY KEY, session_id INTEGER, text TEXT, created_at TEXT);
             INSERT INTO observations (text, created_at) VALUES ('plain text only', '2025-01-02 03:04:05');",
        )
        .expect("schema");
        let (items, _) = read(&p, Cursor::default(), 5).expect("read");
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].title, "plain text only");
        assert_eq!(items[0].at.as_deref(), Some("2025-01-02T03:04:05.000Z"));
        assert_eq!(items[0].label, None);
    }

    #[test]
    fn merge_keeps_each_item_once_newest_first_and_capped() {
        let it = |id, at| Item {
            kind: Kind::Observation,
            id,
            at_ms: Some(at),
            at: None,
            label: None,
            title: format!("{id}"),
            project: None,
            text: String::new(),
        };
        let mut list = vec![it(1, 10), it(2, 20)];
        merge(&mut list, vec![it(2, 20), it(3, 30), it(4, 5)], 3);
        let ids: Vec<i64> = list.iter().map(|i| i.id).collect();
        assert_eq!(ids, [3, 2, 1]);
    }

    #[test]
    fn one_line_folds_and_caps() {
        assert_eq!(one_line(" a\n\tb  c "), "a b c");
        let long = "x".repeat(300);
        assert_eq!(one_line(&long).chars().count(), 201);
    }

    #[test]
    fn a_stream_frame_becomes_an_item_and_its_row_fills_it_in() {
        use crate::procman::stream::{Frame, Observation};
        let f = Frame::NewObservation(Observation {
            id: Some(9),
            project: Some("web".into()),
            kind: Some("bugfix".into()),
            title: Some("Fixed the login".into()),
            created_at_epoch: Some(1_764_583_205_000),
            ..Default::default()
        });
        let it = from_frame(&f).expect("an item");
        assert_eq!(
            (it.kind, it.id, it.title.as_str()),
            (Kind::Observation, 9, "Fixed the login")
        );
        assert_eq!(it.label.as_deref(), Some("bugfix"));
        assert!(from_frame(&Frame::Connected).is_none());
        // The database row of the same observation says more: it replaces the frame's item.
        let mut list = vec![it.clone()];
        let row = Item {
            text: "Fixed the login\n\nNarrative:\nThe token expired early.".into(),
            ..it.clone()
        };
        merge(&mut list, vec![row.clone()], 10);
        assert_eq!(list, vec![row.clone()]);
        // The frame again (shorter) leaves the row.
        merge(&mut list, vec![it], 10);
        assert_eq!(list, vec![row]);
    }
}
