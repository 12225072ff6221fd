//! The dashboard's `config.toml`: `[keys]` (rebind commands by name), `[colors]` (the semantic
//! theme) and `[dashboard]` (`interval`, `mouse`). Read with a small strict parser of the TOML
//! subset this file needs, so every error names `FILE:LINE` and what is wrong.

use std::path::{Path, PathBuf};
use std::time::Duration;

use ratatui::style::Color;

use crate::app::keymap::{Keymap, KeymapError, SPECS};
use crate::ui::theme::{Palette, COLOR_NAMES};

/// What `config.toml` sets; unset fields keep their defaults.
#[derive(Debug, Clone, Default)]
pub struct UiConfig {
    pub keys: Keymap,
    pub palette: Palette,
    pub interval: Option<Duration>,
    pub mouse: Option<bool>,
    /// The file read, if any.
    pub path: Option<PathBuf>,
}

/// A config file that cannot be used: `FILE:LINE: what is wrong`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigFileError {
    pub file: String,
    pub line: Option<usize>,
    pub what: String,
}

impl std::fmt::Display for ConfigFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.what),
            None => write!(f, "{}: {}", self.file, self.what),
        }
    }
}

/// The default place: `$XDG_CONFIG_HOME/claude-mem-top/config.toml`, else
/// `~/.config/claude-mem-top/config.toml` (`%APPDATA%\claude-mem-top\config.toml` on Windows).
pub fn default_path() -> Option<PathBuf> {
    crate::platform::config_dir().map(|b| b.join("claude-mem-top").join("config.toml"))
}

/// Load `explicit` (which must exist), else the default path if it exists, else defaults.
pub fn load(explicit: Option<&Path>) -> Result<UiConfig, ConfigFileError> {
    let (path, must) = match explicit {
        Some(p) => (Some(p.to_path_buf()), true),
        None => (default_path(), false),
    };
    let Some(path) = path else {
        return Ok(UiConfig::default());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must => {
            return Ok(UiConfig::default())
        }
        Err(e) => {
            return Err(ConfigFileError {
                file: path.display().to_string(),
                line: None,
                what: format!("cannot read: {e}"),
            })
        }
    };
    let mut cfg = parse(&text, &path.display().to_string())?;
    cfg.path = Some(path);
    Ok(cfg)
}

#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<String>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::List(_) => "a list",
        }
    }
}

/// Parse a quoted string at the start of `s`; returns it and the rest.
fn string(s: &str) -> Result<(String, &str), String> {
    let quote = s.chars().next().ok_or("expected a value")?;
    let body = &s[1..];
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        if c == quote {
            return Ok((out, &body[i + 1..]));
        }
        if c == '\\' && quote == '"' {
            match chars.next() {
                Some((_, '"')) => out.push('"'),
                Some((_, '\\')) => out.push('\\'),
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, o)) => return Err(format!("unknown escape \\{o}")),
                None => break,
            }
        } else {
            out.push(c);
        }
    }
    Err("unterminated string".into())
}

/// Only a comment (or nothing) may follow a value.
fn end(rest: &str) -> Result<(), String> {
    let r = rest.trim_start();
    if r.is_empty() || r.starts_with('#') {
        Ok(())
    } else {
        Err(format!("unexpected `{r}` after the value"))
    }
}

