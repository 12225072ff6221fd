//! The log panel on disk: `[` / `]` show the previous / next day's log file, and a search that
//! finds nothing more in the lines held looks through the whole file (off the UI thread, an
//! effect answered by [`Msg::LogWindow`]); the panel then shows the lines around the match.
//! Meanwhile the live log goes on being followed in the background; `f` or End go back to it.

use std::path::PathBuf;

use super::model::{LogView, Model};
use super::msg::{Msg, Tx};
use super::update::Effect;
use crate::config::Config;
use crate::logs::grep::Matcher;
use crate::logs::seek::{self, Window};

/// Lines shown of another day's file (its end), and around a match found on disk.
pub const DAY_LINES: usize = 1000;
pub const CONTEXT: usize = 300;

/// Which way a search goes: `n` older, `N` newer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Way {
    Older,
    Newer,
}

/// Where a file search starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// Before the file's last N lines (the live view holds them).
    TailLines(usize),
    /// At this offset (a line's start: the shown window's start or end).
    Offset(u64),
}

/// Work for [`run`].
#[derive(Debug, Clone, PartialEq)]
pub enum Job {
    /// The day before (`step` -1) or after (+1) the file `from`.
    Day { from: PathBuf, step: i32 },
    /// The nearest line matching `query` (case-insensitive) beyond `anchor`.
    Search {
        path: PathBuf,
        query: String,
        way: Way,
        anchor: Anchor,
    },
}

/// What a job found.
#[derive(Debug, Clone)]
pub enum Found {
    /// Show this window (a day's end, or the lines around a match at `mark`).
    Window(Window),
    /// `]` past the newest file: follow the live log again.
    Live,
    /// Nothing (no more matches, no older day): a note for the header.
    Nothing(String),
}

/// The model's part.
#[derive(Debug, Clone, Default)]
pub struct LogFileState {
    /// The live view, kept up to date while a window is shown in `Model::log`.
    live: Option<Box<LogView>>,
    /// The shown window's file and byte range.
    pub window: Option<(PathBuf, u64, u64)>,
    /// A search or read is under way.
    pub busy: bool,
}

impl LogFileState {
    pub fn showing_file(&self) -> bool {
        self.window.is_some()
    }
}

/// The view the log source's lines go to: the live one, wherever it is.
pub fn live_view(m: &mut Model) -> &mut LogView {
    match m.logfile.live.as_deref_mut() {
        Some(v) => v,
        None => &mut m.log,
    }
}

/// Back to the live log (`f`, End, `]` past the newest). Returns false if it was shown already.
pub fn back_to_live(m: &mut Model) -> bool {
    let Some(live) = m.logfile.live.take() else {
        return false;
    };
    let shown = std::mem::replace(&mut m.log, *live);
    carry_settings(&shown, &mut m.log);
    m.log.follow = true;
    m.log.scroll = 0;
    m.logfile.window = None;
    true
}

fn carry_settings(from: &LogView, to: &mut LogView) {
    to.set_min_level(from.min_level());
    to.wrap = from.wrap;
    to.timestamps = from.timestamps;
    to.query = from.query.clone();
    to.hscroll = from.hscroll;
}

/// `[` (-1) or `]` (+1).
pub fn step_day(m: &mut Model, step: i32, fx: &mut Vec<Effect>) {
    let from = m
        .logfile
        .window
        .as_ref()
        .map(|w| w.0.clone())
        .or_else(|| live_view(m).path.clone());
    let Some(from) = from else {
        m.notice("no log file yet", false);
        return;
    };
    if step > 0 && !m.logfile.showing_file() {
        m.notice("already the newest log (the live one)", true);
        return;
    }
    m.logfile.busy = true;
    fx.push(Effect::LogFile(Job::Day { from, step }));
}

/// The entry at the bottom of the view, and the matching entries held.
fn bottom_and_matches(m: &Model) -> (Option<u64>, Vec<u64>) {
    let total = m.log.filtered_len();
    let bottom = total.saturating_sub(1).saturating_sub(m.log.scroll);
    (
        m.log.filtered_at(bottom).map(|l| l.entry),
        m.log.matching_entries(),
    )
}

/// `n` / `N` (and Enter on the search line): when the lines held have no match that way, look
/// in the file on disk and return true; false leaves it to the in-memory jump.
pub fn search_beyond(m: &mut Model, way: Way, fx: &mut Vec<Effect>) -> bool {
    let query = m.log.query.clone();
    if query.is_empty() || m.logfile.busy {
        return false;
    }
    let (current, matches) = bottom_and_matches(m);
    let held = match (way, current) {
        (_, None) => false,
        (Way::Older, Some(c)) => matches.iter().any(|e| *e < c),
        (Way::Newer, Some(c)) => matches.iter().any(|e| *e > c),
    };
    if held {
        return false;
    }
    let (path, anchor) = match (&m.logfile.window, way) {
        (Some((p, 0, _)), Way::Older) => {
            // The window holds the file's start: nothing older to look for.
            let note = format!("no older match in {}", name(p));
            m.notice(note, false);
            return true;
        }
        (Some((p, start, _)), Way::Older) => (p.clone(), Anchor::Offset(*start)),
        (Some((p, _, end)), Way::Newer) => (p.clone(), Anchor::Offset(*end)),
        (None, Way::Older) => match m.log.path.clone() {
            Some(p) => (p, Anchor::TailLines(m.log.lines().len())),
            None => return false,
        },
        _ => return false,
    };
    m.logfile.busy = true;
    m.notice(format!("searching {} on disk…", name(&path)), true);
    fx.push(Effect::LogFile(Job::Search {
        path,
        query,
        way,
        anchor,
    }));
    true
}

