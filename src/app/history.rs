//! The dashboard's history: the worker's runs from its logs (`procman::history`), read off the UI
//! thread when the dashboard opens (the Events timeline starts from them) and again on `H`,
//! which lists them in a popup; Enter on a run shows its last log lines.

use std::time::SystemTime;

use ratatui::crossterm::event::{KeyCode, KeyEvent};

use super::keymap::Command;
use super::model::{Mode, Model, EVENTS_CAP};
use super::msg::{Msg, Tx};
use super::update::Effect;
use crate::config::Config;
use crate::procman::history::{self, End, History, Limits, Live};

/// Runs the popup and the timeline get at most (the newest).
pub const RUNS: usize = 200;
/// Runs the timeline starts from.
pub const SEED_RUNS: usize = 20;

/// What a read brought: the runs (or why there are none) and the timeline's entries for them.
#[derive(Debug, Clone)]
pub struct HistoryRead {
    pub result: Result<History, String>,
    /// (when, text), oldest first: each run's start and end.
    pub seed: Vec<(SystemTime, String)>,
}

/// The model's part.
#[derive(Debug, Clone, Default)]
pub struct HistoryState {
    pub read: Option<Result<History, String>>,
    /// A read was asked for (the first status asks once).
    pub asked: bool,
    /// The timeline was seeded (once).
    pub seeded: bool,
    pub loading: bool,
}

/// Read the history off the UI thread; answers with [`Msg::History`].
pub fn read(cfg: Config, live: Option<Live>, tx: Tx) {
    let _ = std::thread::Builder::new()
        .name("history".into())
        .spawn(move || {
            let limits = Limits {
                max_runs: RUNS,
                ..Limits::default()
            };
            let result =
                history::read(&cfg.data_dir, limits, live.as_ref()).map_err(|e| e.to_string());
            let seed = result.as_ref().map(seed).unwrap_or_default();
            let _ = tx.send(Msg::History(Box::new(HistoryRead { result, seed })));
        });
}

/// A log stamp (local time) as a point in time, with today's UTC offset.
fn at(t: chrono::NaiveDateTime) -> Option<SystemTime> {
    let off = *crate::platform::local_now().offset();
    let d = t.and_local_timezone(off).single()?;
    Some(SystemTime::from(d.with_timezone(&chrono::Utc)))
}

/// The timeline's entries for the newest [`SEED_RUNS`] runs, oldest first.
pub fn seed(h: &History) -> Vec<(SystemTime, String)> {
    let from = h.runs.len().saturating_sub(SEED_RUNS);
    let mut out = Vec::new();
    for r in &h.runs[from..] {
        let v = r
            .version
            .as_deref()
            .map(|v| format!(" (v{v})"))
            .unwrap_or_default();
        if let Some(t) = at(r.started) {
            out.push((t, format!("log: worker PID {} started{v}", r.pid)));
        }
        if r.end != End::Running {
            if let Some(t) = r.ended.and_then(at) {
                out.push((t, format!("log: worker PID {} {}", r.pid, r.brief())));
            }
        }
    }
    out.sort_by_key(|(t, _)| *t);
    out
}

/// The first status read asks for the history once (its live worker is then known).
pub fn on_status(m: &mut Model, fx: &mut Vec<Effect>) {
    if !m.history.asked {
        m.history.asked = true;
        m.history.loading = true;
        fx.push(Effect::ReadHistory(m.status.as_ref().and_then(Live::of)));
    }
}

/// A read arrived: keep it, and start the timeline from it the first time.
pub fn on_read(m: &mut Model, r: HistoryRead) {
    m.history.loading = false;
    if !m.history.seeded {
        m.history.seeded = true;
        // The runs before the dashboard opened come first; what it saw since stays after.
        let mut all: Vec<(SystemTime, String)> = r.seed;
        all.extend(m.events.drain(..));
        all.sort_by_key(|(t, _)| *t);
        let skip = all.len().saturating_sub(EVENTS_CAP);
        m.events = all.into_iter().skip(skip).collect();
    }
    if let (Mode::History { sel, .. }, Ok(h)) = (&mut m.mode, &r.result) {
        *sel = (*sel).min(h.runs.len().saturating_sub(1));
    }
    m.history.read = Some(r.result);
}

/// `H`: the popup on the newest run, and a fresh read.
pub fn open(m: &mut Model, fx: &mut Vec<Effect>) {
    m.mode = Mode::History {
        sel: 0,
        open: false,
        top: 0,
    };
    m.history.loading = true;
    fx.push(Effect::ReadHistory(m.status.as_ref().and_then(Live::of)));
}

/// The runs newest first, as the popup lists them.
pub fn runs_newest_first(m: &Model) -> Vec<&history::Run> {
    match &m.history.read {
        Some(Ok(h)) => h.runs.iter().rev().collect(),
        _ => Vec::new(),
    }
}

