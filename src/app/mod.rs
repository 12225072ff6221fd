//! The dashboard runtime: sources → Msg → update → model → draw, one channel, draw on change.
//! One current-thread tokio runtime carries it: the terminal's event stream, the health and
//! `/stream` tasks and the channel all meet in one `select!`; effects run off the UI task.

pub mod config;
pub mod demo;
pub mod effect;
pub mod history;
pub mod keymap;
pub mod logfile;
pub mod memory;
pub mod model;
pub mod msg;
pub mod update;

use std::io::{IsTerminal, Write};
use std::sync::mpsc::channel;
use std::time::{Duration, Instant, SystemTime};

use crossterm::event::EventStream;
use ratatui::backend::CrosstermBackend;
use ratatui::crossterm::event::{self, Event};
use ratatui::crossterm::{cursor, execute, terminal};
use ratatui::Terminal;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::config::Config;
use crate::procman::control::Opts;
use crate::sources;
use model::Model;
use msg::{Msg, Tx};
use update::{update, Effect};

#[derive(Debug, Clone)]
pub struct Options {
    pub interval: Duration,
    pub color: bool,
    pub demo: bool,
    pub actions: Opts,
    /// The key table (defaults plus `config.toml`'s `[keys]`).
    pub keys: keymap::Keymap,
    /// The colours (`[colors]`).
    pub palette: crate::ui::theme::Palette,
    /// Report the mouse (wheel, clicks); `--no-mouse` or `mouse = false` turn it off.
    pub mouse: bool,
    /// `--stall-after`: prompts without an observation for this long is a stalled pipeline.
    pub stall_after: Duration,
}

impl Options {
    pub fn new(interval: Duration, color: bool) -> Options {
        Options {
            interval,
            color,
            demo: false,
            actions: Opts::default(),
            keys: keymap::Keymap::default(),
            palette: crate::ui::theme::Palette::default(),
            mouse: true,
            stall_after: crate::procman::pipeline::DEFAULT_STALL_AFTER,
        }
    }
}

/// Why the dashboard could not run.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("not a terminal: use --once for a status snapshot")]
    NotATerminal,
    /// `TERM=dumb` (Emacs shell buffers, some CI logs): no cursor addressing or colours.
    #[error("TERM=dumb cannot show the dashboard: use `claude-mem-top --once` or `claude-mem-top status`")]
    DumbTerminal,
    #[error("terminal error: {0}")]
    Io(#[from] std::io::Error),
}

/// How long a background result waits for others before a frame is drawn. The periodic sources
/// sample at the same instants (`sources::until_next`) and answer within a few ms of each other:
/// one frame per interval instead of one per source (bench row 5).
const GATHER: Duration = Duration::from_millis(16);

/// Keys, resizes, action results and signals are drawn at once; the rest is gathered briefly.
fn urgent(m: &Msg) -> bool {
    matches!(
        m,
        Msg::Key(_)
            | Msg::Mouse(_)
            | Msg::Notice { .. }
            | Msg::Resize(..)
            | Msg::ActionDone { .. }
            | Msg::ProcDone { .. }
            | Msg::Signal(_)
            | Msg::Suspend
    )
}

/// Leaves the alternate screen, shows the cursor and ends raw mode; errors are ignored (there is
/// nowhere to report them and the process is on its way out).
pub fn restore_terminal() {
    let _ = terminal::disable_raw_mode();
    let mut out = std::io::stdout();
    let _ = execute!(
        out,
        event::DisableMouseCapture,
        terminal::LeaveAlternateScreen,
        cursor::Show
    );
    let _ = out.flush();
}

struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore_terminal();
    }
}

fn spawn_named(name: &str, f: impl FnOnce() + Send + 'static) {
    let _ = std::thread::Builder::new().name(name.to_string()).spawn(f);
}

/// Start every source; returns the senders the runtime keeps. Must run inside the runtime
/// (`health` and `stream` are its tasks; see `sources` for why the others keep a thread).
struct Sources {
    health_poke: tokio::sync::mpsc::UnboundedSender<()>,
    pid_watch: std::sync::mpsc::Sender<Option<i32>>,
    census: std::sync::mpsc::Sender<sources::census::Note>,
}

