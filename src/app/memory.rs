//! Inside the memory, in the dashboard (issue 26): `/` with Activity focused searches the
//! memories as `claude-mem-top search` does (the worker's API, else the database's FTS5 or
//! `LIKE`), `Q` lists the queue oldest first with the stuck messages marked, `C` shows every
//! setting with its origin, `v` opens the worker's own web viewer. The reads go through the same
//! core as the commands (`procman::search`, `procman::queue`, `procman::settings`), off the UI
//! thread, and come back as [`Msg::Memory`].

use std::time::Duration;

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::model::{Focus, Mode, Model};
use super::msg::{Msg, Tx};
use super::update::Effect;
use crate::config::{Config, DataDirSource};
use crate::procman::activity::Item;
use crate::procman::queue::Queue;
use crate::procman::search::{self, Found};
use crate::procman::settings::{self, Report};
use crate::procman::status::State;

/// Items a dashboard search lists at most (newest first).
pub const SEARCH_LIMIT: usize = 50;
/// How long the browser opener gets to say whether it worked.
const OPENER_WAIT: Duration = Duration::from_secs(3);

/// A read (or the browser) the keys ask for, run off the UI thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Search the memories for `text`; the answer carries `seq`, so a late answer to an older
    /// search is dropped.
    Search {
        seq: u64,
        text: String,
    },
    Queue,
    Settings,
    /// Open this URL in the browser.
    OpenUrl(String),
}

/// What a job brought back.
#[derive(Debug)]
pub enum Read {
    Search {
        seq: u64,
        result: Result<Found, String>,
    },
    Queue(Result<Queue, String>),
    Settings(Result<Report, String>),
}

/// The search whose results the Activity panel shows instead of the live list.
#[derive(Debug, Clone)]
pub struct Results {
    pub query: String,
    pub seq: u64,
    /// `None` while the search runs.
    pub found: Option<Result<Found, String>>,
    /// The selected row (0: the newest).
    pub sel: usize,
}

impl Results {
    pub fn items(&self) -> Vec<&Item> {
        match &self.found {
            Some(Ok(f)) => f.hits.iter().map(|h| &h.item).collect(),
            _ => Vec::new(),
        }
    }
}

/// The model's part.
#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    /// The query line (after `/` with Activity focused).
    pub query: String,
    /// The search shown in the Activity panel (`None`: the live list).
    pub results: Option<Results>,
    /// The last search's number.
    pub seq: u64,
    pub queue: Option<Result<Queue, String>>,
    pub queue_loading: bool,
    pub settings: Option<Result<Report, String>>,
    pub settings_loading: bool,
}

/// Run a job off the UI thread; answers with [`Msg::Memory`] (a search, the queue, the
/// settings) or a notice and an event (the browser).
pub fn run(cfg: Config, stall_after: Duration, job: Job, tx: Tx) {
    let _ = std::thread::Builder::new()
        .name("memory".into())
        .spawn(move || {
            let read = match job {
                Job::Search { seq, text } => {
                    let t = search::Target {
                        host: cfg.host,
                        port: cfg.port,
                        db: cfg.path("claude-mem.db"),
                    };
                    let q = search::Query {
                        text,
                        limit: SEARCH_LIMIT,
                        ..search::Query::default()
                    };
                    Read::Search {
                        seq,
                        result: search::search(&t, search::Source::Auto, &q)
                            .map_err(|e| e.to_string()),
                    }
                }
                Job::Queue => {
                    let now = chrono::Utc::now().timestamp_millis();
                    Read::Queue(
                        crate::procman::queue::read(&cfg, stall_after, now)
                            .map_err(|e| e.to_string()),
                    )
                }
                Job::Settings => {
                    let flag =
                        (cfg.data_dir_source == DataDirSource::Flag).then(|| cfg.data_dir.clone());
                    Read::Settings(
                        settings::Inputs::current(flag)
                            .map(|i| settings::resolve(&i))
                            .map_err(|e| e.to_string()),
                    )
                }
                Job::OpenUrl(url) => {
                    let (text, ok) = match crate::platform::open_url(&url, OPENER_WAIT) {
                        Ok(prog) => (format!("viewer: {prog} opened {url}"), true),
                        Err(e) => (format!("viewer: {e}; open {url} yourself"), false),
                    };
                    let _ = tx.send(Msg::Event(text.clone()));
                    let _ = tx.send(Msg::Notice { text, ok });
                    return;
                }
            };
            let _ = tx.send(Msg::Memory(Box::new(read)));
        });
}

