//! The dashboard's `config.toml`: `[keys]` (rebind commands by name), `[colors]` (the semantic
//! theme) and `[dashboard]` (`interval`, `mouse`). Read with the `toml` crate into serde structs
//! that refuse unknown sections and settings; every error names `FILE:LINE` (the line its span
//! starts on) and what is wrong.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use ratatui::style::Color;
use serde::de::{self, Visitor};
use serde::Deserialize;
use toml::Spanned;

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

/// The file as written. Unknown sections are errors; `[keys]` and `[colors]` are read as
/// name → value maps so their names can be checked against the commands and colours (and the
/// message can list them).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    keys: BTreeMap<Spanned<String>, Value>,
    #[serde(default)]
    colors: BTreeMap<Spanned<String>, Value>,
    #[serde(default)]
    dashboard: RawDashboard,
}

/// `[dashboard]`: unknown settings are errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDashboard {
    interval: Option<Interval>,
    mouse: Option<Mouse>,
}

/// `interval = "1s"`: a duration of 100ms or more.
#[derive(Debug, Deserialize)]
#[serde(try_from = "Value")]
struct Interval(Duration);

impl TryFrom<Value> for Interval {
    type Error = String;

    fn try_from(v: Value) -> Result<Interval, String> {
        match v {
            Value::Str(s) => crate::config::parse_duration(&s)
                .filter(|d| *d >= Duration::from_millis(100))
                .map(Interval)
                .ok_or_else(|| {
                    format!("interval: `{s}` is not a duration of 100ms or more (like \"1s\", \"500ms\")")
                }),
            v => Err(format!(
                "interval: expected a string like \"1s\", found {}",
                v.kind()
            )),
        }
    }
}

/// `mouse = true`.
#[derive(Debug, Deserialize)]
#[serde(try_from = "Value")]
struct Mouse(bool);

impl TryFrom<Value> for Mouse {
    type Error = String;

    fn try_from(v: Value) -> Result<Mouse, String> {
        match v {
            Value::Bool(b) => Ok(Mouse(b)),
            v => Err(format!("mouse: expected true or false, found {}", v.kind())),
        }
    }
}

/// Any TOML value, kept loose so that a value of the wrong kind gets a message naming its
/// setting and what fits there.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    Str(String),
    Bool(bool),
    Int(i64),
    List(Vec<Value>),
    /// A float, a table or a date: never right here.
    Other(&'static str),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Str(_) => "a string",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::List(_) => "a list",
            Value::Other(kind) => kind,
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }

    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        Ok(i64::try_from(u).map_or(Value::Other("an integer"), Value::Int))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Value, E> {
        Ok(Value::Other("a fractional number"))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_string()))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<Value>()? {
            items.push(v);
        }
        Ok(Value::List(items))
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        // The toml crate hands a date over as a map with one private key.
        let mut kind = "a table";
        if let Some(k) = map.next_key::<String>()? {
            if k.starts_with("$__toml") {
                kind = "a date";
            }
            map.next_value::<de::IgnoredAny>()?;
        }
        while map
            .next_entry::<de::IgnoredAny, de::IgnoredAny>()?
            .is_some()
        {}
        Ok(Value::Other(kind))
    }
}

/// The 1-based line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    let before = &text.as_bytes()[..offset.min(text.len())];
    before.iter().filter(|&&b| b == b'\n').count() + 1
}

/// A map section's entries in the order the file has them, each with its line: the first
/// mistake in the file is the one named.
fn in_file_order(text: &str, map: BTreeMap<Spanned<String>, Value>) -> Vec<(String, Value, usize)> {
    let mut entries: Vec<_> = map
        .into_iter()
        .map(|(k, v)| (k.span().start, k.into_inner(), v))
        .collect();
    entries.sort_by_key(|e| e.0);
    entries
        .into_iter()
        .map(|(at, k, v)| (k, v, line_of(text, at)))
        .collect()
}