fn start_sources(cfg: &Config, interval: Duration, stall_after: Duration, tx: &Tx) -> Sources {
    let (health_poke, health_rx) = tokio::sync::mpsc::unbounded_channel();
    let (logs_poke, logs_rx) = channel();
    let (db_poke, db_rx) = channel();
    let (pid_watch, pid_rx) = channel();
    let (census, census_rx) = channel();
    let (stream_port, stream_port_rx) = tokio::sync::watch::channel(None);
    let (stream_up, stream_up_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(sources::health::task(
        cfg.clone(),
        interval,
        stall_after,
        tx.clone(),
        health_rx,
        stream_port,
        stream_up_rx,
    ));
    tokio::spawn(sources::stream::task(
        cfg.host,
        stream_port_rx,
        tx.clone(),
        stream_up,
    ));
    {
        let (cfg, tx) = (cfg.clone(), tx.clone());
        spawn_named("census", move || {
            sources::census::run(cfg, interval, tx, census_rx)
        });
    }
    {
        let tx = tx.clone();
        spawn_named("metrics", move || {
            sources::metrics::run(interval, tx, pid_rx)
        });
    }
    {
        let (dir, tx) = (cfg.logs_dir(), tx.clone());
        spawn_named("logtail", move || sources::logtail::run(dir, tx, logs_rx));
    }
    {
        let (db, tx) = (cfg.data_dir.join(sources::fswatch::DB_FILE), tx.clone());
        spawn_named("db", move || sources::db::run(db, tx, db_rx));
    }
    {
        let (cfg, tx) = (cfg.clone(), tx.clone());
        let pokes = sources::fswatch::Pokes {
            health: health_poke.clone(),
            logs: logs_poke,
            db: db_poke,
        };
        spawn_named("fswatch", move || sources::fswatch::run(cfg, tx, pokes));
    }
    Sources {
        health_poke,
        pid_watch,
        census,
    }
}

/// Keys, the mouse and resizes: crossterm's event stream (`None` while `$PAGER` owns the
/// terminal, or after the terminal went away).
type Input = Option<EventStream>;

/// The next input message; `None` for an event the dashboard ignores (or the end of input,
/// which also drops the stream).
async fn read_input(input: &mut Input) -> Option<Msg> {
    let Some(events) = input.as_mut() else {
        return std::future::pending().await;
    };
    let next = std::future::poll_fn(|cx| {
        futures_core::Stream::poll_next(std::pin::Pin::new(&mut *events), cx)
    })
    .await;
    match next {
        Some(Ok(Event::Key(k))) => Some(Msg::Key(k)),
        Some(Ok(Event::Mouse(ev))) => Some(Msg::Mouse(ev)),
        Some(Ok(Event::Resize(w, h))) => Some(Msg::Resize(w, h)),
        Some(Ok(_)) => None,
        Some(Err(_)) | None => {
            *input = None;
            None
        }
    }
}

enum Next {
    Msg(Msg),
    Timeout,
    Closed,
}

/// The next message from the channel or the terminal, or a timeout after `wait`.
async fn next(rx: &mut UnboundedReceiver<Msg>, input: &mut Input, wait: Duration) -> Next {
    let sleep = tokio::time::sleep(wait);
    tokio::pin!(sleep);
    loop {
        tokio::select! {
            m = rx.recv() => return m.map_or(Next::Closed, Next::Msg),
            i = read_input(input) => if let Some(m) = i { return Next::Msg(m) },
            _ = &mut sleep => return Next::Timeout,
        }
    }
}

/// OSC 52: put `text` on the clipboard of the terminal (also over SSH; tmux passes it on with
/// `set -g set-clipboard on`).
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64(text.as_bytes()))
}

/// Standard base64 with padding (RFC 4648), for OSC 52.
pub fn base64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `S`: write the filtered view to a new file in the current directory.
fn save(name: &str, text: &str) -> Msg {
    use std::io::Write as _;
    let path = std::env::current_dir()
        .unwrap_or_else(|_| std::path::PathBuf::from("."))
        .join(name);
    let res = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()));
    match res {
        Ok(()) => Msg::Notice {
            text: format!("saved {} lines to {}", text.lines().count(), path.display()),
            ok: true,
        },
        Err(e) => Msg::Notice {
            text: format!("could not save {}: {e}", path.display()),
            ok: false,
        },
    }
}

/// `o`: hand the terminal to `$PAGER` (`less +G` by default) on `path`, wait for it, and say
/// how it went. The caller restores the dashboard.
fn pager(path: &std::path::Path) -> Msg {
    restore_terminal();
    let spec = std::env::var("PAGER")
        .ok()
        .filter(|p| !p.trim().is_empty())
        .unwrap_or_else(|| "less +G".to_string());
    let words = shlex::split(&spec).unwrap_or_else(|| vec![spec.clone()]);
    let note = match words.split_first() {
        None => Msg::Notice {
            text: "PAGER is empty".into(),
            ok: false,
        },
        Some((prog, args)) => match std::process::Command::new(prog)
            .args(args)
            .arg(path)
            .status()
        {
            Ok(st) if st.success() => Msg::Notice {
                text: format!("back from {prog}"),
                ok: true,
            },
            Ok(st) => Msg::Notice {
                text: format!("{prog} exited with {st}"),
                ok: false,
            },
            Err(e) => Msg::Notice {
                text: format!("could not run {prog}: {e}"),
                ok: false,
            },
        },
    };
    note
}