fn value(s: &str) -> Result<Value, String> {
    let s = s.trim_start();
    match s.chars().next() {
        Some('"') | Some('\'') => {
            let (v, rest) = string(s)?;
            end(rest)?;
            Ok(Value::Str(v))
        }
        Some('[') => {
            let mut rest = s[1..].trim_start();
            let mut items = Vec::new();
            loop {
                if let Some(r) = rest.strip_prefix(']') {
                    end(r)?;
                    return Ok(Value::List(items));
                }
                let (v, r) = string(rest).map_err(|_| "a list holds quoted keys".to_string())?;
                items.push(v);
                rest = r.trim_start();
                if let Some(r) = rest.strip_prefix(',') {
                    rest = r.trim_start();
                } else if !rest.starts_with(']') {
                    return Err("expected `,` or `]` in the list (on one line)".into());
                }
            }
        }
        _ => {
            let word = s.split('#').next().unwrap_or("").trim();
            match word {
                "true" => Ok(Value::Bool(true)),
                "false" => Ok(Value::Bool(false)),
                w => w
                    .parse::<i64>()
                    .map(Value::Int)
                    .map_err(|_| format!("`{w}` is not a value (quote strings: \"{w}\")")),
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    Keys,
    Colors,
    Dashboard,
}

/// Parse the text of a config file named `file` (for messages).
pub fn parse(text: &str, file: &str) -> Result<UiConfig, ConfigFileError> {
    let err = |line: usize, what: String| ConfigFileError {
        file: file.to_string(),
        line: Some(line),
        what,
    };
    let mut cfg = UiConfig::default();
    let mut section: Option<Section> = None;
    let mut overrides: Vec<(String, Vec<String>)> = Vec::new();
    let mut override_lines: Vec<usize> = Vec::new();
    let mut seen: Vec<(Section, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(head) = line.strip_prefix('[') {
            let name = head
                .split_once(']')
                .filter(|(_, rest)| end(rest).is_ok())
                .map(|(name, _)| name.trim())
                .ok_or_else(|| err(n, format!("bad section header `{line}`")))?;
            section = Some(match name {
                "keys" => Section::Keys,
                "colors" => Section::Colors,
                "dashboard" => Section::Dashboard,
                other => {
                    return Err(err(
                        n,
                        format!(
                            "unknown section [{other}] (sections: [keys], [colors], [dashboard])"
                        ),
                    ))
                }
            });
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| err(n, format!("expected `name = value`, found `{line}`")))?;
        let k = k.trim().trim_matches('"').to_string();
        let v = value(v).map_err(|w| err(n, format!("{k}: {w}")))?;
        let Some(sec) = section else {
            return Err(err(
                n,
                format!("`{k}` is outside a section ([keys], [colors] or [dashboard])"),
            ));
        };
        if seen.contains(&(sec, k.clone())) {
            return Err(err(n, format!("`{k}` is set twice")));
        }
        seen.push((sec, k.clone()));
        match sec {
            Section::Keys => {
                if crate::app::keymap::Command::by_name(&k).is_none() {
                    return Err(err(
                        n,
                        format!(
                            "unknown command `{k}` in [keys] (commands: {})",
                            SPECS.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
                let keys = match v {
                    Value::Str(s) => vec![s],
                    Value::List(l) => l,
                    other => {
                        return Err(err(
                            n,
                            format!(
                                "{k}: expected a key like \"Z\" or a list, found {}",
                                other.kind()
                            ),
                        ))
                    }
                };
                overrides.push((k, keys));
                override_lines.push(n);
            }
            Section::Colors => {
                // A palette index may be written bare (`ok = 200`) or quoted (`ok = "200"`).
                let s = match v {
                    Value::Str(s) => s,
                    Value::Int(i) if (0..=255).contains(&i) => i.to_string(),
                    v => {
                        return Err(err(
                            n,
                            format!(
                                "{k}: expected a colour name like \"red\", \"#ff8800\" or 0-255, found {}",
                                match v {
                                    Value::Int(i) => format!("{i}"),
                                    other => other.kind().to_string(),
                                }
                            ),
                        ));
                    }
                };
                let c: Color = s.parse().map_err(|_| {
                    err(
                        n,
                        format!("{k}: `{s}` is not a colour (a name like \"red\" or \"light-blue\", \"#rrggbb\", or 0-255)"),
                    )
                })?;
                if !cfg.palette.set(&k, c) {
                    return Err(err(
                        n,
                        format!(
                            "unknown colour `{k}` in [colors] (colours: {})",
                            COLOR_NAMES
                                .iter()
                                .map(|c| c.0)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            }
            Section::Dashboard => match (k.as_str(), v) {
                ("interval", Value::Str(s)) => {
                    let d = crate::config::parse_duration(&s)
                        .filter(|d| *d >= Duration::from_millis(100))
                        .ok_or_else(|| {
                            err(n, format!("interval: `{s}` is not a duration of 100ms or more (like \"1s\", \"500ms\")"))
                        })?;
                    cfg.interval = Some(d);
                }
                ("mouse", Value::Bool(b)) => cfg.mouse = Some(b),
                ("interval", v) => {
                    return Err(err(
                        n,
                        format!(
                            "interval: expected a string like \"1s\", found {}",
                            v.kind()
                        ),
                    ))
                }
                ("mouse", v) => {
                    return Err(err(
                        n,
                        format!("mouse: expected true or false, found {}", v.kind()),
                    ))
                }
                (other, _) => {
                    return Err(err(
                        n,
                        format!(
                            "unknown setting `{other}` in [dashboard] (settings: interval, mouse)"
                        ),
                    ))
                }
            },
        }
    }
    cfg.keys = Keymap::with(&overrides).map_err(|e| {
        // Name the line of the binding that made the clash (or the bad key).
        let culprit = match &e {
            KeymapError::Clash { first, second, .. } => overrides
                .iter()
                .rposition(|(c, _)| c == second || c == first),
            KeymapError::BadKey { cmd, .. } | KeymapError::UnknownCommand(cmd) => {
                overrides.iter().position(|(c, _)| c == cmd)
            }
        };
        ConfigFileError {
            file: file.to_string(),
            line: culprit.map(|i| override_lines[i]),
            what: e.to_string(),
        }
    })?;
    Ok(cfg)
}

fn color_name(c: Color) -> String {
    match c {
        Color::Reset => "reset".into(),
        Color::Black => "black".into(),
        Color::Red => "red".into(),
        Color::Green => "green".into(),
        Color::Yellow => "yellow".into(),
        Color::Blue => "blue".into(),
        Color::Magenta => "magenta".into(),
        Color::Cyan => "cyan".into(),
        Color::Gray => "gray".into(),
        Color::DarkGray => "dark-gray".into(),
        Color::LightRed => "light-red".into(),
        Color::LightGreen => "light-green".into(),
        Color::LightYellow => "light-yellow".into(),
        Color::LightBlue => "light-blue".into(),
        Color::LightMagenta => "light-magenta".into(),
        Color::LightCyan => "light-cyan".into(),
        Color::White => "white".into(),
        Color::Rgb(r, g, b) => format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => i.to_string(),
    }
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The commented default file (`claude-mem-top config --default`); it parses to the defaults.
pub fn default_file() -> String {
    let mut out = String::new();
    out.push_str("# claude-mem-top dashboard settings.\n");
    out.push_str("# Place: $XDG_CONFIG_HOME/claude-mem-top/config.toml, else\n");
    out.push_str(
        "# ~/.config/claude-mem-top/config.toml (%APPDATA%\\claude-mem-top\\config.toml on\n",
    );
    out.push_str("# Windows), or pass --config FILE. Every setting is optional.\n\n");
    out.push_str("[dashboard]\n");
    out.push_str("# Sampling interval for health and resources (--interval wins).\n");
    out.push_str("interval = \"1s\"\n");
    out.push_str("# Mouse: the wheel scrolls the panel under the pointer, a click focuses it\n");
    out.push_str("# (--no-mouse wins).\n");
    out.push_str("mouse = true\n\n");
    out.push_str("[keys]\n");
    out.push_str(
        "# command = \"key\" or [\"key\", \"key\"]. Keys: one character (case matters),\n",
    );
    out.push_str(
        "# C-x for Ctrl-x, F1-F12, Up Down Left Right PgUp PgDn Home End Tab S-Tab Enter\n",
    );
    out.push_str("# Space Backspace Delete Insert. A key bound to two commands is an error.\n");
    let km = Keymap::default();
    for s in SPECS {
        let keys: Vec<String> = km
            .keys_of(s.cmd)
            .iter()
            .map(|k| quote(&key_name(*k)))
            .collect();
        let v = if keys.len() == 1 {
            keys[0].clone()
        } else {
            format!("[{}]", keys.join(", "))
        };
        out.push_str(&format!("{:<13} = {v:<16} # {}\n", s.name, s.help));
    }
    out.push_str("\n[colors]\n");
    out.push_str("# A name (red, light-blue, dark-gray, …), \"#rrggbb\" or 0-255. NO_COLOR and\n");
    out.push_str("# --no-color turn colour off.\n");
    let p = Palette::default();
    for (name, what) in COLOR_NAMES {
        let c = p.get(name).map(color_name).unwrap_or_default();
        out.push_str(&format!("{name:<8} = {:<12} # {what}\n", quote(&c)));
    }
    out
}

/// A key as `config.toml` spells it.
fn key_name(k: crate::app::keymap::Key) -> String {
    use ratatui::crossterm::event::KeyCode;
    let base = match k.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "Up".into(),
        KeyCode::Down => "Down".into(),
        KeyCode::Left => "Left".into(),
        KeyCode::Right => "Right".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::BackTab => "S-Tab".into(),
        _ => k.label(),
    };
    if k.ctrl {
        format!("C-{base}")
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_parses_to_the_defaults() {
        let c = parse(&default_file(), "config.toml").expect("default file parses");
        assert_eq!(c.keys, Keymap::default());
        assert_eq!(c.palette, Palette::default());
        assert_eq!(c.interval, Some(Duration::from_secs(1)));
        assert_eq!(c.mouse, Some(true));
    }

    #[test]
    fn a_palette_index_may_be_bare_or_quoted() {
        let bare = parse("[colors]\nok = 200\n", "c.toml").expect("bare index");
        let quoted = parse("[colors]\nok = \"200\"\n", "c.toml").expect("quoted index");
        assert_eq!(bare.palette, quoted.palette);
        assert_ne!(bare.palette, Palette::default());
        let e = parse("[colors]\nok = 256\n", "c.toml").expect_err("out of range");
        assert!(e.to_string().contains("c.toml:2"), "{e}");
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let e = parse("[keys]\nstop = \"Z\"\nfly = \"q\"\n", "c.toml").expect_err("unknown");
        assert!(
            e.to_string().starts_with("c.toml:3: unknown command `fly`"),
            "{e}"
        );
        let e = parse("[keys]\nstop = \"s\"\n", "c.toml").expect_err("clash");
        assert_eq!(
            e.to_string(),
            "c.toml:2: key s is bound twice: to start and to stop"
        );
        let e = parse("[colors]\nok = \"blurple\"\n", "c.toml").expect_err("colour");
        assert!(
            e.to_string()
                .starts_with("c.toml:2: ok: `blurple` is not a colour"),
            "{e}"
        );
        let e = parse("\n[dashboard]\nmouse = 3\n", "c.toml").expect_err("bool");
        assert!(
            e.to_string()
                .starts_with("c.toml:3: mouse: expected true or false"),
            "{e}"
        );
        let e = parse("[dash]\n", "c.toml").expect_err("section");
        assert!(
            e.to_string()
                .starts_with("c.toml:1: unknown section [dash]"),
            "{e}"
        );
    }

    #[test]
    fn keys_colors_and_settings_apply() {
        let c = parse(
            "# mine\n[keys]\nstop = \"Z\" # not x\nscroll_up = [\"Up\", \"C-p\"]\n[colors]\nok = \"#00ff00\"\n[dashboard]\ninterval = \"2s\"\nmouse = false\n",
            "c.toml",
        )
        .expect("valid");
        assert_eq!(c.keys.label(crate::app::keymap::Command::Stop), "Z");
        assert_eq!(c.keys.label(crate::app::keymap::Command::ScrollUp), "↑ C-p");
        assert_eq!(c.palette.ok, Color::Rgb(0, 255, 0));
        assert_eq!(c.interval, Some(Duration::from_secs(2)));
        assert_eq!(c.mouse, Some(false));
    }
}
