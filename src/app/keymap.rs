//! One key table: it resolves keys, and the footer and the help popup render from it, so what
//! the screen says and what the keys do cannot drift. `config.toml`'s `[keys]` rebinds commands
//! by name.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Every command a key can trigger outside popups and the search line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    Start,
    Stop,
    Restart,
    AutoRestart,
    KillProcess,
    ReapOrphans,
    Adopt,
    Open,
    FocusNext,
    FocusPrev,
    Follow,
    LogPrevDay,
    LogNextDay,
    Search,
    NextMatch,
    PrevMatch,
    LevelDebug,
    LevelInfo,
    LevelWarn,
    LevelError,
    Wrap,
    Timestamps,
    CopyEntry,
    CopyPage,
    Pager,
    Save,
    ScrollLeft,
    ScrollRight,
    ScrollUp,
    ScrollDown,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Help,
    History,
    Queue,
    Settings,
    Viewer,
    Quit,
}

/// A command's name (for `config.toml`), help text, footer label and default keys.
pub struct Spec {
    pub cmd: Command,
    pub name: &'static str,
    pub help: &'static str,
    pub footer: Option<&'static str>,
    pub keys: &'static [&'static str],
}

const fn spec(
    cmd: Command,
    name: &'static str,
    keys: &'static [&'static str],
    help: &'static str,
    footer: Option<&'static str>,
) -> Spec {
    Spec {
        cmd,
        name,
        help,
        footer,
        keys,
    }
}

/// The commands in help order, with their default keys.
#[rustfmt::skip]
pub const SPECS: &[Spec] = &[
    spec(Command::Start, "start", &["s"], "start the worker", Some("start")),
    spec(Command::Stop, "stop", &["x"], "stop the worker (asks first)", Some("stop")),
    spec(Command::Restart, "restart", &["r"], "restart the worker (asks first)", Some("restart")),
    spec(Command::AutoRestart, "auto_restart", &["a"], "auto-restart a worker that dies", Some("auto")),
    spec(Command::KillProcess, "kill_process", &["K"], "stop the selected Processes row (asks first)", None),
    spec(Command::ReapOrphans, "reap_orphans", &["X"], "end all orphaned helpers (asks first)", None),
    spec(Command::Adopt, "adopt", &["A"], "adopt the worker on the port into the PID file", None),
    spec(Command::Open, "open", &["Enter"], "open the selected Activity item or Health detail", None),
    spec(Command::FocusNext, "focus_next", &["Tab"], "focus the next panel", Some("focus")),
    spec(Command::FocusPrev, "focus_prev", &["S-Tab"], "focus the previous panel", None),
    spec(Command::Follow, "follow", &["f"], "follow the log", Some("follow")),
    spec(Command::LogPrevDay, "log_prev_day", &["["], "the previous day's log file (read from disk)", None),
    spec(Command::LogNextDay, "log_next_day", &["]"], "the next day's log file (past the newest: the live log)", None),
    spec(Command::Search, "search", &["/"], "search the log, or the memories in Activity", Some("search")),
    spec(Command::NextMatch, "next_match", &["n"], "older match", None),
    spec(Command::PrevMatch, "prev_match", &["N"], "newer match", None),
    spec(Command::LevelDebug, "level_debug", &["1"], "show all levels", Some("level")),
    spec(Command::LevelInfo, "level_info", &["2"], "show info and above", None),
    spec(Command::LevelWarn, "level_warn", &["3"], "show warnings and errors", None),
    spec(Command::LevelError, "level_error", &["4"], "show errors only", None),
    spec(Command::Wrap, "wrap", &["w"], "wrap long log lines", Some("wrap")),
    spec(Command::Timestamps, "timestamps", &["t"], "show or hide log timestamps", Some("time")),
    spec(Command::CopyEntry, "copy_entry", &["y"], "copy the selected entry (OSC 52)", Some("copy")),
    spec(Command::CopyPage, "copy_page", &["Y"], "copy the visible page (OSC 52)", None),
    spec(Command::Pager, "pager", &["o"], "open the log in $PAGER", Some("pager")),
    spec(Command::Save, "save", &["S"], "save the filtered log to a file", Some("save")),
    spec(Command::ScrollLeft, "scroll_left", &["Left", "h"], "scroll the log left (wrap off)", None),
    spec(Command::ScrollRight, "scroll_right", &["Right", "l"], "scroll the log right (wrap off)", None),
    spec(Command::ScrollUp, "scroll_up", &["Up", "k"], "move up in the focused panel", None),
    spec(Command::ScrollDown, "scroll_down", &["Down", "j"], "move down in the focused panel", None),
    spec(Command::PageUp, "page_up", &["PgUp"], "page up", None),
    spec(Command::PageDown, "page_down", &["PgDn"], "page down", None),
    spec(Command::Top, "top", &["Home", "g"], "oldest line", None),
    spec(Command::Bottom, "bottom", &["End", "G"], "newest line (follow)", None),
    spec(Command::Help, "help", &["?"], "this help", Some("help")),
    spec(Command::History, "history", &["H"], "list the worker's runs from its logs", None),
    spec(Command::Queue, "queue", &["Q"], "the queue, oldest first, stuck ones marked", None),
    spec(Command::Settings, "settings", &["C"], "every setting, its value and its origin", None),
    spec(Command::Viewer, "viewer", &["v"], "open the worker's web viewer in a browser", None),
    spec(Command::Quit, "quit", &["q", "C-c"], "quit (the worker keeps running)", Some("quit")),
];