/// Come back to the terminal whole after it was given away (the pager, Ctrl-Z): raw mode, the
/// alternate screen, the mouse if it was on, and a new `Terminal` (fresh buffers) so every cell
/// is drawn; `Terminal::resize` or `clear` would ask the terminal for the cursor position first.
fn reenter(m: &mut Model) -> std::io::Result<Term> {
    terminal::enable_raw_mode()?;
    execute!(
        std::io::stdout(),
        terminal::EnterAlternateScreen,
        cursor::Hide,
        terminal::Clear(terminal::ClearType::All)
    )?;
    if m.mouse {
        execute!(std::io::stdout(), event::EnableMouseCapture)?;
    }
    let term =
        std::mem::ManuallyDrop::new(Terminal::new(CrosstermBackend::new(std::io::stdout()))?);
    let sz = term.size()?;
    m.size = (sz.width, sz.height);
    Ok(term)
}

/// The dashboard's terminal (dropped by hand: see `dashboard`).
type Term = std::mem::ManuallyDrop<Terminal<CrosstermBackend<std::io::Stdout>>>;

/// The dashboard needs a terminal on stdin and stdout that can address its cursor.
pub fn usable_terminal() -> Result<(), RunError> {
    if !std::io::stdin().is_terminal() || !std::io::stdout().is_terminal() {
        return Err(RunError::NotATerminal);
    }
    if std::env::var_os("TERM").is_some_and(|t| t == "dumb") {
        return Err(RunError::DumbTerminal);
    }
    Ok(())
}

/// Run the dashboard until q / Ctrl-C (exit 0) or a signal (128 + signal).
pub fn run(cfg: &Config, opts: Options) -> Result<u8, RunError> {
    usable_terminal()?;
    // One thread carries the UI, the health and stream tasks and the HTTP client; blocking work
    // goes to tokio's blocking pool or a source's own thread.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let code = rt.block_on(dashboard(cfg, opts));
    // A status read still on the blocking pool (at most one HTTP timeout) is not waited for.
    rt.shutdown_background();
    code
}