/// A read arrived.
pub fn on_read(m: &mut Model, r: Read) {
    match r {
        Read::Search { seq, result } => {
            if let Some(res) = m.memory.results.as_mut().filter(|r| r.seq == seq) {
                res.found = Some(result);
                res.sel = 0;
            }
        }
        Read::Queue(q) => {
            m.memory.queue_loading = false;
            m.memory.queue = Some(q);
        }
        Read::Settings(s) => {
            m.memory.settings_loading = false;
            m.memory.settings = Some(s);
        }
    }
}

/// `/` with Activity focused: the query line opens (empty).
pub fn start_query(m: &mut Model) {
    m.mode = Mode::FindMemory;
    m.memory.query.clear();
}

/// A key on the query line: printable keys type, Enter searches, Esc goes back to the live
/// list. Whether anything changed.
pub fn query_key(m: &mut Model, k: &KeyEvent, fx: &mut Vec<Effect>) -> bool {
    match k.code {
        KeyCode::Esc => {
            m.mode = Mode::Normal;
            m.memory.query.clear();
            m.memory.results = None;
        }
        KeyCode::Enter => {
            m.mode = Mode::Normal;
            let text = m.memory.query.trim().to_string();
            if text.is_empty() {
                m.memory.results = None;
                return true;
            }
            m.memory.seq += 1;
            let seq = m.memory.seq;
            m.memory.results = Some(Results {
                query: text.clone(),
                seq,
                found: None,
                sel: 0,
            });
            fx.push(Effect::Memory(Job::Search { seq, text }));
        }
        KeyCode::Backspace => {
            m.memory.query.pop();
        }
        KeyCode::Char(c) if !c.is_control() && m.memory.query.chars().count() < 200 => {
            m.memory.query.push(c);
        }
        _ => return false,
    }
    true
}

/// Esc in normal mode with Activity focused on search results: back to the live list.
pub fn esc(m: &mut Model) -> bool {
    if m.focus == Focus::Activity && m.memory.results.is_some() {
        m.memory.results = None;
        return true;
    }
    false
}

/// ↑/↓ in Activity move through the results while they are shown; false: not shown.
pub fn scroll(m: &mut Model, n: usize, up: bool) -> bool {
    let Some(r) = m.memory.results.as_mut() else {
        return false;
    };
    let last = r.items().len().saturating_sub(1);
    r.sel = if up {
        r.sel.saturating_sub(n)
    } else {
        r.sel.saturating_add(n).min(last)
    };
    true
}

/// What Enter opens in Activity while results are shown: `None` when the live list is shown,
/// `Some(None)` when there is nothing to open.
pub fn selected(m: &Model) -> Option<Option<Item>> {
    let r = m.memory.results.as_ref()?;
    let items = r.items();
    Some(
        items
            .get(r.sel.min(items.len().saturating_sub(1)))
            .map(|i| (*i).clone()),
    )
}

/// `Q`: the queue popup, and a fresh read.
pub fn open_queue(m: &mut Model, fx: &mut Vec<Effect>) {
    m.mode = Mode::Queue(0);
    m.memory.queue_loading = true;
    fx.push(Effect::Memory(Job::Queue));
}

/// `C`: the settings popup, and a fresh read.
pub fn open_settings(m: &mut Model, fx: &mut Vec<Effect>) {
    m.mode = Mode::Settings(0);
    m.memory.settings_loading = true;
    fx.push(Effect::Memory(Job::Settings));
}