impl Command {
    pub fn spec(self) -> &'static Spec {
        // Every command has exactly one spec (a unit test checks it).
        SPECS
            .iter()
            .find(|s| s.cmd == self)
            .unwrap_or(&SPECS[SPECS.len() - 1])
    }
    pub fn name(self) -> &'static str {
        self.spec().name
    }
    pub fn by_name(name: &str) -> Option<Command> {
        SPECS.iter().find(|s| s.name == name).map(|s| s.cmd)
    }
}

/// One key: a code and whether Ctrl is held (Shift is part of the character).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    pub code: KeyCode,
    pub ctrl: bool,
}

const NAMED: &[(&str, KeyCode, &str)] = &[
    ("Up", KeyCode::Up, "↑"),
    ("Down", KeyCode::Down, "↓"),
    ("Left", KeyCode::Left, "←"),
    ("Right", KeyCode::Right, "→"),
    ("PgUp", KeyCode::PageUp, "PgUp"),
    ("PgDn", KeyCode::PageDown, "PgDn"),
    ("Home", KeyCode::Home, "Home"),
    ("End", KeyCode::End, "End"),
    ("Tab", KeyCode::Tab, "Tab"),
    ("S-Tab", KeyCode::BackTab, "S-Tab"),
    ("Enter", KeyCode::Enter, "Enter"),
    ("Backspace", KeyCode::Backspace, "Bksp"),
    ("Delete", KeyCode::Delete, "Del"),
    ("Insert", KeyCode::Insert, "Ins"),
    ("Space", KeyCode::Char(' '), "Space"),
];

impl Key {
    /// Parse `x`, `Z`, `Up`, `PgDn`, `S-Tab`, `Space`, `F5`, `C-x` (Ctrl-x).
    pub fn parse(s: &str) -> Result<Key, String> {
        let (ctrl, rest) = match s.strip_prefix("C-").or_else(|| s.strip_prefix("Ctrl-")) {
            Some(r) if !r.is_empty() => (true, r),
            _ => (false, s),
        };
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) if !c.is_control() && c != ' ' => {
                KeyCode::Char(if ctrl { c.to_ascii_lowercase() } else { c })
            }
            _ => {
                if let Some((_, code, _)) =
                    NAMED.iter().find(|(n, _, _)| n.eq_ignore_ascii_case(rest))
                {
                    *code
                } else if let Some(n) = rest
                    .strip_prefix('F')
                    .and_then(|n| n.parse::<u8>().ok())
                    .filter(|n| (1..=12).contains(n))
                {
                    KeyCode::F(n)
                } else {
                    return Err(format!(
                        "`{s}` is not a key (one character, C-x, F1-F12 or one of {})",
                        NAMED.iter().map(|n| n.0).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        };
        if matches!(code, KeyCode::Esc) {
            return Err("Esc is reserved (it closes popups)".into());
        }
        Ok(Key { code, ctrl })
    }

    pub fn from_event(k: &KeyEvent) -> Key {
        let ctrl = k.modifiers.contains(KeyModifiers::CONTROL);
        let code = match k.code {
            KeyCode::Char(c) if ctrl => KeyCode::Char(c.to_ascii_lowercase()),
            c => c,
        };
        Key { code, ctrl }
    }

    /// The event a terminal sends for this key (for tests and the binding walk).
    pub fn event(self) -> KeyEvent {
        let mut mods = if self.ctrl {
            KeyModifiers::CONTROL
        } else {
            KeyModifiers::NONE
        };
        if matches!(self.code, KeyCode::Char(c) if c.is_ascii_uppercase()) {
            mods |= KeyModifiers::SHIFT;
        }
        if self.code == KeyCode::BackTab {
            mods |= KeyModifiers::SHIFT;
        }
        KeyEvent::new(self.code, mods)
    }

    /// How the footer and help show it.
    pub fn label(self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "Space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::F(n) => format!("F{n}"),
            code => NAMED
                .iter()
                .find(|(_, c, _)| *c == code)
                .map_or_else(|| "?".to_string(), |(_, _, l)| l.to_string()),
        };
        if self.ctrl {
            format!("C-{base}")
        } else {
            base
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub cmd: Command,
    pub keys: Vec<Key>,
}

/// The key table in effect: the defaults with `[keys]` applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    pub bindings: Vec<Binding>,
}

/// Why a `[keys]` table cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeymapError {
    UnknownCommand(String),
    BadKey {
        cmd: String,
        why: String,
    },
    Clash {
        key: String,
        first: &'static str,
        second: &'static str,
    },
}

impl std::fmt::Display for KeymapError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeymapError::UnknownCommand(c) => write!(
                f,
                "unknown command `{c}` (commands: {})",
                SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            ),
            KeymapError::BadKey { cmd, why } => write!(f, "{cmd}: {why}"),
            KeymapError::Clash { key, first, second } => {
                write!(f, "key {key} is bound twice: to {first} and to {second}")
            }
        }
    }
}

