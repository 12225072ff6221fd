//! `update(model, msg) -> effects`: the only place the model changes. No I/O here.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::keymap::Command;
use super::model::{Focus, Mode, Model, ACTIVITY_CAP, HISTORY};
use super::msg::{Action, LogReset, Msg, ProcJob};
use crate::logs::Level;
use crate::procman::census::Class;
use crate::procman::status::{State, Status};

/// A worker younger than this that does not answer yet is starting (start's default health
/// timeout), not unhealthy.
const START_GRACE_SECS: u64 = 10;

pub use super::effect::Effect;

/// How long a key's result stays in the header.
pub const NOTICE_FOR: std::time::Duration = std::time::Duration::from_secs(8);
/// A state change clears a notice older than this.
const NOTICE_KEEP_ON_CHANGE: std::time::Duration = std::time::Duration::from_secs(2);

fn push_capped<T>(q: &mut std::collections::VecDeque<T>, v: T) {
    q.push_back(v);
    while q.len() > HISTORY {
        q.pop_front();
    }
}

/// What an update did: effects for the runtime, and whether the screen needs a new frame.
#[derive(Debug, Default, PartialEq)]
pub struct Updated {
    pub fx: Vec<Effect>,
    pub changed: bool,
}

fn whole_secs(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

pub fn update(m: &mut Model, msg: Msg) -> Updated {
    let mut fx = Vec::new();
    let mut changed = true;
    match msg {
        Msg::Tick(now) => {
            // The clock on screen (uptime, ages, event times) moves in whole seconds.
            changed = whole_secs(now) != whole_secs(m.now) || m.action.is_some();
            m.now = now;
            if m.action.is_some() {
                m.spinner = m.spinner.wrapping_add(1);
            }
            // A notice is not state: it goes after a few seconds (the timeline keeps it).
            if m.result
                .as_ref()
                .is_some_and(|(at, ..)| now.duration_since(*at).unwrap_or_default() >= NOTICE_FOR)
            {
                m.result = None;
                changed = true;
            }
            auto_restart_due(m, &mut fx);
            changed |= !fx.is_empty();
        }
        Msg::Mouse(ev) => changed = mouse(m, ev),
        Msg::Supervisor { state, stop_note } => {
            let had = m.supervisor.is_some();
            m.supervisor = state.map(|s| *s);
            m.auto.stop_note = stop_note;
            if m.supervisor.is_some() && !had && m.auto.on {
                m.auto.on = false;
                m.auto.next_at = None;
                m.event("a supervisor runs: dashboard auto-restart turned off");
            }
        }
        Msg::Resize(w, h) => m.size = (w, h),
        Msg::Key(k) => changed = key(m, k, &mut fx),
        Msg::Signal(sig) => m.quit = Some(sig.exit_code()),
        Msg::Event(e) => m.event(e),
        Msg::History(r) => super::history::on_read(m, *r),
        Msg::Memory(r) => super::memory::on_read(m, *r),
        Msg::LogWindow(f) => super::logfile::on_found(m, *f),
        Msg::Stream(ev) => {
            use crate::procman::stream::StreamEvent;
            // Frames that store something reach the Activity panel; the connection shows in its
            // title.
            changed = false;
            match ev {
                StreamEvent::Connected { port } => {
                    changed = m.stream.connected != Some(port);
                    m.stream.connected = Some(port);
                }
                StreamEvent::Frame(f) => {
                    if let Some(item) = crate::procman::activity::from_frame(&f) {
                        changed = merge_activity(m, vec![item]);
                    }
                    // The queue as the worker pushes it: the API is asked only now and then.
                    if let (
                        crate::procman::stream::Frame::ProcessingStatus {
                            is_processing,
                            queue_depth,
                        },
                        Some(a),
                    ) = (&f, m.api.as_mut())
                    {
                        changed |= a.queue_depth != Some(*queue_depth)
                            || a.processing != Some(*is_processing);
                        a.queue_depth = Some(*queue_depth);
                        a.processing = Some(*is_processing);
                    }
                    m.stream.frames += 1;
                    if m.stream.recent.len() >= super::model::StreamState::KEEP {
                        m.stream.recent.pop_front();
                    }
                    m.stream.recent.push_back(f);
                }
                StreamEvent::Dropped { why, retry_in } => {
                    changed = m.stream.connected.is_some();
                    m.stream.connected = None;
                    m.stream.last_drop = Some((why, retry_in));
                }
            }
        }
        Msg::Status(st) => {
            let prev = m.status.take();
            let (old_state, old_pid) = (
                prev.as_ref().map(|s| s.state()),
                prev.as_ref().and_then(|s| s.pid()),
            );
            let new_state = st.state();
            if let Some(p) = &st.probe {
                let us = if p.healthy() {
                    (p.latency.as_micros() as u64).max(1)
                } else {
                    0
                };
                push_capped(&mut m.latencies, us);
            }
            if matches!(new_state, State::Running | State::Unhealthy) {
                if st.healthy() {
                    m.consecutive_failures = 0;
                } else {
                    m.consecutive_failures += 1;
                }
            } else {
                m.consecutive_failures = 0;
            }
            // A worker that started moments ago and does not answer yet is starting, not
            // unhealthy: announce it only if the spell outlasts a start's health timeout.
            let starting = new_state == State::Unhealthy
                && st.uptime_seconds().is_some_and(|u| u < START_GRACE_SECS);
            let announced = m.announced;
            // While our own stop or restart runs, a worker that has removed its PID file and not
            // yet exited (13.x does so on shutdown) answers a moment without one: that is the
            // stop under way (the badge says STOPPING), not an unmanaged worker to announce.
            let stopping = new_state == State::Unmanaged
                && matches!(m.action, Some((Action::Stop | Action::Restart, _)));
            if announced != Some(new_state) && !starting && !stopping {
                m.announced = Some(new_state);
                // The state changed: a notice from before it (not the action that just
                // finished, whose result arrives with it) no longer describes the screen.
                if m.result.as_ref().is_some_and(|(at, ..)| {
                    m.now.duration_since(*at).unwrap_or_default() >= NOTICE_KEEP_ON_CHANGE
                }) {
                    m.result = None;
                }
                let pid = st.pid().map(|p| format!(" (PID {p})")).unwrap_or_default();
                let text = match (announced, new_state) {
                    (Some(State::Unhealthy), State::Running) => format!("health regained{pid}"),
                    (Some(State::Running), State::Unhealthy) => {
                        format!("health lost: {}", st.reason().unwrap_or("?"))
                    }
                    (_, State::Running) => format!("worker running{pid}"),
                    (None, State::Stopped) => "worker not running".to_string(),
                    (_, State::Stopped) => "worker stopped".to_string(),
                    (_, State::Stale) => {
                        format!("stale PID file: {}", st.reason().unwrap_or("?"))
                    }
                    (_, State::Unhealthy) => {
                        format!("worker unhealthy{pid}: {}", st.reason().unwrap_or("?"))
                    }
                    (_, State::Unmanaged) => format!("unmanaged worker on port {}{pid}", st.port),
                    (_, State::Taken) => st.reason().unwrap_or("port taken").to_string(),
                    (_, State::Unknown) => {
                        format!("state unknown: {}", st.reason().unwrap_or("?"))
                    }
                };
                m.event(text);
            } else if old_state == Some(new_state)
                && old_pid != st.pid()
                && st.pid().is_some()
                && new_state == State::Running
            {
                m.event(format!("worker PID changed to {}", st.pid().unwrap_or(0)));
            }
            let watch = match new_state {
                State::Running | State::Unhealthy => st.proven().map(|p| p.pid),
                State::Unmanaged => st.pid(),
                _ => None,
            };
            if watch != m.watched_pid {
                m.watched_pid = watch;
                if watch.is_none() {
                    m.metrics = None;
                }
                fx.push(Effect::WatchPid(watch));
            }
            if !matches!(
                new_state,
                State::Running | State::Unhealthy | State::Unmanaged
            ) {
                m.api = None;
            }
            // Every `/health` says the active sessions; the rest of the API is asked rarely.
            if let (Some(a), Some(n)) = (m.api.as_mut(), st.reported_active_sessions()) {
                a.active_sessions = Some(n);
            }
            let named = st.proven().map(|p| p.pid);
            if named != prev.as_ref().and_then(|p| p.proven()).map(|p| p.pid) {
                fx.push(Effect::CensusNamed(named));
            }
            auto_restart_watch(m, old_state, &st);
            pipeline_events(m, prev.as_ref().and_then(|p| p.pipeline.as_ref()), &st);
            m.status = Some(*st);
            super::history::on_status(m, &mut fx);
        }
        Msg::Api(a) => {
            changed = m.api.as_ref() != Some(&*a);
            m.api = Some(*a);
        }
        Msg::Files(files, when) => {
            changed = files != m.files;
            let first = m.files.is_empty();
            for f in &files {
                let old = m.files.iter().find(|o| o.name == f.name);
                if old != Some(f) && !first {
                    m.file_changed.insert(f.name.clone(), when);
                    if f.name == crate::procman::files::PID_FILE {
                        let what = if f.present {
                            format!("now {}", f.value)
                        } else {
                            "removed".into()
                        };
                        m.event(format!("PID file changed: {what}"));
                    }
                }
            }
            m.files = files;
        }
        Msg::LogReset {
            path,
            lines,
            reason,
        } => {
            let name = path
                .as_ref()
                .and_then(|p| p.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match reason {
                LogReset::Opened => {}
                LogReset::NewFile => m.event(format!("log rolled over to {name}")),
                LogReset::Truncated => m.event(format!("log {name} was truncated")),
                LogReset::Rotated => m.event(format!("log {name} was rotated")),
                LogReset::Removed => m.event("log file removed"),
            }
            // The live view, also while another file is shown (`[`, a match on disk).
            let v = super::logfile::live_view(m);
            v.clear();
            v.path = path;
            for l in &lines {
                v.push(l);
            }
        }
        Msg::LogLines(lines) => {
            let v = super::logfile::live_view(m);
            let before = v.filtered_len();
            for l in &lines {
                v.push(l);
            }
            if !v.follow {
                let after = v.filtered_len();
                v.scroll = v
                    .scroll
                    .saturating_add(after.saturating_sub(before))
                    .min(after);
            }
        }
        Msg::Metrics(s) => {
            if Some(s.pid) == m.watched_pid {
                if let Some(c) = s.cpu_percent {
                    push_capped(&mut m.cpu_hist, (c * 10.0).round() as u64);
                }
                push_capped(&mut m.rss_hist, s.rss_bytes / 1024);
                m.metrics = Some(s);
            }
        }
        Msg::Db(d) => {
            changed = m.db != *d;
            m.db = *d;
            if changed {
                super::memory::on_db_change(m, &mut fx);
            }
        }
        Msg::Activity(items) => changed = merge_activity(m, items),
        Msg::Census(c) => {
            changed = m.census.as_ref() != Some(&*c);
            let before = m.census.as_ref().map(|c| c.orphans().count());
            let now = c.orphans().count();
            if before.is_some_and(|b| b < now) {
                m.event(format!("{now} orphaned helper(s): X ends them"));
            }
            m.census = Some(*c);
            let n = m.proc_rows().len();
            m.procs_sel = m.procs_sel.min(n.saturating_sub(1));
        }
        Msg::ProcDone { job, result } => {
            m.proc_busy = false;
            let (text, ok) = match result {
                Ok(t) => (format!("{}: {t}", job.verb()), true),
                Err(e) => (format!("{} failed: {e}", job.verb()), false),
            };
            m.event(text.clone());
            m.notice(text, ok);
            fx.push(Effect::PokeCensus);
            fx.push(Effect::PokeHealth);
        }
        Msg::ActionDone {
            action,
            result,
            elapsed,
        } => {
            m.action = None;
            m.action_from = None;
            if action == Action::Start && result.is_ok() {
                m.auto.expect_alive = true;
            }
            let (text, ok) = match result {
                Ok(t) => (
                    format!("{} done in {} ms: {t}", action.verb(), elapsed.as_millis()),
                    true,
                ),
                Err(e) => (format!("{} failed: {e}", action.verb()), false),
            };
            m.event(text.clone());
            m.notice(text, ok);
            fx.push(Effect::PokeHealth);
            // The census taken while the action ran may list the old worker: take it again.
            fx.push(Effect::PokeCensus);
        }
        Msg::Notice { text, ok } => m.notice(text, ok),
        Msg::Suspend => fx.push(Effect::Suspend),
    }
    Updated { fx, changed }
}

/// New activity into the panel; the selection stays on its item while newer ones arrive above
/// it. Whether anything on screen changed.
fn merge_activity(m: &mut Model, items: Vec<crate::procman::activity::Item>) -> bool {
    let before = m.activity.clone();
    let selected = m.activity.get(m.activity_sel).map(|i| i.key());
    crate::procman::activity::merge(&mut m.activity, items, ACTIVITY_CAP);
    if let Some(k) = selected.filter(|_| m.activity_sel > 0) {
        m.activity_sel = m
            .activity
            .iter()
            .position(|i| i.key() == k)
            .unwrap_or_default();
    }
    m.activity != before
}

/// The wheel scrolls the panel under the pointer; a click focuses it.
fn mouse(m: &mut Model, ev: ratatui::crossterm::event::MouseEvent) -> bool {
    use ratatui::crossterm::event::MouseEventKind as K;
    if m.mode != Mode::Normal {
        return false;
    }
    let Some(panel) = crate::ui::panel_at(m.size, ev.column, ev.row) else {
        return false;
    };
    match ev.kind {
        K::ScrollUp | K::ScrollDown => {
            let was = m.focus;
            m.focus = panel;
            scroll(m, 3, ev.kind == K::ScrollUp);
            if !matches!(
                panel,
                Focus::Logs | Focus::Events | Focus::Processes | Focus::Activity
            ) {
                m.focus = was;
            }
            true
        }
        K::Down(_) => {
            let changed = m.focus != panel;
            m.focus = panel;
            changed
        }
        _ => false,
    }
}

/// y / Enter answers yes, n / Esc / q answers no; anything else leaves the question open.
fn answer(k: &KeyEvent) -> Option<bool> {
    match k.code {
        KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => Some(true),
        KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc | KeyCode::Char('q') => Some(false),
        _ => None,
    }
}

/// Keys, resolved by the one mode the dashboard is in. Returns whether anything changed.
fn key(m: &mut Model, k: KeyEvent, fx: &mut Vec<Effect>) -> bool {
    if k.kind == KeyEventKind::Release {
        return false;
    }
    let ctrl_c = k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl_c {
        m.quit = Some(0);
        return true;
    }
    // Ctrl-Z in raw mode is a key, not a signal: job control as in any shell program.
    if k.code == KeyCode::Char('z') && k.modifiers.contains(KeyModifiers::CONTROL) {
        fx.push(Effect::Suspend);
        return false;
    }
    match std::mem::take(&mut m.mode) {
        Mode::Confirm(a) => match answer(&k) {
            Some(true) => run(m, a, fx),
            Some(false) => {}
            None => m.mode = Mode::Confirm(a),
        },
        Mode::ConfirmProc(job) => match answer(&k) {
            Some(true) => {
                m.proc_busy = true;
                m.event(format!("{} requested", job.verb()));
                fx.push(Effect::RunProc(job));
            }
            Some(false) => {}
            None => m.mode = Mode::ConfirmProc(job),
        },
        Mode::Search => {
            m.mode = Mode::Search;
            match k.code {
                KeyCode::Esc => {
                    m.mode = Mode::Normal;
                    m.log.query.clear();
                }
                KeyCode::Enter => {
                    m.mode = Mode::Normal;
                    if !m.log.matching_entries().is_empty()
                        || !super::logfile::search_beyond(m, super::logfile::Way::Older, fx)
                    {
                        jump_match(m, Dir::AtOrOlder);
                    }
                }
                KeyCode::Backspace => {
                    m.log.query.pop();
                }
                KeyCode::Char(c) if !c.is_control() && m.log.query.chars().count() < 200 => {
                    m.log.query.push(c);
                }
                _ => return false,
            }
        }
        Mode::Detail { item, top } => match reader_key(m, &k, top) {
            Reader::Close => return true,
            Reader::Ignore => {
                m.mode = Mode::Detail { item, top };
                return false;
            }
            Reader::Scroll(top) => m.mode = Mode::Detail { item, top },
        },
        Mode::History { sel, open, top } => super::history::key(m, &k, sel, open, top),
        Mode::FindMemory => {
            m.mode = Mode::FindMemory;
            return super::memory::query_key(m, &k, fx);
        }
        Mode::Queue(top) => match reader_key(m, &k, top) {
            Reader::Close => return true,
            Reader::Ignore => {
                m.mode = Mode::Queue(top);
                return false;
            }
            Reader::Scroll(top) => m.mode = Mode::Queue(top),
        },
        Mode::Settings(top) => match reader_key(m, &k, top) {
            Reader::Close => return true,
            Reader::Ignore => {
                m.mode = Mode::Settings(top);
                return false;
            }
            Reader::Scroll(top) => m.mode = Mode::Settings(top),
        },
        Mode::HealthDetail(top) => match reader_key(m, &k, top) {
            Reader::Close => return true,
            Reader::Ignore => {
                m.mode = Mode::HealthDetail(top);
                return false;
            }
            Reader::Scroll(top) => m.mode = Mode::HealthDetail(top),
        },
        Mode::Help(top) => match m.keys.lookup(&k) {
            Some(Command::Quit) if k.code != KeyCode::Esc => m.quit = Some(0),
            Some(Command::ScrollDown) => m.mode = Mode::Help(top.saturating_add(1)),
            Some(Command::PageDown) => m.mode = Mode::Help(top.saturating_add(10)),
            Some(Command::ScrollUp) => m.mode = Mode::Help(top.saturating_sub(1)),
            Some(Command::PageUp) => m.mode = Mode::Help(top.saturating_sub(10)),
            _ => {}
        },
        Mode::Normal => {
            if k.code == KeyCode::Esc {
                if super::memory::esc(m) {
                    return true;
                }
                let had = !m.log.query.is_empty();
                m.log.query.clear();
                return had;
            }
            let Some(cmd) = m.keys.lookup(&k) else {
                return false;
            };
            command(m, cmd, fx);
        }
    }
    true
}

/// What a key does in a read-only popup (an Activity item, the Health detail).
enum Reader {
    Close,
    Scroll(u16),
    Ignore,
}

fn reader_key(m: &Model, k: &KeyEvent, top: u16) -> Reader {
    match (k.code, m.keys.lookup(k)) {
        (KeyCode::Esc | KeyCode::Enter | KeyCode::Char('q'), _) => Reader::Close,
        (_, Some(Command::ScrollDown)) => Reader::Scroll(top.saturating_add(1)),
        (_, Some(Command::PageDown)) => Reader::Scroll(top.saturating_add(10)),
        (_, Some(Command::ScrollUp)) => Reader::Scroll(top.saturating_sub(1)),
        (_, Some(Command::PageUp)) => Reader::Scroll(top.saturating_sub(10)),
        (_, Some(Command::Top)) => Reader::Scroll(0),
        _ => Reader::Ignore,
    }
}

/// What a command does in normal mode.
pub(crate) fn command(m: &mut Model, cmd: Command, fx: &mut Vec<Effect>) {
    let page = (m.size.1 as usize / 2).max(1);
    match cmd {
        Command::Quit => m.quit = Some(0),
        Command::Start => run(m, Action::Start, fx),
        Command::Stop => m.mode = Mode::Confirm(Action::Stop),
        Command::KillProcess => ask_proc(m, ProcKey::Kill),
        Command::ReapOrphans => ask_proc(m, ProcKey::Reap),
        Command::Adopt => ask_proc(m, ProcKey::Adopt),
        Command::Open if m.focus == Focus::Health => match m.status {
            Some(_) => m.mode = Mode::HealthDetail(0),
            None => m.notice("no status read yet", false),
        },
        Command::Open if m.focus == Focus::Activity && m.memory.results.is_some() => {
            match super::memory::selected(m).flatten() {
                Some(item) => {
                    m.mode = Mode::Detail {
                        item: Box::new(item),
                        top: 0,
                    }
                }
                None => m.notice("no search result to open (Esc: the live list)", false),
            }
        }
        Command::Open => match m.activity.get(m.activity_sel) {
            Some(item) if m.focus == Focus::Activity => {
                m.mode = Mode::Detail {
                    item: Box::new(item.clone()),
                    top: 0,
                }
            }
            _ if m.focus != Focus::Activity => m.notice(
                "Enter opens an Activity item or the Health detail: Tab to that panel first",
                false,
            ),
            _ => m.notice("no activity yet", false),
        },
        Command::Restart => m.mode = Mode::Confirm(Action::Restart),
        Command::AutoRestart => {
            if let Some(s) = &m.supervisor {
                m.notice(
                    format!(
                        "supervised by PID {}: auto-restart is its job",
                        s.supervisor_pid
                    ),
                    false,
                );
            } else {
                if m.auto.on {
                    m.auto.on = false;
                    m.auto.next_at = None;
                } else {
                    m.auto.turn_on();
                }
                m.event(format!(
                    "auto-restart {}",
                    if m.auto.on { "on" } else { "off" }
                ));
            }
        }
        Command::FocusNext | Command::FocusPrev => {
            let i = Focus::ORDER.iter().position(|f| *f == m.focus).unwrap_or(0);
            let n = Focus::ORDER.len();
            let j = if cmd == Command::FocusNext {
                (i + 1) % n
            } else {
                (i + n - 1) % n
            };
            m.focus = Focus::ORDER[j];
        }
        Command::Follow if super::logfile::back_to_live(m) => {}
        Command::Follow => {
            m.log.follow = !m.log.follow;
            if m.log.follow {
                m.log.scroll = 0;
            }
        }
        Command::Search if m.focus == Focus::Activity => super::memory::start_query(m),
        Command::Search => {
            m.mode = Mode::Search;
            m.log.query.clear();
        }
        Command::NextMatch => {
            if !super::logfile::search_beyond(m, super::logfile::Way::Older, fx) {
                jump_match(m, Dir::Older)
            }
        }
        Command::PrevMatch => {
            if !super::logfile::search_beyond(m, super::logfile::Way::Newer, fx) {
                jump_match(m, Dir::Newer)
            }
        }
        Command::LogPrevDay => super::logfile::step_day(m, -1, fx),
        Command::LogNextDay => super::logfile::step_day(m, 1, fx),
        Command::LevelDebug | Command::LevelInfo | Command::LevelWarn | Command::LevelError => {
            m.log.set_min_level(match cmd {
                Command::LevelInfo => Some(Level::Info),
                Command::LevelWarn => Some(Level::Warn),
                Command::LevelError => Some(Level::Error),
                _ => None,
            });
            m.log.scroll = 0;
            m.log.follow = true;
        }
        Command::Wrap => m.log.wrap = !m.log.wrap,
        Command::Timestamps => m.log.timestamps = !m.log.timestamps,
        Command::CopyEntry => copy(m, false, fx),
        Command::CopyPage => copy(m, true, fx),
        Command::Pager => match &m.log.path {
            Some(p) => fx.push(Effect::Pager(p.clone())),
            None => m.notice("no log file to open yet", false),
        },
        Command::Save => {
            let v = &m.log;
            let text: String = v
                .filtered()
                .map(|l| format!("{}\n", v.shown(&l.text)))
                .collect();
            let stem = v
                .path
                .as_ref()
                .and_then(|p| p.file_stem())
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "log".into());
            let stamp = chrono::DateTime::<chrono::Utc>::from(m.now).format("%Y%m%d-%H%M%S");
            fx.push(Effect::Save {
                name: format!("claude-mem-top-{stem}-{stamp}.txt"),
                text,
            });
        }
        Command::ScrollLeft => m.log.hscroll = m.log.hscroll.saturating_sub(HSTEP),
        Command::ScrollRight => {
            if m.log.wrap {
                m.notice("wrap is on: nothing to scroll (w)", false);
            } else {
                let widest = m
                    .log
                    .filtered()
                    .map(|l| m.log.shown(&l.text).chars().count())
                    .max()
                    .unwrap_or(0);
                m.log.hscroll = (m.log.hscroll + HSTEP).min(widest.saturating_sub(HSTEP));
            }
        }
        Command::Help => m.mode = Mode::Help(0),
        Command::History => super::history::open(m, fx),
        Command::Queue => super::memory::open_queue(m, fx),
        Command::Settings => super::memory::open_settings(m, fx),
        Command::Viewer => super::memory::viewer(m, fx),
        Command::ScrollUp => scroll(m, 1, true),
        Command::ScrollDown => scroll(m, 1, false),
        Command::PageUp => scroll(m, page, true),
        Command::PageDown => scroll(m, page, false),
        Command::Top => scroll(m, usize::MAX / 2, true),
        Command::Bottom => {
            if m.focus == Focus::Events {
                m.events_scroll = 0;
            } else if !super::logfile::back_to_live(m) {
                m.log.scroll = 0;
                m.log.follow = true;
            }
        }
    }
}

/// Columns ←/→ move the log by.
pub const HSTEP: usize = 8;

/// `y`: the selected entry (every line of it); `Y`: the lines on screen.
fn copy(m: &mut Model, page: bool, fx: &mut Vec<Effect>) {
    let v = &m.log;
    // A key press, not a frame: one pass over the filtered lines is fine here.
    let filtered: Vec<_> = v.filtered().collect();
    let Some(cur) = v.cursor(filtered.len()) else {
        m.notice("nothing to copy", false);
        return;
    };
    let chosen: Vec<&str> = if page {
        let rows = crate::ui::log_rows(m.size).max(1);
        let start = (cur + 1).saturating_sub(rows);
        filtered[start..=cur]
            .iter()
            .map(|l| v.shown(&l.text))
            .collect()
    } else {
        let entry = filtered[cur].entry;
        filtered
            .iter()
            .filter(|l| l.entry == entry)
            .map(|l| v.shown(&l.text))
            .collect()
    };
    let n = chosen.len();
    let text = chosen.join("\n");
    m.notice(
        format!(
            "copied {n} line{} to the clipboard (OSC 52)",
            if n == 1 { "" } else { "s" }
        ),
        true,
    );
    fx.push(Effect::Copy(text));
}

fn run(m: &mut Model, a: Action, fx: &mut Vec<Effect>) {
    if let Some((busy, _)) = m.action {
        m.notice(
            format!("{} is still running; wait for it", busy.verb()),
            false,
        );
        return;
    }
    m.action = Some((a, m.now));
    // A restart stops this worker first: STOPPING while it lives, then STARTING.
    m.action_from = m
        .status
        .as_ref()
        .and_then(|s| s.proven().map(|p| p.pid).or(s.pid()));
    m.result = None;
    m.event(format!("{} requested", a.verb()));
    fx.push(Effect::Run(a));
}

#[derive(Clone, Copy)]
enum ProcKey {
    Kill,
    Reap,
    Adopt,
}

/// K, X and A: find exactly what the key would touch and ask first (or say why not).
fn ask_proc(m: &mut Model, key: ProcKey) {
    let refuse = |m: &mut Model, why: String| m.notice(why, false);
    if m.proc_busy || m.action.is_some() {
        return refuse(m, "an action is still running; wait for it".into());
    }
    let Some(census) = &m.census else {
        return refuse(m, "no process census yet".into());
    };
    match key {
        ProcKey::Kill => {
            if m.focus != Focus::Processes {
                return refuse(
                    m,
                    "K stops the process selected in Processes: Tab there first".into(),
                );
            }
            let Some(sel) = m.selected_proc().cloned() else {
                return refuse(m, "no process selected".into());
            };
            if sel.class == Class::Worker {
                // The named worker stops through the core, as `x` does (its whole group).
                m.mode = Mode::Confirm(Action::Stop);
                return;
            }
            if !sel.is_ours() || sel.class == Class::OtherUser {
                return refuse(
                    m,
                    format!("PID {} is another user's: not ours to signal", sel.pid),
                );
            }
            if sel.class == Class::Foreign {
                let dir = sel
                    .data_dir
                    .as_deref()
                    .map_or_else(|| "another data dir".into(), |d| d.display().to_string());
                return refuse(
                    m,
                    format!(
                        "PID {} is the worker of {dir}: not this data dir's to stop",
                        sel.pid
                    ),
                );
            }
            m.mode = Mode::ConfirmProc(ProcJob::End(vec![sel]));
        }
        ProcKey::Reap => {
            let orphans: Vec<_> = census
                .orphans()
                .filter(|o| o.data_dir.as_deref() == Some(m.data_dir.as_path()) && o.is_ours())
                .cloned()
                .collect();
            if orphans.is_empty() {
                return refuse(m, "no orphaned helpers".into());
            }
            m.mode = Mode::ConfirmProc(ProcJob::Reap(orphans));
        }
        ProcKey::Adopt => {
            // The status says unmanaged and names the port's listener; the census knows it as a
            // claude-mem worker (the census may be a moment older than the status).
            let unmanaged = m
                .status
                .as_ref()
                .filter(|s| s.state() == State::Unmanaged)
                .and_then(|s| {
                    census
                        .workers()
                        .find(|w| Some(w.pid) == s.pid() && w.ports.contains(&s.port))
                })
                .cloned();
            match unmanaged {
                Some(w) => m.mode = Mode::ConfirmProc(ProcJob::Adopt(Box::new(w))),
                None => refuse(m, "no unmanaged worker on the port to adopt".into()),
            }
        }
    }
}

fn scroll(m: &mut Model, n: usize, up: bool) {
    if m.focus == Focus::Activity && super::memory::scroll(m, n, up) {
        return;
    }
    if m.focus == Focus::Activity {
        let last = m.activity.len().saturating_sub(1);
        m.activity_sel = if up {
            m.activity_sel.saturating_sub(n)
        } else {
            m.activity_sel.saturating_add(n).min(last)
        };
        return;
    }
    if m.focus == Focus::Processes {
        let last = m.proc_rows().len().saturating_sub(1);
        m.procs_sel = if up {
            m.procs_sel.saturating_sub(n)
        } else {
            m.procs_sel.saturating_add(n).min(last)
        };
        return;
    }
    if m.focus == Focus::Events {
        let max = m.events.len().saturating_sub(1);
        m.events_scroll = if up {
            m.events_scroll.saturating_add(n).min(max)
        } else {
            m.events_scroll.saturating_sub(n)
        };
        return;
    }
    let total = m.log.filtered_len();
    if up {
        m.log.scroll = m.log.scroll.saturating_add(n).min(total.saturating_sub(1));
        m.log.follow = false;
    } else {
        m.log.scroll = m.log.scroll.saturating_sub(n);
        if m.log.scroll == 0 {
            m.log.follow = true;
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    AtOrOlder,
    Older,
    Newer,
}

/// Scroll so a matching entry is at the bottom of the view. In a tail view the newest lines are
/// at the bottom, so `n` walks up to older matches and `N` back down; both wrap around.
fn jump_match(m: &mut Model, dir: Dir) {
    let matches = m.log.matching_entries();
    if matches.is_empty() {
        return;
    }
    let filtered: Vec<_> = m.log.filtered().collect();
    let total = filtered.len();
    let bottom_idx = total.saturating_sub(1).saturating_sub(m.log.scroll);
    let current = filtered.get(bottom_idx).map(|l| l.entry).unwrap_or(0);
    let target = match dir {
        Dir::AtOrOlder => matches
            .iter()
            .rev()
            .find(|e| **e <= current)
            .or(matches.last()),
        Dir::Older => matches
            .iter()
            .rev()
            .find(|e| **e < current)
            .or(matches.last()),
        Dir::Newer => matches.iter().find(|e| **e > current).or(matches.first()),
    };
    let Some(&target) = target else { return };
    if let Some(last_idx) = filtered.iter().rposition(|l| l.entry == target) {
        m.log.scroll = total - 1 - last_idx;
        m.log.follow = m.log.scroll == 0;
    }
}

/// Watch for a death the dashboard should answer (auto-restart on, no supervisor, not a stop on
/// purpose) and schedule the restart after the backoff.
fn auto_restart_watch(m: &mut Model, old: Option<State>, st: &crate::procman::status::Status) {
    if let Some(p) = &st.proven() {
        m.auto.last_worker = Some((p.pid, p.token()));
    }
    if st.state() == State::Running {
        let since = *m.auto.healthy_since.get_or_insert(m.now);
        if m.now.duration_since(since).is_ok_and(|d| d.as_secs() >= 60) {
            m.auto.budget.reset_streak();
        }
    } else {
        m.auto.healthy_since = None;
    }
    // Dead: seen running, or started a moment ago, and now gone (a worker that dies within a
    // status interval of its start is never seen running).
    let was_up = matches!(old, Some(State::Running) | Some(State::Unhealthy))
        || std::mem::take(&mut m.auto.expect_alive);
    let died = was_up && matches!(st.state(), State::Stopped | State::Stale);
    if !died || !m.auto.on || m.supervisor.is_some() || m.action.is_some() {
        return;
    }
    if m.auto.last_worker.is_some() && m.auto.stop_note == m.auto.last_worker {
        m.event("worker stopped on purpose: not restarted");
        return;
    }
    // supervise's policy: at most DEFAULT_MAX_RESTARTS restarts within DEFAULT_WINDOW.
    let (max, window) = (
        crate::supervise::DEFAULT_MAX_RESTARTS,
        crate::supervise::DEFAULT_WINDOW,
    );
    match m
        .auto
        .budget
        .failed(m.now, max, window, crate::supervise::BACKOFF_START)
    {
        crate::supervise::Verdict::Restart { delay, .. } => {
            m.auto.next_at = Some(m.now + delay);
            m.event(format!("worker died: auto-restart in {}s", delay.as_secs()));
        }
        crate::supervise::Verdict::GiveUp { in_window } => {
            let why = format!(
                "FATAL: auto-restart gave up: {in_window} restarts within {}s (a: try again)",
                window.as_secs()
            );
            m.auto.on = false;
            m.auto.next_at = None;
            m.auto.fatal = Some(why.clone());
            m.event(why);
        }
    }
}

fn auto_restart_due(m: &mut Model, fx: &mut Vec<Effect>) {
    let Some(at) = m.auto.next_at else { return };
    if m.now < at || m.action.is_some() {
        return;
    }
    m.auto.next_at = None;
    if !m.auto.on || m.supervisor.is_some() || m.state() == Some(State::Running) {
        return;
    }
    m.auto.restarts += 1;
    m.event(format!("auto-restart #{}", m.auto.restarts));
    run(m, Action::Start, fx);
}

/// A badge that appears or clears goes on the timeline, with the first finding's reason.
fn pipeline_events(m: &mut Model, prev: Option<&crate::procman::pipeline::Pipeline>, st: &Status) {
    let Some(now) = &st.pipeline else { return };
    let before = prev.map(|p| p.badges.as_slice()).unwrap_or_default();
    for b in &now.badges {
        if !before.contains(b) {
            let reason = now
                .findings
                .iter()
                .find(|f| f.signal == *b)
                .map(|f| f.reason.as_str())
                .unwrap_or("");
            m.event(format!("{}: {reason}", b.label()));
        }
    }
    if prev.is_some() {
        for b in before.iter().filter(|b| !now.badges.contains(b)) {
            m.event(format!("no longer {}", b.label()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PortSource;
    use crate::platform::{ProcInfo, StartToken};
    use crate::procman::identity::Claim;
    use crate::procman::identity::Proven;
    use crate::procman::status::{Found, Layout, Record, Since, Status, Worker};
    use std::time::{Duration, SystemTime};

    fn status(state: State, pid: Option<i32>) -> Box<Status> {
        let proven = pid.map(|p| Proven {
            pid: p,
            info: ProcInfo::described(p, &["w"]),
        });
        let record = |pid: i32| Record {
            layout: Layout::Spec,
            path: "/d/.worker.pid".into(),
            claim: Claim {
                pid,
                written: SystemTime::UNIX_EPOCH,
                start_token: None,
            },
            port: Some(40000),
            version: None,
        };
        let found = pid.zip(proven).map(|(p, proven)| Found {
            proven,
            record: record(p),
            since: Since::default(),
        });
        let worker = match (state, found) {
            (State::Running, Some(f)) => Worker::Running(f),
            (State::Unhealthy, found) => Worker::Unhealthy {
                found,
                stale: None,
                reason: "GET /health: HTTP 500".into(),
            },
            (State::Stale, _) => Worker::Stale {
                record: pid.map(record),
                reason: "the process is not running".into(),
            },
            (State::Unmanaged, _) => Worker::Unmanaged {
                since: Since::default(),
                stale: None,
                reason: "a worker answers but no PID file names it".into(),
            },
            (State::Taken, _) => Worker::Taken {
                stale: None,
                reason: "port 40000 is held by user root's worker".into(),
            },
            (State::Stopped, _) => Worker::Stopped,
            (State::Running | State::Unknown, _) => Worker::Unknown {
                reason: "unreadable".into(),
            },
        };
        Box::new(Status {
            worker,
            layout: Layout::Spec,
            ..Status::new(40000, PortSource::Default, "/d".into())
        })
    }

    /// Its worker's age, as a status read would have seen it.
    fn aged(mut st: Box<Status>, secs: u64) -> Box<Status> {
        match &mut st.worker {
            Worker::Running(f) | Worker::Unhealthy { found: Some(f), .. } => {
                f.since.uptime_seconds = Some(secs)
            }
            _ => panic!("no worker to age"),
        }
        st
    }

    fn model() -> Model {
        let mut m = Model::new(
            "/d".into(),
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
        );
        m.auto.on = true;
        update(&mut m, Msg::Status(status(State::Running, Some(42))));
        m
    }

    /// The API is asked rarely; the queue comes from `/stream`'s frames and the sessions from
    /// each `/health`, so the panel stays current between the API's rounds.
    #[test]
    fn the_queue_follows_the_stream_and_the_sessions_follow_health() {
        use crate::procman::health::{Probe, Response};
        use crate::procman::stream::{Frame, StreamEvent};
        let mut m = model();
        let frame = |depth| {
            Msg::Stream(StreamEvent::Frame(Frame::ProcessingStatus {
                is_processing: depth > 0,
                queue_depth: depth,
            }))
        };
        // No API read yet: a frame has nothing to update (the panel says nothing of the API).
        update(&mut m, frame(3));
        assert!(m.api.is_none());
        let api = crate::procman::api::ApiInfo {
            queue_depth: Some(0),
            processing: Some(false),
            active_sessions: Some(0),
            ..Default::default()
        };
        update(&mut m, Msg::Api(Box::new(api)));
        assert!(update(&mut m, frame(3)).changed);
        let a = m.api.as_ref().expect("api");
        assert_eq!((a.queue_depth, a.processing), (Some(3), Some(true)));
        let mut st = status(State::Running, Some(42));
        st.probe = Some(Probe {
            result: Ok(Response {
                status: 200,
                body: br#"{"status":"ok","activeSessions":2,"pid":42}"#.to_vec(),
                truncated: false,
            }),
            latency: Duration::ZERO,
        });
        update(&mut m, Msg::Status(st));
        assert_eq!(m.api.as_ref().and_then(|a| a.active_sessions), Some(2));
    }

    #[test]
    fn a_badge_that_appears_or_clears_is_an_event() {
        use crate::procman::pipeline::{self, Pipeline, Restarts};
        let mut m = model();
        let flapping = |n: u64| {
            let mut p = Pipeline {
                restarts: Some(Restarts {
                    starts_last_hour: n,
                    version_mismatches_last_hour: 0,
                }),
                ..Pipeline::default()
            };
            pipeline::evaluate(&mut p, pipeline::DEFAULT_STALL_AFTER, 0);
            let mut st = status(State::Running, Some(42));
            st.pipeline = Some(p);
            st
        };
        let events = |m: &Model| m.events.iter().map(|(_, e)| e.clone()).collect::<Vec<_>>();
        update(&mut m, Msg::Status(flapping(1)));
        let before = events(&m).len();
        update(&mut m, Msg::Status(flapping(7)));
        let ev = events(&m);
        assert_eq!(ev.len(), before + 1);
        assert!(
            ev[before].starts_with("FLAPPING: 7 worker starts"),
            "{ev:?}"
        );
        // Still flapping: nothing new.
        update(&mut m, Msg::Status(flapping(8)));
        assert_eq!(events(&m).len(), before + 1);
        update(&mut m, Msg::Status(flapping(2)));
        assert_eq!(
            events(&m).last().map(String::as_str),
            Some("no longer FLAPPING")
        );
    }

    #[test]
    fn a_crash_is_restarted_after_the_backoff() {
        let mut m = model();
        update(&mut m, Msg::Status(status(State::Stale, Some(42))));
        assert!(m.auto.next_at.is_some());
        let at = m.auto.next_at.unwrap_or(m.now);
        assert!(update(&mut m, Msg::Tick(at - Duration::from_millis(1)))
            .fx
            .is_empty());
        assert_eq!(
            update(&mut m, Msg::Tick(at)).fx,
            vec![Effect::Run(Action::Start)]
        );
        assert_eq!(m.auto.restarts, 1);
    }

    #[test]
    fn a_worker_that_keeps_dying_is_fatal_after_supervises_limit_and_a_tries_again() {
        let mut m = model();
        let mut starts = 0;
        for i in 0..10 {
            let pid = 42 + i;
            update(&mut m, Msg::Status(status(State::Running, Some(pid))));
            update(&mut m, Msg::Status(status(State::Stale, Some(pid))));
            let Some(at) = m.auto.next_at else { break };
            m.now = at;
            if update(&mut m, Msg::Tick(at)).fx == vec![Effect::Run(Action::Start)] {
                starts += 1;
                update(
                    &mut m,
                    Msg::ActionDone {
                        action: Action::Start,
                        result: Ok(format!("started PID {}", pid + 1)),
                        elapsed: Duration::from_millis(300),
                    },
                );
            }
        }
        assert_eq!(starts, crate::supervise::DEFAULT_MAX_RESTARTS);
        assert!(!m.auto.on);
        assert!(m
            .auto
            .fatal
            .as_deref()
            .is_some_and(|f| f.starts_with("FATAL")));
        assert!(m.events.iter().any(|(_, e)| e.starts_with("FATAL")));
        // `a` tries again, with a fresh budget.
        update(&mut m, Msg::Key(KeyEvent::from(KeyCode::Char('a'))));
        assert!(m.auto.on && m.auto.fatal.is_none());
    }

    #[test]
    fn a_stop_on_purpose_is_not_restarted_and_off_means_off() {
        let mut m = model();
        update(
            &mut m,
            Msg::Supervisor {
                state: None,
                stop_note: Some((42, ProcInfo::described(42, &["w"]).start)),
            },
        );
        update(&mut m, Msg::Status(status(State::Stopped, None)));
        assert!(m.auto.next_at.is_none());
        assert!(m.events.iter().any(|(_, e)| e.contains("not restarted")));

        let mut m = model();
        m.auto.on = false;
        update(&mut m, Msg::Status(status(State::Stopped, None)));
        assert!(m.auto.next_at.is_none());
    }

    #[test]
    fn backoff_doubles_to_a_minute() {
        let secs: Vec<u64> = (0..8)
            .map(|n| super::super::model::AutoRestart::backoff(n).as_secs())
            .collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60]);
    }

    #[test]
    fn defect11_a_starting_worker_is_not_announced_unhealthy_unless_it_stays_so() {
        let mut m = model();
        update(&mut m, Msg::Status(status(State::Stopped, None)));
        let starting = aged(status(State::Unhealthy, Some(42)), 0);
        update(&mut m, Msg::Status(starting.clone()));
        let running = aged(status(State::Running, Some(42)), 1);
        update(&mut m, Msg::Status(running));
        let texts: Vec<&str> = m.events.iter().map(|(_, e)| e.as_str()).collect();
        assert!(!texts.iter().any(|e| e.contains("unhealthy")), "{texts:?}");
        assert!(
            texts.iter().any(|e| e.contains("worker running (PID 42)")),
            "{texts:?}"
        );
        // A spell that outlasts a start is announced.
        let stuck = aged(starting, START_GRACE_SECS + 1);
        update(&mut m, Msg::Status(stuck));
        assert!(
            m.events.iter().any(|(_, e)| e.contains("health lost")),
            "{:?}",
            m.events
        );
    }

    fn member(pid: i32, class: Class, owner: Option<u32>) -> crate::procman::census::Member {
        use crate::procman::census::{HelperKind, Member};
        let helper = !class.is_worker();
        Member {
            pid,
            ppid: 1,
            class,
            kind: helper.then_some(HelperKind::Claude),
            version: None,
            data_dir: Some("/d".into()),
            user: None,
            ports: if helper { Vec::new() } else { vec![40000] },
            started_at: None,
            age_seconds: None,
            owner,
            cpu_percent: 0.0,
            cpu_seconds: 0.0,
            rss_bytes: 0,
            command: "c".into(),
            worker: None,
            tie: None,
            helpers: 0,
            answer: None,
            start: StartToken::from_raw(pid as u64),
        }
    }

    #[test]
    fn a_restart_says_stopping_while_the_old_worker_lives_then_starting() {
        let mut m = model();
        let mut fx = Vec::new();
        run(&mut m, Action::Restart, &mut fx);
        assert_eq!(m.badge(), "STOPPING");
        update(&mut m, Msg::Status(status(State::Running, Some(42))));
        assert_eq!(m.badge(), "STOPPING");
        update(&mut m, Msg::Status(status(State::Stopped, None)));
        assert_eq!(m.badge(), "STARTING");
        update(&mut m, Msg::Status(status(State::Running, Some(43))));
        assert_eq!(m.badge(), "STARTING");
        update(
            &mut m,
            Msg::ActionDone {
                action: Action::Restart,
                result: Ok("restarted".into()),
                elapsed: Duration::from_millis(1500),
            },
        );
        assert_eq!(m.badge(), "RUNNING");
    }

    #[test]
    fn our_stop_in_progress_is_not_an_unmanaged_worker() {
        let mut m = model();
        let mut fx = Vec::new();
        run(&mut m, Action::Stop, &mut fx);
        let before = m.events.len();
        update(&mut m, Msg::Status(status(State::Unmanaged, Some(42))));
        assert!(
            m.events
                .iter()
                .skip(before)
                .all(|(_, e)| !e.contains("unmanaged")),
            "{:?}",
            m.events
        );
        let done = update(
            &mut m,
            Msg::ActionDone {
                action: Action::Stop,
                result: Ok("stopped PID 42".into()),
                elapsed: Duration::from_millis(20),
            },
        );
        assert!(done.fx.contains(&Effect::PokeCensus));
        update(&mut m, Msg::Status(status(State::Stopped, None)));
        assert!(m.events.iter().any(|(_, e)| e == "worker stopped"));
    }

    #[test]
    fn a_notice_goes_after_a_few_seconds() {
        let mut m = model();
        m.notice("start done", true);
        let t0 = m.now;
        update(
            &mut m,
            Msg::Tick(t0 + NOTICE_FOR - Duration::from_millis(10)),
        );
        assert!(m.result.is_some());
        let u = update(&mut m, Msg::Tick(t0 + NOTICE_FOR));
        assert!(m.result.is_none() && u.changed);
        m.notice("no activity yet", false);
        // A state change clears an older notice.
        m.now += Duration::from_secs(3);
        update(&mut m, Msg::Status(status(State::Stopped, None)));
        assert!(m.result.is_none());
    }

    #[test]
    fn k_never_asks_to_stop_another_data_dirs_or_users_worker() {
        let me = crate::platform::current_uid();
        let mut m = model();
        let mut foreign = member(70, Class::Foreign, me);
        foreign.data_dir = Some("/elsewhere/.claude-mem".into());
        let census = crate::procman::census::Census {
            members: vec![
                member(42, Class::Worker, me),
                foreign,
                member(71, Class::OtherUser, me),
            ],
        };
        update(&mut m, Msg::Census(Box::new(census)));
        m.focus = Focus::Processes;
        let rows: Vec<i32> = m.proc_rows().iter().map(|p| p.pid).collect();
        for (pid, says) in [(70, "/elsewhere/.claude-mem"), (71, "another user")] {
            m.procs_sel = rows.iter().position(|p| *p == pid).unwrap_or(0);
            assert!(key(&mut m, 'K').is_empty());
            assert!(
                m.confirm_proc().is_none() && m.confirm().is_none(),
                "asked to stop {pid}"
            );
            assert!(
                m.result.as_ref().is_some_and(|r| r.1.contains(says)),
                "{pid}: {:?}",
                m.result
            );
        }
    }

    fn key(m: &mut Model, c: char) -> Vec<Effect> {
        use ratatui::crossterm::event::KeyEvent;
        update(
            m,
            Msg::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE)),
        )
        .fx
    }

    #[test]
    fn process_keys_touch_only_what_they_list_and_never_another_users() {
        let me = crate::platform::current_uid();
        let other = me.map(|u| u + 1);
        let mut m = model();
        let census = crate::procman::census::Census {
            members: vec![
                member(42, Class::Worker, me),
                member(50, Class::OrphanedHelper, me),
                member(51, Class::OrphanedHelper, other),
                member(60, Class::Duplicate, other),
            ],
        };
        update(&mut m, Msg::Census(Box::new(census)));
        // X: the orphans that are ours, listed; another user's orphan is not.
        assert!(key(&mut m, 'X').is_empty(), "X only asks");
        match &m.confirm_proc() {
            Some(ProcJob::Reap(ps)) => {
                let pids: Vec<i32> = ps.iter().map(|p| p.pid).collect();
                let want = if other.is_some() {
                    vec![50]
                } else {
                    vec![50, 51]
                };
                assert_eq!(pids, want);
            }
            other => panic!("X asked {other:?}"),
        }
        assert!(key(&mut m, 'n').is_empty(), "n signals nothing");
        assert!(m.confirm_proc().is_none());
        // K outside the Processes panel does nothing but say so.
        assert!(key(&mut m, 'K').is_empty());
        assert!(m.confirm_proc().is_none() && m.confirm().is_none());
        m.focus = Focus::Processes;
        // K on the named worker is the core's stop (`x`), never a bare signal.
        m.procs_sel = 0;
        key(&mut m, 'K');
        assert_eq!(m.confirm(), Some(Action::Stop));
        m.mode = Mode::Normal;
        // K on another user's duplicate is refused.
        let rows: Vec<i32> = m.proc_rows().iter().map(|p| p.pid).collect();
        m.procs_sel = rows.iter().position(|p| *p == 60).unwrap_or(0);
        if other.is_some() {
            key(&mut m, 'K');
            assert!(
                m.confirm_proc().is_none(),
                "asked to signal another user's process"
            );
            assert!(m
                .result
                .as_ref()
                .is_some_and(|r| r.1.contains("another user")));
        }
        // K on our orphan asks for exactly it; y sends the job.
        m.procs_sel = rows.iter().position(|p| *p == 50).unwrap_or(0);
        key(&mut m, 'K');
        assert!(
            matches!(&m.confirm_proc(), Some(ProcJob::End(ps)) if ps.len() == 1 && ps[0].pid == 50)
        );
        let fx = key(&mut m, 'y');
        assert!(matches!(fx.as_slice(), [Effect::RunProc(ProcJob::End(ps))] if ps[0].pid == 50));
        // A: no unmanaged worker on the port (the status says running): refused.
        m.proc_busy = false;
        key(&mut m, 'A');
        assert!(m.confirm_proc().is_none());
    }

    /// A model with a log of two entries, scrolled one line up, a query, a census and a worker.
    fn busy_model() -> Model {
        let mut m = model();
        m.size = (120, 40);
        update(
            &mut m,
            Msg::LogReset {
                path: Some("/d/logs/worker-2026-11-25.log".into()),
                lines: vec![
                    "[2026-11-25 09:59:50.101] [INFO ] [SYSTEM] started a long line of text".into(),
                    "[2026-11-25 09:59:51.101] [ERROR] [SYSTEM] failed hard".into(),
                    "  at somewhere".into(),
                ],
                reason: LogReset::Opened,
            },
        );
        let census = crate::procman::census::Census {
            members: vec![
                member(42, Class::Worker, crate::platform::current_uid()),
                member(50, Class::OrphanedHelper, crate::platform::current_uid()),
            ],
        };
        update(&mut m, Msg::Census(Box::new(census)));
        m.log.query = "started".into();
        m
    }

    /// Every binding of the table the footer and help render goes through the key handler and
    /// does what its command says.
    #[test]
    fn every_binding_in_the_table_reaches_its_command() {
        let table = super::super::keymap::Keymap::default();
        let mut walked = 0;
        for b in &table.bindings {
            assert!(!b.keys.is_empty(), "{} has no default key", b.cmd.name());
            for k in &b.keys {
                let mut m = busy_model();
                if b.cmd == Command::KillProcess {
                    m.focus = Focus::Processes;
                }
                if b.cmd == Command::Open {
                    m.focus = Focus::Activity;
                    m.activity = vec![activity_item(7, "stored")];
                }
                if matches!(
                    b.cmd,
                    Command::ScrollDown | Command::PageDown | Command::Bottom
                ) {
                    m.log.scroll = 1;
                    m.log.follow = false;
                }
                if b.cmd == Command::ScrollLeft {
                    m.log.hscroll = HSTEP;
                }
                let before = m.clone();
                assert_eq!(m.keys.lookup(&k.event()), Some(b.cmd), "lookup of {k:?}");
                let out = update(&mut m, Msg::Key(k.event()));
                let fx = out.fx;
                let ok = match b.cmd {
                    Command::Start => fx == vec![Effect::Run(Action::Start)],
                    Command::Stop => m.mode == Mode::Confirm(Action::Stop),
                    Command::Restart => m.mode == Mode::Confirm(Action::Restart),
                    Command::AutoRestart => m.auto.on != before.auto.on,
                    Command::KillProcess => m.mode == Mode::Confirm(Action::Stop),
                    Command::ReapOrphans => matches!(m.mode, Mode::ConfirmProc(ProcJob::Reap(_))),
                    Command::Adopt => m.result.as_ref().is_some_and(|r| r.1.contains("adopt")),
                    Command::Open => {
                        matches!(&m.mode, Mode::Detail { item, top: 0 } if item.id == 7)
                    }
                    Command::FocusNext => m.focus == Focus::Activity,
                    Command::FocusPrev => m.focus == Focus::Database,
                    Command::Follow => !m.log.follow,
                    Command::LogPrevDay => matches!(
                        &fx[..],
                        [Effect::LogFile(super::super::logfile::Job::Day {
                            step: -1,
                            ..
                        })]
                    ),
                    Command::LogNextDay => {
                        fx.is_empty() && m.result.as_ref().is_some_and(|r| r.1.contains("newest"))
                    }
                    Command::Search => m.mode == Mode::Search,
                    Command::NextMatch | Command::PrevMatch => m.log.scroll == 2,
                    Command::LevelDebug => m.log.min_level().is_none() && m.log.follow,
                    Command::LevelInfo => m.log.min_level() == Some(Level::Info),
                    Command::LevelWarn => m.log.min_level() == Some(Level::Warn),
                    Command::LevelError => m.log.min_level() == Some(Level::Error),
                    Command::Wrap => m.log.wrap,
                    Command::Timestamps => !m.log.timestamps,
                    Command::CopyEntry => {
                        fx == vec![Effect::Copy(
                            "[2026-11-25 09:59:51.101] [ERROR] [SYSTEM] failed hard\n  at somewhere"
                                .into(),
                        )]
                    }
                    Command::CopyPage => {
                        matches!(&fx[..], [Effect::Copy(t)] if t.lines().count() == 3)
                    }
                    Command::Pager => {
                        fx == vec![Effect::Pager("/d/logs/worker-2026-11-25.log".into())]
                    }
                    Command::Save => matches!(&fx[..], [Effect::Save { name, text }]
                        if name.starts_with("claude-mem-top-worker-2026-11-25-") && text.lines().count() == 3),
                    Command::ScrollLeft => m.log.hscroll == 0,
                    Command::ScrollRight => m.log.hscroll == HSTEP,
                    Command::ScrollUp | Command::PageUp | Command::Top => {
                        m.log.scroll > 0 && !m.log.follow
                    }
                    Command::ScrollDown | Command::PageDown | Command::Bottom => {
                        m.log.scroll == 0 && m.log.follow
                    }
                    Command::Help => m.mode == Mode::Help(0),
                    Command::History => {
                        matches!(m.mode, Mode::History { .. })
                            && matches!(&fx[..], [Effect::ReadHistory(_)])
                    }
                    Command::Queue => {
                        m.mode == Mode::Queue(0)
                            && fx == vec![Effect::Memory(super::super::memory::Job::Queue)]
                    }
                    Command::Settings => {
                        m.mode == Mode::Settings(0)
                            && fx == vec![Effect::Memory(super::super::memory::Job::Settings)]
                    }
                    Command::Viewer => {
                        fx == vec![Effect::Memory(super::super::memory::Job::OpenUrl(
                            "http://127.0.0.1:40000/".into(),
                        ))]
                    }
                    Command::Quit => m.quit == Some(0),
                };
                assert!(
                    ok,
                    "{} via {:?}: effects {fx:?}, mode {:?}",
                    b.cmd.name(),
                    k,
                    m.mode
                );
                assert!(out.changed, "{} reported no change", b.cmd.name());
                walked += 1;
            }
        }
        assert!(walked >= super::super::keymap::SPECS.len());
    }

    #[test]
    fn modes_take_keys_first_and_idle_ticks_change_nothing() {
        let mut m = busy_model();
        key(&mut m, 'x');
        assert_eq!(m.mode, Mode::Confirm(Action::Stop));
        // In a question, command keys do nothing; n answers.
        key(&mut m, 's');
        assert_eq!(m.mode, Mode::Confirm(Action::Stop));
        assert!(m.action.is_none());
        key(&mut m, 'n');
        assert_eq!(m.mode, Mode::Normal);
        key(&mut m, '/');
        key(&mut m, 'q');
        assert_eq!(
            (m.mode.clone(), m.log.query.as_str(), m.quit),
            (Mode::Search, "q", None)
        );
        // A tick within the same second changes nothing on screen; the next second does.
        let now = m.now;
        assert!(!update(&mut m, Msg::Tick(now + Duration::from_millis(300))).changed);
        assert!(update(&mut m, Msg::Tick(now + Duration::from_secs(1))).changed);
        // The same files again are no change.
        let files = m.files.clone();
        assert!(!update(&mut m, Msg::Files(files, now)).changed);
    }

    #[test]
    fn a_click_focuses_the_panel_under_it_and_the_wheel_scrolls_it() {
        use ratatui::crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
        let mut m = busy_model();
        for i in 0..20 {
            m.event(format!("event {i}"));
        }
        let at = |kind, column, row| {
            Msg::Mouse(MouseEvent {
                kind,
                column,
                row,
                modifiers: KeyModifiers::NONE,
            })
        };
        let a = crate::ui::areas(ratatui::layout::Rect::new(0, 0, 120, 40));
        // A click on Events focuses it.
        let out = update(
            &mut m,
            at(
                MouseEventKind::Down(MouseButton::Left),
                a.events.x + 2,
                a.events.y + 1,
            ),
        );
        assert!(out.changed && m.focus == Focus::Events);
        // The wheel over Events scrolls it.
        update(
            &mut m,
            at(MouseEventKind::ScrollUp, a.events.x + 2, a.events.y + 1),
        );
        assert_eq!(m.events_scroll, 3);
        // The wheel over Logs scrolls the log and pauses following.
        update(
            &mut m,
            at(MouseEventKind::ScrollUp, a.logs.x + 2, a.logs.y + 2),
        );
        assert!(!m.log.follow && m.log.scroll > 0 && m.focus == Focus::Logs);
        // A moving pointer changes nothing; in a question the mouse does nothing.
        assert!(!update(&mut m, at(MouseEventKind::Moved, 3, 3)).changed);
        m.mode = Mode::Confirm(Action::Stop);
        assert!(
            !update(
                &mut m,
                at(MouseEventKind::ScrollDown, a.logs.x + 2, a.logs.y + 2)
            )
            .changed
        );
    }

    fn activity_item(id: i64, title: &str) -> crate::procman::activity::Item {
        crate::procman::activity::Item {
            kind: crate::procman::activity::Kind::Observation,
            id,
            at_ms: Some(1_000 * id),
            at: None,
            label: Some("discovery".into()),
            title: title.into(),
            project: Some("web".into()),
            text: format!("{title}\n\nNarrative:\nline one\nline two"),
        }
    }

    #[test]
    fn activity_merges_newest_first_and_the_selection_stays_on_its_item() {
        let mut m = model();
        let out = update(
            &mut m,
            Msg::Activity(vec![activity_item(1, "a"), activity_item(2, "b")]),
        );
        assert!(out.changed);
        assert_eq!(m.activity.iter().map(|i| i.id).collect::<Vec<_>>(), [2, 1]);
        m.focus = Focus::Activity;
        key(&mut m, 'j');
        assert_eq!(m.activity_sel, 1);
        // A newer item arrives: the selection keeps pointing at item 1.
        update(&mut m, Msg::Activity(vec![activity_item(3, "c")]));
        assert_eq!(m.activity[m.activity_sel].id, 1);
        // The same items again change nothing on screen.
        m.activity_sel = 0;
        assert!(!update(&mut m, Msg::Activity(vec![activity_item(3, "c")])).changed);
        assert_eq!(m.activity.len(), 3);
    }

    #[test]
    fn enter_opens_the_selected_item_and_esc_closes_it() {
        let mut m = model();
        update(
            &mut m,
            Msg::Activity(vec![activity_item(1, "a"), activity_item(2, "b")]),
        );
        // Not focused: Enter says how, opens nothing.
        update(&mut m, Msg::Key(KeyEvent::from(KeyCode::Enter)));
        assert_eq!(m.mode, Mode::Normal);
        assert!(m.result.as_ref().is_some_and(|r| r.1.contains("Tab")));
        m.focus = Focus::Activity;
        key(&mut m, 'j');
        update(&mut m, Msg::Key(KeyEvent::from(KeyCode::Enter)));
        assert!(matches!(&m.mode, Mode::Detail { item, top: 0 } if item.id == 1));
        key(&mut m, 'j');
        assert!(matches!(&m.mode, Mode::Detail { top: 1, .. }));
        // Keys that mean something elsewhere do nothing here (x does not ask to stop).
        assert!(!update(&mut m, Msg::Key(KeyEvent::from(KeyCode::Char('x')))).changed);
        assert!(matches!(&m.mode, Mode::Detail { .. }));
        update(&mut m, Msg::Key(KeyEvent::from(KeyCode::Esc)));
        assert_eq!(m.mode, Mode::Normal);
        assert_eq!(m.quit, None);
    }

    /// The message kinds no other test sends: each changes what it says it changes.
    #[test]
    fn every_other_msg_kind_reaches_the_model() {
        let mut m = model();
        assert!(update(&mut m, Msg::Resize(100, 30)).changed);
        assert_eq!(m.size, (100, 30));

        update(
            &mut m,
            Msg::Notice {
                text: "copied".into(),
                ok: true,
            },
        );
        assert!(m.result.as_ref().is_some_and(|r| r.1 == "copied" && r.2));

        update(&mut m, Msg::Event("hello".into()));
        assert_eq!(m.events.back().map(|e| e.1.as_str()), Some("hello"));

        let api = crate::procman::api::ApiInfo {
            version: Some("13.25.3".into()),
            ..Default::default()
        };
        assert!(update(&mut m, Msg::Api(Box::new(api.clone()))).changed);
        assert!(
            !update(&mut m, Msg::Api(Box::new(api))).changed,
            "same API: no frame"
        );
        assert_eq!(
            m.api.as_ref().and_then(|a| a.version.as_deref()),
            Some("13.25.3")
        );

        let db = crate::procman::db::DbState::Ok(crate::procman::db::DbStats::default());
        assert!(update(&mut m, Msg::Db(Box::new(db.clone()))).changed);
        assert!(!update(&mut m, Msg::Db(Box::new(db))).changed);

        // Samples of the watched worker only.
        m.watched_pid = Some(42);
        let sample = |pid| crate::app::msg::Sample {
            pid,
            cpu_percent: Some(1.5),
            rss_bytes: 2048,
            threads: 3,
            children: 1,
        };
        update(&mut m, Msg::Metrics(sample(7)));
        assert!(m.metrics.is_none() && m.cpu_hist.is_empty());
        update(&mut m, Msg::Metrics(sample(42)));
        assert_eq!(m.cpu_hist.back(), Some(&15));
        assert_eq!(m.rss_hist.back(), Some(&2));

        // New lines while scrolled up keep the view where it was.
        update(
            &mut m,
            Msg::LogReset {
                path: None,
                lines: vec!["[2026-11-25 10:00:00.000] [INFO ] [W] a".into()],
                reason: LogReset::Opened,
            },
        );
        m.log.follow = false;
        m.log.scroll = 0;
        update(
            &mut m,
            Msg::LogLines(vec![
                "[2026-11-25 10:00:01.000] [INFO ] [W] b".into(),
                "[2026-11-25 10:00:02.000] [INFO ] [W] c".into(),
            ]),
        );
        assert_eq!(m.log.filtered_len(), 3);
        assert_eq!(m.log.scroll, 2);

        m.action = Some((Action::Stop, m.now));
        let out = update(
            &mut m,
            Msg::ActionDone {
                action: Action::Stop,
                result: Err("refused".into()),
                elapsed: Duration::from_millis(5),
            },
        );
        assert!(m.action.is_none());
        assert!(m
            .result
            .as_ref()
            .is_some_and(|r| r.1 == "stop failed: refused" && !r.2));
        assert_eq!(out.fx, vec![Effect::PokeHealth, Effect::PokeCensus]);

        m.proc_busy = true;
        let out = update(
            &mut m,
            Msg::ProcDone {
                job: ProcJob::Reap(Vec::new()),
                result: Ok("ended PID 50".into()),
            },
        );
        assert!(!m.proc_busy);
        assert_eq!(out.fx, vec![Effect::PokeCensus, Effect::PokeHealth]);
        assert!(m.events.back().is_some_and(|e| e.1 == "reap: ended PID 50"));

        update(&mut m, Msg::Signal(crate::platform::Shutdown::Terminate));
        assert_eq!(
            m.quit,
            Some(crate::platform::Shutdown::Terminate.exit_code())
        );
    }

    /// The modes: a question answered yes or no, the search line kept or cleared, help left.
    #[test]
    fn every_mode_is_left_the_way_it_says() {
        let esc = KeyEvent::from(KeyCode::Esc);
        let enter = KeyEvent::from(KeyCode::Enter);
        let mut m = model();
        key(&mut m, 'x');
        assert_eq!(m.mode, Mode::Confirm(Action::Stop));
        key(&mut m, 'z');
        assert_eq!(
            m.mode,
            Mode::Confirm(Action::Stop),
            "other keys leave the question open"
        );
        key(&mut m, 'n');
        assert_eq!(m.mode, Mode::Normal);
        key(&mut m, 'r');
        let fx = key(&mut m, 'y');
        assert_eq!(fx, vec![Effect::Run(Action::Restart)]);
        assert_eq!(m.mode, Mode::Normal);

        key(&mut m, '/');
        assert_eq!(m.mode, Mode::Search);
        key(&mut m, 'q');
        assert_eq!(
            (m.mode.clone(), m.log.query.as_str()),
            (Mode::Search, "q"),
            "q types, not quits"
        );
        update(&mut m, Msg::Key(enter));
        assert_eq!((m.mode.clone(), m.log.query.as_str()), (Mode::Normal, "q"));
        key(&mut m, '/');
        update(&mut m, Msg::Key(esc));
        assert_eq!((m.mode.clone(), m.log.query.as_str()), (Mode::Normal, ""));

        key(&mut m, '?');
        key(&mut m, 'j');
        assert_eq!(m.mode, Mode::Help(1));
        update(&mut m, Msg::Key(esc));
        assert_eq!(m.mode, Mode::Normal);
        assert_eq!(m.quit, None);
    }
}