fn name(p: &std::path::Path) -> String {
    p.file_name()
        .map(|n| crate::logs::sanitize(&n.to_string_lossy()))
        .unwrap_or_default()
}

/// A job's answer.
pub fn on_found(m: &mut Model, found: Found) {
    m.logfile.busy = false;
    match found {
        Found::Nothing(note) => m.notice(note, false),
        Found::Live => {
            back_to_live(m);
            m.notice("following the live log", true);
        }
        Found::Window(w) => {
            // The shown view's level, wrap, search… carry over to the new one.
            let mut v = LogView::default();
            carry_settings(&m.log, &mut v);
            if m.logfile.live.is_none() {
                let live = std::mem::take(&mut m.log);
                m.logfile.live = Some(Box::new(live));
            }
            v.path = Some(w.path.clone());
            for l in &w.lines {
                v.push(l);
            }
            v.follow = false;
            v.scroll = 0;
            m.logfile.window = Some((w.path.clone(), w.start, w.end));
            m.log = v;
            // The match's entry at the bottom of the view, as the in-memory jump puts it.
            if let Some(target) = w.mark.and_then(|i| m.log.lines().get(i)).map(|l| l.entry) {
                let shown: Vec<u64> = m.log.filtered().map(|l| l.entry).collect();
                if let Some(at) = shown.iter().rposition(|e| *e == target) {
                    m.log.scroll = shown.len() - 1 - at;
                }
                m.notice(
                    format!(
                        "match in {} (on disk; f: back to the live log)",
                        name(&w.path)
                    ),
                    true,
                );
            } else {
                m.notice(
                    format!(
                        "{} (on disk; [ ] other days, f: the live log)",
                        name(&w.path)
                    ),
                    true,
                );
            }
        }
    }
}

/// Do a job off the UI thread; answers with [`Msg::LogWindow`].
pub fn run(cfg: Config, job: Job, tx: Tx) {
    let _ = std::thread::Builder::new()
        .name("log-file".into())
        .spawn(move || {
            let found = work(&cfg.logs_dir(), &job).unwrap_or_else(Found::Nothing);
            let _ = tx.send(Msg::LogWindow(Box::new(found)));
        });
}

/// An I/O error as one line naming the file.
fn io(p: &std::path::Path) -> impl Fn(std::io::Error) -> String + '_ {
    move |e| format!("{}: {e}", name(p))
}