async fn dashboard(cfg: &Config, opts: Options) -> Result<u8, RunError> {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Msg>();
    // Signals: restore and exit with 128+N, never touching the worker.
    {
        let tx = tx.clone();
        let _ = crate::platform::shutdown_signals(move |s| tx.send(Msg::Signal(s)).is_ok());
    }
    {
        let tx = tx.clone();
        let _ = crate::platform::suspend_signals(move || tx.send(Msg::Suspend).is_ok());
    }
    // The panic hook restores the terminal first, so the message is readable. It writes with
    // errors ignored: after a hang-up stderr is gone, and a panic inside the hook would abort the
    // process before the demo's cleanup could stop its worker.
    std::panic::set_hook(Box::new(move |info| {
        restore_terminal();
        let _ = writeln!(std::io::stderr(), "claude-mem-top panicked: {info}");
    }));

    terminal::enable_raw_mode()?;
    let _guard = TerminalGuard;
    let mut out = std::io::stdout();
    // Clear with a plain escape: ratatui's `Terminal::clear` asks the terminal for the cursor
    // position, which terminals that never answer turn into a 2 s hang and an error.
    execute!(
        out,
        terminal::EnterAlternateScreen,
        cursor::Hide,
        terminal::Clear(terminal::ClearType::All)
    )?;
    // ManuallyDrop: ratatui's own Drop reports a failed cursor restore with eprintln!, which
    // panics when the terminal has hung up. TerminalGuard restores instead, ignoring errors.
    let mut term =
        std::mem::ManuallyDrop::new(Terminal::new(CrosstermBackend::new(std::io::stdout()))?);

    let now = SystemTime::now();
    let mut m = Model::new(
        std::fs::canonicalize(&cfg.data_dir).unwrap_or_else(|_| cfg.data_dir.clone()),
        now,
    );
    m.color = opts.color;
    m.demo = opts.demo;
    m.keys = opts.keys.clone();
    m.palette = opts.palette;
    m.mouse = opts.mouse;
    m.interval = opts.interval;
    if m.mouse {
        execute!(out, event::EnableMouseCapture)?;
    }
    m.installed_version = crate::release::installed_version(cfg);
    let sz = term.size()?;
    m.size = (sz.width, sz.height);
    m.event(format!("watching {}", cfg.data_dir.display()));

    let src = start_sources(cfg, opts.interval, opts.stall_after, &tx);
    let mut input: Input = Some(EventStream::new());
    let panic_in_draw = std::env::var_os("CLAUDE_MEM_TOP_PANIC_IN_DRAW").is_some();
    let mut dirty = true;
    loop {
        // A frame only when an update reported a change (or on a resize): an idle dashboard
        // waits in `next` (messages, input or the timer) and draws at most once a second, for
        // the clock. ratatui then
        // writes only the cells that changed.
        if panic_in_draw && m.status.is_some() {
            panic!(
                "CLAUDE_MEM_TOP_PANIC_IN_DRAW: a test asked the dashboard to panic while drawing"
            );
        }
        if dirty {
            term.draw(|f| crate::ui::draw(f, &m))?;
            dirty = false;
        }
        if let Some(code) = m.quit {
            return Ok(code);
        }
        // Sleep until something happens; wake each second for the clock (uptime, ages) and
        // faster only while a spinner turns.
        let wait = if m.action.is_some() {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        };
        let first = match next(&mut rx, &mut input, wait).await {
            Next::Msg(msg) => msg,
            Next::Timeout => Msg::Tick(SystemTime::now()),
            Next::Closed => return Ok(0),
        };
        let mut batch = vec![first];
        if !urgent(&batch[0]) {
            let until = Instant::now() + GATHER;
            while let Some(left) = until.checked_duration_since(Instant::now()) {
                match next(&mut rx, &mut input, left).await {
                    Next::Msg(more) => {
                        let now = urgent(&more);
                        batch.push(more);
                        if now {
                            break;
                        }
                    }
                    Next::Timeout | Next::Closed => break,
                }
            }
        }
        while let Ok(more) = rx.try_recv() {
            batch.push(more);
            if batch.len() > 4096 {
                break;
            }
        }
        // Keep the model's clock current for anything that stamps events: one tick first.
        if !matches!(batch.first(), Some(Msg::Tick(_))) {
            batch.insert(0, Msg::Tick(SystemTime::now()));
        }
        for msg in batch {
            let resize = matches!(msg, Msg::Resize(..));
            let done = update(&mut m, msg);
            dirty |= done.changed || resize;
            for fx in done.fx {
                match fx {
                    Effect::Copy(text) => {
                        let mut out = std::io::stdout();
                        let _ = out.write_all(osc52(&text).as_bytes());
                        let _ = out.flush();
                    }
                    Effect::Save { name, text } => {
                        let _ = tx.send(save(&name, &text));
                    }
                    Effect::Pager(path) => {
                        // Stop reading the terminal (dropping the stream ends crossterm's waker
                        // thread), and let the pager run off the UI task: the other tasks go on.
                        drop(input.take());
                        let note = tokio::task::spawn_blocking(move || pager(&path))
                            .await
                            .unwrap_or_else(|_| Msg::Notice {
                                text: "the pager panicked".into(),
                                ok: false,
                            });
                        input = Some(EventStream::new());
                        term = reenter(&mut m)?;
                        let _ = tx.send(note);
                        dirty = true;
                    }
                    Effect::Suspend => {
                        // Job control: the shell's screen back, stopped until `fg` (SIGCONT),
                        // then the dashboard whole again. The worker and the sources go on.
                        drop(input.take());
                        restore_terminal();
                        crate::platform::stop_self();
                        input = Some(EventStream::new());
                        term = reenter(&mut m)?;
                        dirty = true;
                    }
                    Effect::Run(a) => effect::run_action(cfg.clone(), opts.actions, a, tx.clone()),
                    Effect::WatchPid(p) => {
                        let _ = src.pid_watch.send(p);
                    }
                    Effect::PokeHealth => {
                        let _ = src.health_poke.send(());
                    }
                    Effect::RunProc(job) => effect::run_proc(cfg.clone(), job, tx.clone()),
                    Effect::CensusNamed(p) => {
                        let _ = src.census.send(sources::census::Note::Named(p));
                    }
                    Effect::PokeCensus => {
                        let _ = src.census.send(sources::census::Note::Poke);
                    }
                    Effect::ReadHistory(live) => history::read(cfg.clone(), live, tx.clone()),
                    Effect::LogFile(job) => logfile::run(cfg.clone(), job, tx.clone()),
                    Effect::Memory(job) => {
                        memory::run(cfg.clone(), opts.stall_after, job, tx.clone())
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        let v = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, enc) in v {
            assert_eq!(super::base64(plain.as_bytes()), enc, "{plain}");
        }
        assert_eq!(super::osc52("hi"), "\x1b]52;c;aGk=\x07");
    }
}