/// Parse the text of a config file named `file` (for messages).
pub fn parse(text: &str, file: &str) -> Result<UiConfig, ConfigFileError> {
    let err = |line: usize, what: String| ConfigFileError {
        file: file.to_string(),
        line: Some(line),
        what,
    };
    // Editors on Windows may start the file with a byte order mark.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let raw: RawFile = toml::from_str(text).map_err(|e| ConfigFileError {
        file: file.to_string(),
        line: e.span().map(|s| line_of(text, s.start)),
        what: toml_message(text, &e),
    })?;
    let mut cfg = UiConfig {
        interval: raw.dashboard.interval.map(|i| i.0),
        mouse: raw.dashboard.mouse.map(|m| m.0),
        ..UiConfig::default()
    };
    let mut overrides: Vec<(String, Vec<String>)> = Vec::new();
    let mut override_lines: Vec<usize> = Vec::new();
    for (k, v, n) in in_file_order(text, raw.keys) {
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
            Value::List(l) => l
                .into_iter()
                .map(|item| match item {
                    Value::Str(s) => Ok(s),
                    _ => Err(err(n, format!("{k}: a list holds quoted keys"))),
                })
                .collect::<Result<_, _>>()?,
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
    for (k, v, n) in in_file_order(text, raw.colors) {
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

/// The toml crate's message on one line (some span several). Its bare "duplicate key" gets
/// the key's name from the span.
fn toml_message(text: &str, e: &toml::de::Error) -> String {
    let duplicate = e
        .span()
        .filter(|_| e.message() == "duplicate key")
        .and_then(|s| text.get(s))
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.contains('\n'));
    if let Some(k) = duplicate {
        return format!("`{k}` is set twice");
    }
    e.message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
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
        assert_eq!(
            e.to_string(),
            "c.toml:1: unknown field `dash`, expected one of `keys`, `colors`, `dashboard`"
        );
    }

    #[test]
    fn unknown_names_wrong_kinds_and_bad_syntax_are_errors() {
        let cases = [
            (
                "[dashboard]\nfoo = 1\n",
                "c.toml:2: unknown field `foo`, expected `interval` or `mouse`",
            ),
            (
                "interval = \"1s\"\n",
                "c.toml:1: unknown field `interval`, expected one of `keys`, `colors`, `dashboard`",
            ),
            (
                "[keys]\nstop = \"Z\"\nstop = \"Y\"\n",
                "c.toml:3: `stop` is set twice",
            ),
            (
                "[dashboard]\n\ninterval = 5\n",
                "c.toml:3: interval: expected a string like \"1s\", found an integer",
            ),
            (
                "[dashboard]\ninterval = \"50ms\"\n",
                "c.toml:2: interval: `50ms` is not a duration of 100ms or more",
            ),
            (
                "[dashboard]\nmouse = 1979-05-27\n",
                "c.toml:2: mouse: expected true or false, found a date",
            ),
            (
                "[keys]\nstop = [\"Z\", 1]\n",
                "c.toml:2: stop: a list holds quoted keys",
            ),
            (
                "[keys]\nstop = { a = 1 }\n",
                "c.toml:2: stop: expected a key like \"Z\" or a list, found a table",
            ),
            (
                "[colors]\nok = 1.5\n",
                "c.toml:2: ok: expected a colour name",
            ),
            (
                "[keys]\nstop = \"Z\"\nfly = \"q\"\n",
                "c.toml:3: unknown command `fly`",
            ),
            (
                "[colors]\nblurp = \"red\"\n",
                "c.toml:2: unknown colour `blurp`",
            ),
            ("keys = 3\n", "c.toml:1: invalid type: integer `3`"),
        ];
        for (text, want) in cases {
            let e = parse(text, "c.toml").expect_err(text).to_string();
            assert!(e.starts_with(want), "{text:?}: {e}");
        }
        // A syntax error: still one line with its line number.
        let e = parse("[keys]\nstop = \"Z\"\n[dashboard\n", "c.toml")
            .expect_err("unclosed header")
            .to_string();
        assert!(e.starts_with("c.toml:3: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
    }

    #[test]
    fn a_byte_order_mark_and_multi_line_lists_are_fine() {
        let c = parse(
            "\u{feff}[dashboard]\nmouse = false\n[keys]\nscroll_up = [\n  \"Up\",\n  \"C-p\",\n]\n",
            "c.toml",
        )
        .expect("valid");
        assert_eq!(c.mouse, Some(false));
        assert_eq!(c.keys.label(crate::app::keymap::Command::ScrollUp), "↑ C-p");
        // A clash names the line of the later binding.
        let e = parse("[keys]\nstart = \"z\"\n\nstop = \"z\"\n", "c.toml").expect_err("clash");
        assert!(
            e.to_string().starts_with("c.toml:4: key z is bound twice"),
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