/// The database changed while the queue is on screen: read it again.
pub fn on_db_change(m: &mut Model, fx: &mut Vec<Effect>) {
    if matches!(m.mode, Mode::Queue(_)) && !m.memory.queue_loading {
        m.memory.queue_loading = true;
        fx.push(Effect::Memory(Job::Queue));
    }
}

/// The worker's web viewer: `http://127.0.0.1:PORT/`.
pub fn viewer_url(m: &Model) -> Option<String> {
    m.status
        .as_ref()
        .map(|s| format!("http://127.0.0.1:{}/", s.port))
}

/// `v`: open the worker's web viewer in the browser when a worker answers; else say where it
/// would be.
pub fn viewer(m: &mut Model, fx: &mut Vec<Effect>) {
    let Some(url) = viewer_url(m) else {
        m.notice("no status read yet", false);
        return;
    };
    match m.state() {
        Some(State::Running | State::Unhealthy | State::Unmanaged) => {
            m.notice(format!("opening {url} …"), true);
            fx.push(Effect::Memory(Job::OpenUrl(url)));
        }
        _ => m.notice(
            format!("the worker is not running: its viewer is {url} when it runs"),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::update::update;
    use crate::procman::activity::Kind;
    use crate::procman::search::{Hit, Via};
    use ratatui::crossterm::event::KeyModifiers;
    use std::time::SystemTime;

    fn press(m: &mut Model, code: KeyCode) -> Vec<Effect> {
        update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))).fx
    }

    fn typed(m: &mut Model, s: &str) {
        for c in s.chars() {
            press(m, KeyCode::Char(c));
        }
    }

    fn hit(id: i64, title: &str) -> Hit {
        Hit {
            item: Item {
                kind: Kind::Observation,
                id,
                at_ms: Some(id * 1000),
                at: None,
                label: Some("discovery".into()),
                title: title.into(),
                project: Some("webapp".into()),
                text: format!("{title}\n\nthe text"),
            },
            via: Via::Fts5,
        }
    }

    fn found(hits: Vec<Hit>) -> Found {
        Found {
            hits,
            via: Some(Via::Fts5),
            notes: Vec::new(),
        }
    }

    #[test]
    fn slash_in_activity_searches_the_memories_and_esc_returns_to_the_live_list() {
        let mut m = Model::new("/d".into(), SystemTime::UNIX_EPOCH);
        m.focus = Focus::Activity;
        press(&mut m, KeyCode::Char('/'));
        assert_eq!(m.mode, Mode::FindMemory);
        typed(&mut m, "marmot q");
        assert_eq!(m.memory.query, "marmot q", "q types, not quits");
        assert_eq!(m.quit, None);
        press(&mut m, KeyCode::Backspace);
        press(&mut m, KeyCode::Backspace);
        let fx = press(&mut m, KeyCode::Enter);
        assert_eq!(
            fx,
            vec![Effect::Memory(Job::Search {
                seq: 1,
                text: "marmot".into()
            })]
        );
        assert_eq!(m.mode, Mode::Normal);
        assert!(m.memory.results.as_ref().is_some_and(|r| r.found.is_none()));
        // A late answer to an older search is dropped; this one's is kept.
        update(
            &mut m,
            Msg::Memory(Box::new(Read::Search {
                seq: 0,
                result: Ok(found(vec![hit(9, "old")])),
            })),
        );
        assert!(m.memory.results.as_ref().is_some_and(|r| r.found.is_none()));
        update(
            &mut m,
            Msg::Memory(Box::new(Read::Search {
                seq: 1,
                result: Ok(found(vec![hit(3, "Deploy marmot plan"), hit(2, "b")])),
            })),
        );
        // ↓ moves in the results (the live list's selection stays), Enter opens the item.
        press(&mut m, KeyCode::Down);
        assert_eq!(m.memory.results.as_ref().map(|r| r.sel), Some(1));
        assert_eq!(m.activity_sel, 0);
        press(&mut m, KeyCode::Up);
        press(&mut m, KeyCode::Enter);
        assert!(matches!(&m.mode, Mode::Detail { item, .. } if item.id == 3));
        press(&mut m, KeyCode::Esc);
        assert_eq!(m.mode, Mode::Normal);
        assert!(
            m.memory.results.is_some(),
            "closing the item keeps the results"
        );
        // Esc: the live list again.
        press(&mut m, KeyCode::Esc);
        assert!(m.memory.results.is_none());
        // Elsewhere `/` is the log search, as before.
        m.focus = Focus::Logs;
        press(&mut m, KeyCode::Char('/'));
        assert_eq!(m.mode, Mode::Search);
    }

    #[test]
    fn an_empty_query_or_esc_on_the_line_runs_nothing() {
        let mut m = Model::new("/d".into(), SystemTime::UNIX_EPOCH);
        m.focus = Focus::Activity;
        press(&mut m, KeyCode::Char('/'));
        typed(&mut m, "  ");
        assert!(press(&mut m, KeyCode::Enter).is_empty());
        assert!(m.memory.results.is_none());
        press(&mut m, KeyCode::Char('/'));
        typed(&mut m, "x");
        assert!(press(&mut m, KeyCode::Esc).is_empty());
        assert_eq!(
            (m.mode.clone(), m.memory.results.is_none()),
            (Mode::Normal, true)
        );
        // An error is kept to be shown.
        press(&mut m, KeyCode::Char('/'));
        typed(&mut m, "y");
        press(&mut m, KeyCode::Enter);
        let seq = m.memory.seq;
        update(
            &mut m,
            Msg::Memory(Box::new(Read::Search {
                seq,
                result: Err("no database".into()),
            })),
        );
        assert!(matches!(
            m.memory.results.as_ref().and_then(|r| r.found.as_ref()),
            Some(Err(_))
        ));
        assert_eq!(selected(&m), Some(None));
    }

    #[test]
    fn q_c_and_v_ask_for_their_reads_and_the_queue_follows_the_database() {
        let mut m = Model::new("/d".into(), SystemTime::UNIX_EPOCH);
        let fx = press(&mut m, KeyCode::Char('Q'));
        assert_eq!(fx, vec![Effect::Memory(Job::Queue)]);
        assert_eq!(m.mode, Mode::Queue(0));
        // Still reading: a database change asks nothing more.
        let db = crate::procman::db::DbState::Ok(Default::default());
        assert!(update(&mut m, Msg::Db(Box::new(db.clone()))).fx.is_empty());
        update(
            &mut m,
            Msg::Memory(Box::new(Read::Queue(Ok(Queue::default())))),
        );
        assert!(!m.memory.queue_loading);
        let db2 = crate::procman::db::DbState::Missing;
        assert_eq!(
            update(&mut m, Msg::Db(Box::new(db2))).fx,
            vec![Effect::Memory(Job::Queue)]
        );
        press(&mut m, KeyCode::Down);
        assert_eq!(m.mode, Mode::Queue(1));
        press(&mut m, KeyCode::Esc);
        assert_eq!(m.mode, Mode::Normal);

        assert_eq!(
            press(&mut m, KeyCode::Char('C')),
            vec![Effect::Memory(Job::Settings)]
        );
        assert_eq!(m.mode, Mode::Settings(0));
        press(&mut m, KeyCode::Esc);

        // v without a status says so; with a stopped worker it names the URL; with a running
        // one it opens it.
        assert!(press(&mut m, KeyCode::Char('v')).is_empty());
        let st = crate::procman::status::Status::new(
            41234,
            crate::config::PortSource::Default,
            "/d".into(),
        );
        update(&mut m, Msg::Status(Box::new(st)));
        assert!(press(&mut m, KeyCode::Char('v')).is_empty());
        assert!(m
            .result
            .as_ref()
            .is_some_and(|r| r.1.contains("http://127.0.0.1:41234/") && !r.2));
    }
}
