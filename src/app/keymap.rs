//! One key table feeds the footer, the help popup and the key handling.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Start,
    Stop,
    Restart,
    AutoRestart,
    KillProcess,
    ReapOrphans,
    Adopt,
    FocusNext,
    FocusPrev,
    Follow,
    Search,
    NextMatch,
    PrevMatch,
    Level(u8),
    Wrap,
    Help,
    Quit,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    Top,
    Bottom,
}

pub struct Binding {
    pub keys: &'static str,
    pub cmd: Command,
    pub help: &'static str,
    /// Shown in the footer (short label) when Some.
    pub footer: Option<&'static str>,
}

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: "s",
        cmd: Command::Start,
        help: "start the worker",
        footer: Some("start"),
    },
    Binding {
        keys: "x",
        cmd: Command::Stop,
        help: "stop the worker (asks first)",
        footer: Some("stop"),
    },
    Binding {
        keys: "r",
        cmd: Command::Restart,
        help: "restart the worker (asks first)",
        footer: Some("restart"),
    },
    Binding {
        keys: "a",
        cmd: Command::AutoRestart,
        help: "auto-restart a worker that dies (off by default)",
        footer: Some("auto"),
    },
    Binding {
        keys: "K",
        cmd: Command::KillProcess,
        help: "stop the process selected in Processes (asks first)",
        footer: None,
    },
    Binding {
        keys: "X",
        cmd: Command::ReapOrphans,
        help: "end all orphaned helpers (asks first, lists them)",
        footer: None,
    },
    Binding {
        keys: "A",
        cmd: Command::Adopt,
        help: "adopt the worker on the port into the PID file",
        footer: None,
    },
    Binding {
        keys: "Tab/S-Tab",
        cmd: Command::FocusNext,
        help: "move focus between panels",
        footer: Some("focus"),
    },
    Binding {
        keys: "f",
        cmd: Command::Follow,
        help: "follow the log (End also)",
        footer: Some("follow"),
    },
    Binding {
        keys: "/",
        cmd: Command::Search,
        help: "search the log (Enter keeps, Esc clears)",
        footer: Some("search"),
    },
    Binding {
        keys: "n/N",
        cmd: Command::NextMatch,
        help: "older / newer match",
        footer: None,
    },
    Binding {
        keys: "1-4",
        cmd: Command::Level(0),
        help: "minimum level: debug, info, warn, error",
        footer: Some("level"),
    },
    Binding {
        keys: "w",
        cmd: Command::Wrap,
        help: "wrap long log lines",
        footer: Some("wrap"),
    },
    Binding {
        keys: "↑↓ PgUp PgDn",
        cmd: Command::PageUp,
        help: "scroll the focused panel",
        footer: None,
    },
    Binding {
        keys: "Home/End",
        cmd: Command::Top,
        help: "oldest line / newest (follow)",
        footer: None,
    },
    Binding {
        keys: "?",
        cmd: Command::Help,
        help: "this help",
        footer: Some("help"),
    },
    Binding {
        keys: "q Ctrl-C",
        cmd: Command::Quit,
        help: "quit (the worker keeps running)",
        footer: Some("quit"),
    },
];

/// Map a key to a command (outside of popups and the search line).
pub fn lookup(k: &KeyEvent) -> Option<Command> {
    let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
    Some(match k.code {
        KeyCode::Char('c') if ctrl => Command::Quit,
        KeyCode::Char('q') => Command::Quit,
        KeyCode::Char('s') => Command::Start,
        KeyCode::Char('x') => Command::Stop,
        KeyCode::Char('r') => Command::Restart,
        KeyCode::Char('a') => Command::AutoRestart,
        KeyCode::Char('K') => Command::KillProcess,
        KeyCode::Char('X') => Command::ReapOrphans,
        KeyCode::Char('A') => Command::Adopt,
        KeyCode::Tab => Command::FocusNext,
        KeyCode::BackTab => Command::FocusPrev,
        KeyCode::Char('f') => Command::Follow,
        KeyCode::Char('/') => Command::Search,
        KeyCode::Char('n') => Command::NextMatch,
        KeyCode::Char('N') => Command::PrevMatch,
        KeyCode::Char(c @ '1'..='4') => Command::Level(c as u8 - b'0'),
        KeyCode::Char('w') => Command::Wrap,
        KeyCode::Char('?') => Command::Help,
        KeyCode::Up | KeyCode::Char('k') => Command::ScrollUp,
        KeyCode::Down | KeyCode::Char('j') => Command::ScrollDown,
        KeyCode::PageUp => Command::PageUp,
        KeyCode::PageDown => Command::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Command::Top,
        KeyCode::End | KeyCode::Char('G') => Command::Bottom,
        _ => return None,
    })
}