impl Default for Keymap {
    fn default() -> Self {
        let bindings = SPECS
            .iter()
            .map(|s| Binding {
                cmd: s.cmd,
                keys: s.keys.iter().filter_map(|k| Key::parse(k).ok()).collect(),
            })
            .collect();
        Keymap { bindings }
    }
}

impl Keymap {
    /// The defaults with `overrides` (command name → keys) applied; a key bound to two commands
    /// is an error naming both.
    pub fn with(overrides: &[(String, Vec<String>)]) -> Result<Keymap, KeymapError> {
        let mut km = Keymap::default();
        for (name, keys) in overrides {
            let cmd =
                Command::by_name(name).ok_or_else(|| KeymapError::UnknownCommand(name.clone()))?;
            let keys = keys
                .iter()
                .map(|k| {
                    Key::parse(k).map_err(|why| KeymapError::BadKey {
                        cmd: name.clone(),
                        why,
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            if let Some(b) = km.bindings.iter_mut().find(|b| b.cmd == cmd) {
                b.keys = keys;
            }
        }
        km.check()?;
        Ok(km)
    }

    fn check(&self) -> Result<(), KeymapError> {
        let mut seen: Vec<(Key, Command)> = Vec::new();
        for b in &self.bindings {
            for k in &b.keys {
                if let Some((_, first)) = seen.iter().find(|(s, c)| s == k && *c != b.cmd) {
                    return Err(KeymapError::Clash {
                        key: k.label(),
                        first: first.name(),
                        second: b.cmd.name(),
                    });
                }
                seen.push((*k, b.cmd));
            }
        }
        Ok(())
    }

    /// Map a key to a command (outside of popups and the search line).
    pub fn lookup(&self, k: &KeyEvent) -> Option<Command> {
        let key = Key::from_event(k);
        self.bindings
            .iter()
            .find(|b| b.keys.contains(&key))
            .map(|b| b.cmd)
    }

    pub fn keys_of(&self, cmd: Command) -> &[Key] {
        self.bindings
            .iter()
            .find(|b| b.cmd == cmd)
            .map_or(&[], |b| b.keys.as_slice())
    }

    /// The first key of a command, as shown in the footer (empty when unbound).
    pub fn first_label(&self, cmd: Command) -> String {
        self.keys_of(cmd)
            .first()
            .map(|k| k.label())
            .unwrap_or_default()
    }

    /// All keys of a command, as the help shows them.
    pub fn label(&self, cmd: Command) -> String {
        self.keys_of(cmd)
            .iter()
            .map(|k| k.label())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Footer hints: (key, label) in table order, for bound commands with a footer label.
    pub fn footer(&self) -> Vec<(String, &'static str)> {
        self.bindings
            .iter()
            .filter_map(|b| {
                let label = b.cmd.spec().footer?;
                let key = b.keys.first()?.label();
                Some((key, label))
            })
            .collect()
    }

    /// Help rows: (keys, text) for every bound command.
    pub fn help(&self) -> Vec<(String, &'static str)> {
        self.bindings
            .iter()
            .filter(|b| !b.keys.is_empty())
            .map(|b| (self.label(b.cmd), b.cmd.spec().help))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_has_one_spec_and_the_defaults_do_not_clash() {
        let names: std::collections::HashSet<_> = SPECS.iter().map(|s| s.name).collect();
        assert_eq!(names.len(), SPECS.len());
        for s in SPECS {
            assert_eq!(s.cmd.spec().name, s.name);
            for k in s.keys {
                assert!(Key::parse(k).is_ok(), "{k}");
            }
        }
        assert_eq!(Keymap::default().check(), Ok(()));
    }

    #[test]
    fn rebinding_moves_a_key_and_a_clash_names_both_commands() {
        let km = Keymap::with(&[("stop".into(), vec!["Z".into()])]).expect("valid");
        let z = Key::parse("Z").expect("key").event();
        let x = Key::parse("x").expect("key").event();
        assert_eq!(km.lookup(&z), Some(Command::Stop));
        assert_eq!(km.lookup(&x), None);
        let err = Keymap::with(&[("stop".into(), vec!["s".into()])]).expect_err("clash");
        assert_eq!(
            err.to_string(),
            "key s is bound twice: to start and to stop"
        );
        assert!(matches!(
            Keymap::with(&[("nope".into(), vec!["z".into()])]),
            Err(KeymapError::UnknownCommand(_))
        ));
        assert!(Keymap::with(&[("stop".into(), vec!["Esc".into()])]).is_err());
    }

    #[test]
    fn ctrl_keys_and_named_keys_round_trip() {
        for s in ["C-c", "Up", "PgDn", "S-Tab", "F5", "Space", "Z", "/"] {
            let k = Key::parse(s).expect(s);
            assert_eq!(Key::from_event(&k.event()), k, "{s}");
        }
    }
}