/// The job itself (blocking).
pub fn work(logs_dir: &std::path::Path, job: &Job) -> Result<Found, String> {
    match job {
        Job::Day { from, step } => {
            let all = crate::logs::grep::logs_in_range(logs_dir, None).map_err(io(logs_dir))?;
            let at = all.iter().position(|p| p.file_name() == from.file_name());
            let next = match at {
                Some(i) => i as i64 + i64::from(*step),
                None if *step < 0 => all.len() as i64 - 1,
                None => all.len() as i64,
            };
            if next < 0 {
                return Ok(Found::Nothing(format!("no log older than {}", name(from))));
            }
            let Some(p) = all.get(next as usize) else {
                return Ok(Found::Live);
            };
            if next as usize == all.len() - 1 && *step > 0 {
                return Ok(Found::Live);
            }
            seek::tail(p, DAY_LINES).map(Found::Window).map_err(io(p))
        }
        Job::Search {
            path,
            query,
            way,
            anchor,
        } => {
            let m = Matcher::insensitive(query).ok_or("the search text is too long")?;
            let from = match *anchor {
                Anchor::Offset(o) => o,
                Anchor::TailLines(n) => {
                    let len = std::fs::metadata(path).map_err(io(path))?.len();
                    seek::lines_back(path, len, n).map_err(io(path))?
                }
            };
            let hit = match way {
                Way::Older => seek::find_older(path, &m, from),
                Way::Newer => seek::find_newer(path, &m, from),
            }
            .map_err(io(path))?;
            let Some(at) = hit else {
                let which = if *way == Way::Older { "older" } else { "newer" };
                return Ok(Found::Nothing(format!(
                    "no {which} match for “{}” in {}",
                    crate::logs::sanitize(query),
                    name(path)
                )));
            };
            seek::window(path, at, CONTEXT, CONTEXT)
                .map(Found::Window)
                .map_err(io(path))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

    use super::*;
    use crate::app::model::Mode;
    use crate::app::update::update;

    fn key(m: &mut Model, c: KeyCode) -> Vec<Effect> {
        update(m, Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))).fx
    }

    /// Run the one file job an update asked for, and hand its answer back.
    fn answer(m: &mut Model, dir: &std::path::Path, fx: Vec<Effect>) {
        let [Effect::LogFile(job)] = &fx[..] else {
            panic!("expected one file job, got {fx:?}");
        };
        let found = work(&dir.join("logs"), job).expect("job");
        update(m, Msg::LogWindow(Box::new(found)));
    }

    fn bottom(m: &Model) -> String {
        let total = m.log.filtered_len();
        let i = total.saturating_sub(1).saturating_sub(m.log.scroll);
        m.log
            .filtered_at(i)
            .map(|l| l.text.clone())
            .unwrap_or_default()
    }

    #[test]
    fn days_and_a_search_past_the_lines_held_read_the_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let logs = dir.path().join("logs");
        std::fs::create_dir_all(&logs).expect("logs");
        let l = |d: &str, msg: &str| format!("[{d} 10:00:00.000] [INFO ] [W] {msg}\n");
        std::fs::write(
            logs.join("worker-2026-12-01.log"),
            l("2026-12-01", "the oldest needle"),
        )
        .expect("write");
        std::fs::write(
            logs.join("claude-mem-2026-12-02.log"),
            l("2026-12-02", "middle day"),
        )
        .expect("write");
        // The newest: its needle 4,000 lines before the end, past the 1,000 lines held.
        let mut newest = l("2026-12-03", "first");
        newest.push_str(&l("2026-12-03", "a NEEDLE early in the day"));
        for i in 0..4000 {
            newest.push_str(&l("2026-12-03", &format!("hay {i}")));
        }
        let newest_path = logs.join("claude-mem-2026-12-03.log");
        std::fs::write(&newest_path, &newest).expect("write");

        let mut m = Model::new(
            dir.path().to_path_buf(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        );
        m.size = (120, 40);
        update(
            &mut m,
            Msg::LogReset {
                path: Some(newest_path.clone()),
                lines: crate::logs::tail_lines(&newest_path, 1000),
                reason: crate::logs::follow::LogReset::Opened,
            },
        );
        assert_eq!(m.log.lines().len(), 1000);

        // `/needle` Enter: nothing in the lines held, so the file is searched.
        key(&mut m, KeyCode::Char('/'));
        for c in "needle".chars() {
            key(&mut m, KeyCode::Char(c));
        }
        let fx = key(&mut m, KeyCode::Enter);
        assert_eq!(m.mode, Mode::Normal);
        assert!(m.logfile.busy);
        answer(&mut m, dir.path(), fx);
        assert!(m.logfile.showing_file());
        assert!(
            bottom(&m).ends_with("a NEEDLE early in the day"),
            "{}",
            bottom(&m)
        );

        // The live log goes on meanwhile, out of sight; `f` brings it back, with the new line.
        update(
            &mut m,
            Msg::LogLines(vec![l("2026-12-03", "appended").trim_end().into()]),
        );
        assert!(!bottom(&m).contains("appended"));
        // `n` again: the window holds the file's start, so nothing older to look for.
        let fx = key(&mut m, KeyCode::Char('n'));
        assert!(fx.is_empty(), "{fx:?}");
        assert!(m
            .result
            .as_ref()
            .is_some_and(|r| r.1.contains("no older match")));
        key(&mut m, KeyCode::Char('f'));
        assert!(!m.logfile.showing_file());
        assert!(m.log.follow);
        assert!(bottom(&m).ends_with("appended"));

        // `[` twice: the middle day, then the oldest; once more: nothing older.
        let fx = key(&mut m, KeyCode::Char('['));
        answer(&mut m, dir.path(), fx);
        assert!(bottom(&m).ends_with("middle day"), "{}", bottom(&m));
        let fx = key(&mut m, KeyCode::Char('['));
        answer(&mut m, dir.path(), fx);
        assert!(bottom(&m).ends_with("the oldest needle"));
        let fx = key(&mut m, KeyCode::Char('['));
        answer(&mut m, dir.path(), fx);
        assert!(m
            .result
            .as_ref()
            .is_some_and(|r| r.1.contains("no log older")));
        // `]` twice: the middle day, then past it the live log.
        let fx = key(&mut m, KeyCode::Char(']'));
        answer(&mut m, dir.path(), fx);
        assert!(bottom(&m).ends_with("middle day"));
        let fx = key(&mut m, KeyCode::Char(']'));
        answer(&mut m, dir.path(), fx);
        assert!(!m.logfile.showing_file());
        assert!(bottom(&m).ends_with("appended"));
        // The search text stayed through it all.
        assert_eq!(m.log.query, "needle");
    }
}