/// A key in the popup: ↑/↓ select (or scroll an open run), Enter opens the run's last lines,
/// Esc goes back (from a run to the list, from the list out).
pub fn key(m: &mut Model, k: &KeyEvent, sel: usize, open: bool, top: u16) {
    let n = runs_newest_first(m).len();
    let cmd = m.keys.lookup(k);
    let mut next = Mode::History { sel, open, top };
    match (k.code, cmd) {
        (KeyCode::Esc | KeyCode::Char('q'), _) if open => {
            next = Mode::History {
                sel,
                open: false,
                top: 0,
            }
        }
        (KeyCode::Esc | KeyCode::Char('q'), _) | (_, Some(Command::History)) => next = Mode::Normal,
        (KeyCode::Enter, _) if !open && n > 0 => {
            next = Mode::History {
                sel,
                open: true,
                top: 0,
            }
        }
        (KeyCode::Enter, _) if open => {
            next = Mode::History {
                sel,
                open: false,
                top: 0,
            }
        }
        (_, Some(Command::ScrollDown)) if open => {
            next = Mode::History {
                sel,
                open,
                top: top.saturating_add(1),
            }
        }
        (_, Some(Command::ScrollUp)) if open => {
            next = Mode::History {
                sel,
                open,
                top: top.saturating_sub(1),
            }
        }
        (_, Some(Command::ScrollDown)) => {
            next = Mode::History {
                sel: (sel + 1).min(n.saturating_sub(1)),
                open,
                top,
            }
        }
        (_, Some(Command::ScrollUp)) => {
            next = Mode::History {
                sel: sel.saturating_sub(1),
                open,
                top,
            }
        }
        (_, Some(Command::PageDown)) => {
            next = Mode::History {
                sel: (sel + 10).min(n.saturating_sub(1)),
                open,
                top,
            }
        }
        (_, Some(Command::PageUp)) => {
            next = Mode::History {
                sel: sel.saturating_sub(10),
                open,
                top,
            }
        }
        (_, Some(Command::Top)) => next = Mode::History { sel: 0, open, top },
        (_, Some(Command::Quit)) => m.quit = Some(0),
        _ => {}
    }
    m.mode = next;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::update::{update, Effect};
    use ratatui::crossterm::event::KeyModifiers;

    fn history() -> History {
        let d = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(d.path().join("logs")).expect("logs");
        let text = "\
[2026-12-07 10:00:01.000] [INFO ] [SYSTEM] HTTP server started {host=127.0.0.1, port=1, pid=100}
[2026-12-07 10:05:00.000] [INFO ] [SHUTDOWN] Worker shutdown complete
[2026-12-07 10:06:01.000] [INFO ] [SYSTEM] HTTP server started {host=127.0.0.1, port=1, pid=200}
[2026-12-07 10:07:00.000] [ERROR] [WORKER] the last words
";
        std::fs::write(d.path().join("logs/claude-mem-2026-12-07.log"), text).expect("write");
        history::read(d.path(), Limits::default(), None).expect("history")
    }

    fn press(m: &mut Model, code: KeyCode) -> Vec<Effect> {
        update(m, Msg::Key(KeyEvent::new(code, KeyModifiers::NONE))).fx
    }

    #[test]
    fn the_timeline_starts_from_the_history_and_h_lists_the_runs() {
        let mut m = Model::new("/nonexistent".into(), SystemTime::now());
        m.event("dashboard opened");
        let h = history();
        let seed = seed(&h);
        assert_eq!(seed.len(), 4, "{seed:?}");
        update(
            &mut m,
            Msg::History(Box::new(HistoryRead {
                result: Ok(h),
                seed,
            })),
        );
        let texts: Vec<&str> = m.events.iter().map(|(_, t)| t.as_str()).collect();
        assert!(texts[0].contains("PID 100 started"), "{texts:?}");
        assert!(
            texts[3].contains("PID 200 unclean end 2026-12-07 10:07"),
            "{texts:?}"
        );
        assert_eq!(texts.last(), Some(&"dashboard opened"));

        let fx = press(&mut m, KeyCode::Char('H'));
        assert!(
            fx.iter().any(|f| matches!(f, Effect::ReadHistory(_))),
            "{fx:?}"
        );
        assert_eq!(
            m.mode,
            Mode::History {
                sel: 0,
                open: false,
                top: 0
            }
        );
        press(&mut m, KeyCode::Down);
        press(&mut m, KeyCode::Enter);
        assert_eq!(
            m.mode,
            Mode::History {
                sel: 1,
                open: true,
                top: 0
            }
        );
        press(&mut m, KeyCode::Esc);
        assert!(matches!(m.mode, Mode::History { open: false, .. }));
        press(&mut m, KeyCode::Esc);
        assert_eq!(m.mode, Mode::Normal);
    }
}
