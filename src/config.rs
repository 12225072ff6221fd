//! Where things are: data dir, port, worker command, durations. Every value says where it came
//! from so an error can name it.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::procman::files;

pub const DEFAULT_PORT: u16 = 37777;
/// Largest settings.json we read (real ones are a few KB).
const SETTINGS_CAP: u64 = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("Invalid port {value} (from {origin}): use an integer from 1024 to 65535")]
    InvalidPort { value: String, origin: PortSource },
    #[error("{path}: {reason}: fix or remove the file")]
    Settings { path: PathBuf, reason: String },
    #[error("CLAUDE_MEM_WORKER_HOST {value:?} (from {origin}) is not a loopback address: claude-mem-top only probes 127.0.0.1 or ::1")]
    NonLoopbackHost { value: String, origin: String },
    #[error(
        "cannot find the home directory: set HOME (USERPROFILE on Windows) or pass --data-dir"
    )]
    NoHome,
    #[error("invalid worker command {value:?} (from {origin}): {reason}")]
    WorkerCmd {
        value: String,
        origin: &'static str,
        reason: &'static str,
    },
}

impl ConfigError {
    /// The file the error is about, when it is about one.
    pub fn file(&self) -> Option<&Path> {
        match self {
            ConfigError::Settings { path, .. } => Some(path),
            ConfigError::InvalidPort {
                origin: PortSource::Settings(path),
                ..
            } => Some(path),
            _ => None,
        }
    }
}

/// Where the port came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum PortSource {
    Flag,
    Env,
    Settings(#[serde(serialize_with = "files::ser_path")] PathBuf),
    Default,
}

impl fmt::Display for PortSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PortSource::Flag => write!(f, "--port"),
            PortSource::Env => write!(f, "env CLAUDE_MEM_WORKER_PORT"),
            PortSource::Settings(p) => write!(f, "CLAUDE_MEM_WORKER_PORT in {}", p.display()),
            PortSource::Default => write!(f, "the default"),
        }
    }
}

/// The worker's command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCmd {
    pub argv: Vec<String>,
    pub cwd: Option<PathBuf>,
    /// The claude-mem default (`bun …/worker-service.cjs`): its own missing-program messages.
    pub script: Option<PathBuf>,
}

impl WorkerCmd {
    /// claude-mem's own worker, from the script its hooks run: `CLAUDE_MEM_WORKER_SCRIPT_PATH`
    /// if set; else on 13.x the highest plugin version in the cache without an `.orphaned_at`
    /// (a manager that launches another script than the hooks do would fight their version
    /// check); else the marketplace's script (7.x).
    pub fn default_for(home: &Path) -> WorkerCmd {
        let market = home.join(".claude/plugins/marketplaces/thedotmack");
        let (script, cwd) = match std::env::var_os("CLAUDE_MEM_WORKER_SCRIPT_PATH")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
        {
            Some(p) => (p, market.clone()),
            None => match crate::release::hooks_plugin(home) {
                Some((plugin, _)) => (plugin.join("scripts").join("worker-service.cjs"), plugin),
                None => (
                    market.join("plugin/scripts/worker-service.cjs"),
                    market.clone(),
                ),
            },
        };
        WorkerCmd {
            argv: vec!["bun".into(), script.to_string_lossy().into_owned()],
            cwd: Some(cwd),
            script: Some(script),
        }
    }

    pub fn parse(value: &str, source: &'static str) -> Result<WorkerCmd, ConfigError> {
        let err = |reason| ConfigError::WorkerCmd {
            value: value.to_string(),
            origin: source,
            reason,
        };
        let argv = shlex::split(value).ok_or_else(|| err("unbalanced quotes"))?;
        if argv.is_empty() {
            return Err(err("empty"));
        }
        Ok(WorkerCmd {
            argv,
            cwd: None,
            script: None,
        })
    }

    pub fn display(&self) -> String {
        self.argv.join(" ")
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub data_dir_source: DataDirSource,
    /// The `settings.json` claude-mem reads for this data dir (see [`Config::load`]).
    pub settings_file: PathBuf,
    pub port: u16,
    pub port_source: PortSource,
    pub worker: WorkerCmd,
    pub home: Option<PathBuf>,
    /// Where health probes go: loopback only.
    pub host: std::net::IpAddr,
}

/// What the command line said; the rest comes from the environment and settings.json.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub data_dir: Option<PathBuf>,
    pub port: Option<String>,
    pub worker_cmd: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}

/// Expand a leading `~/` or a lone `~`.
pub fn expand_tilde(p: &Path, home: Option<&Path>) -> Result<PathBuf, ConfigError> {
    let s = p.as_os_str().as_encoded_bytes();
    if s == b"~" || s.starts_with(b"~/") {
        let home = home.ok_or(ConfigError::NoHome)?;
        let rest = p.strip_prefix("~").unwrap_or(Path::new(""));
        Ok(home.join(rest))
    } else {
        Ok(p.to_path_buf())
    }
}

/// Where the data dir came from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "path")]
pub enum DataDirSource {
    Flag,
    Env,
    /// `CLAUDE_MEM_DATA_DIR` in `~/.claude-mem/settings.json` (claude-mem 13.x moves its data
    /// dir there).
    Settings(#[serde(serialize_with = "files::ser_path")] PathBuf),
    Default,
}

impl fmt::Display for DataDirSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataDirSource::Flag => write!(f, "--data-dir"),
            DataDirSource::Env => write!(f, "env CLAUDE_MEM_DATA_DIR"),
            DataDirSource::Settings(p) => write!(f, "CLAUDE_MEM_DATA_DIR in {}", p.display()),
            DataDirSource::Default => write!(f, "the default"),
        }
    }
}

/// claude-mem 13.x's data dir resolver (`resolveDataDir` in its bundle), for a home and an
/// environment value of `CLAUDE_MEM_DATA_DIR`: that value (`~` expanded), else
/// `CLAUDE_MEM_DATA_DIR` in `HOME/.claude-mem/settings.json` (flat, or under `env`; a BOM is
/// fine), else `HOME/.claude-mem`. A settings file claude-mem could not read counts as absent
/// for it too (`strict` false), or is an error naming the file (`strict`, our own config).
pub fn claude_mem_data_dir(
    env_value: Option<&Path>,
    home: &Path,
    strict: bool,
) -> Result<(PathBuf, DataDirSource), ConfigError> {
    if let Some(d) = env_value.filter(|d| !d.as_os_str().is_empty()) {
        return Ok((expand_tilde(d, Some(home))?, DataDirSource::Env));
    }
    let default = home.join(".claude-mem");
    let settings = default.join("settings.json");
    let moved = match settings_value(&settings, "CLAUDE_MEM_DATA_DIR") {
        Ok(v) => v,
        Err(e) if strict => return Err(e),
        Err(_) => None,
    };
    match moved {
        Some(d) if !d.trim().is_empty() => Ok((
            expand_tilde(Path::new(d.trim()), Some(home))?,
            DataDirSource::Settings(settings),
        )),
        _ => Ok((default, DataDirSource::Default)),
    }
}

impl Config {
    pub fn load(o: &Overrides) -> Result<Config, ConfigError> {
        let home = crate::platform::home_dir();
        let (data_dir, data_dir_source) =
            match (&o.data_dir, std::env::var_os("CLAUDE_MEM_DATA_DIR")) {
                (Some(d), _) => (expand_tilde(d, home.as_deref())?, DataDirSource::Flag),
                (None, Some(d)) if !d.is_empty() => (
                    expand_tilde(Path::new(&d), home.as_deref())?,
                    DataDirSource::Env,
                ),
                _ => claude_mem_data_dir(None, home.as_deref().ok_or(ConfigError::NoHome)?, true)?,
            };
        // claude-mem 13.x reads its settings from `$CLAUDE_MEM_DATA_DIR/settings.json`, else
        // `~/.claude-mem/settings.json`, even when that file moved the data dir elsewhere: a
        // `settings.json` inside a moved data dir is not the one its worker and hooks read.
        let settings_file = match (&data_dir_source, &home) {
            (DataDirSource::Settings(_), Some(h)) => h.join(".claude-mem").join("settings.json"),
            _ => data_dir.join("settings.json"),
        };
        let (mut port, port_source) = resolve_port_in(o.port.as_deref(), &settings_file)?;
        // A 13.x install (its files in the data dir, or the installed release) has its own
        // default: 37700 + uid % 100, which its worker then writes into settings.json.
        if port_source == PortSource::Default
            && (crate::procman::status::has_v13_files(&data_dir)
                || home
                    .as_deref()
                    .and_then(crate::release::installed_version_in)
                    .and_then(|v| crate::release::major(&v))
                    .is_some_and(|m| m >= 13))
        {
            port = crate::procman::status::v13_default_port();
        }
        let worker = match (&o.worker_cmd, env("CLAUDE_MEM_TOP_WORKER_CMD")) {
            (Some(c), _) => WorkerCmd::parse(c, "--worker-cmd")?,
            (None, Some(c)) if !c.is_empty() => WorkerCmd::parse(&c, "CLAUDE_MEM_TOP_WORKER_CMD")?,
            _ => WorkerCmd::default_for(home.as_deref().unwrap_or(Path::new("/nonexistent-home"))),
        };
        let host = resolve_host_in(&settings_file)?;
        Ok(Config {
            data_dir,
            data_dir_source,
            settings_file,
            port,
            port_source,
            worker,
            home,
            host,
        })
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.data_dir.join(name)
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.data_dir.join("logs")
    }

    /// The `settings.json` claude-mem reads: the data dir's, except for a data dir moved by
    /// `~/.claude-mem/settings.json`, whose settings stay in that file.
    pub fn settings_path(&self) -> PathBuf {
        self.settings_file.clone()
    }
}

/// Port: `--port`, else env, else the data dir's settings.json, else 37777.
pub fn resolve_port(flag: Option<&str>, data_dir: &Path) -> Result<(u16, PortSource), ConfigError> {
    resolve_port_in(flag, &data_dir.join("settings.json"))
}

/// Port: `--port`, else env, else `settings` (a settings.json), else 37777.
pub fn resolve_port_in(
    flag: Option<&str>,
    settings: &Path,
) -> Result<(u16, PortSource), ConfigError> {
    let check = |value: &str, source: PortSource| {
        files::parse_port(value).map_err(|_| ConfigError::InvalidPort {
            value: shown(value),
            origin: source.clone(),
        })
    };
    if let Some(v) = flag {
        return Ok((check(v, PortSource::Flag)?, PortSource::Flag));
    }
    if let Some(v) = env("CLAUDE_MEM_WORKER_PORT") {
        return Ok((check(&v, PortSource::Env)?, PortSource::Env));
    }
    let path = settings.to_path_buf();
    if let Some(v) = settings_port(&path)? {
        let src = PortSource::Settings(path);
        return Ok((check(&v, src.clone())?, src));
    }
    Ok((DEFAULT_PORT, PortSource::Default))
}

fn shown(v: &str) -> String {
    if v.is_empty() || v.trim() != v || v.chars().any(|c| c.is_control()) {
        format!("{v:?}")
    } else {
        v.to_string()
    }
}

/// `CLAUDE_MEM_WORKER_HOST` (env, else settings.json): loopback only; default 127.0.0.1.
pub fn resolve_host(data_dir: &Path) -> Result<std::net::IpAddr, ConfigError> {
    resolve_host_in(&data_dir.join("settings.json"))
}

/// `CLAUDE_MEM_WORKER_HOST` (env, else `settings`): loopback only; default 127.0.0.1.
pub fn resolve_host_in(settings: &Path) -> Result<std::net::IpAddr, ConfigError> {
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
    let path = settings.to_path_buf();
    let (value, origin) = match env("CLAUDE_MEM_WORKER_HOST").filter(|v| !v.is_empty()) {
        Some(v) => (v, "env CLAUDE_MEM_WORKER_HOST".to_string()),
        None => match settings_value(&path, "CLAUDE_MEM_WORKER_HOST")? {
            Some(v) if !v.is_empty() => (v, format!("{}", path.display())),
            _ => return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        },
    };
    let v = value.trim().trim_start_matches('[').trim_end_matches(']');
    match v {
        "localhost" | "127.0.0.1" => Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        "::1" => Ok(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        other => match other.parse::<IpAddr>() {
            Ok(ip) if ip.is_loopback() => Ok(ip),
            _ => Err(ConfigError::NonLoopbackHost { value, origin }),
        },
    }
}

/// Read settings.json and return the raw port value (string or number as text), if any.
pub fn settings_port(path: &Path) -> Result<Option<String>, ConfigError> {
    settings_value(path, "CLAUDE_MEM_WORKER_PORT")
}

/// A key of settings.json (flat, or nested under "env"), as text.
pub fn settings_value(path: &Path, key: &str) -> Result<Option<String>, ConfigError> {
    let raw = with_settings(path, |v| {
        // As claude-mem's loader: a nested `env` object is the settings (the keys beside it
        // are not read); else the file's own keys.
        match v.get("env").filter(|e| e.is_object()) {
            Some(env) => env.get(key).cloned(),
            None => v.get(key).cloned(),
        }
    })?;
    Ok(match raw.flatten() {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}

/// settings.json as JSON. Missing or empty: `None`. Anything else that is not a JSON object is an
/// error naming the file.
pub fn read_settings(path: &Path) -> Result<Option<serde_json::Value>, ConfigError> {
    with_settings(path, serde_json::Value::clone)
}

/// `look` at settings.json's JSON ([`read_settings`]' rules), parsed once for the same bytes.
fn with_settings<T>(
    path: &Path,
    look: impl FnOnce(&serde_json::Value) -> T,
) -> Result<Option<T>, ConfigError> {
    use std::io::Read;
    let err = |reason: String| ConfigError::Settings {
        path: path.to_path_buf(),
        reason,
    };
    // A FIFO, socket or device would block the open or the read: refuse it before opening.
    if let Ok(m) = std::fs::metadata(path) {
        if !m.is_file() && !m.is_dir() {
            return Err(err(format!(
                "is {}, not a regular file",
                crate::platform::describe_file_type(&m.file_type())
            )));
        }
    }
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        // The data dir itself is not a directory or not searchable: there is no settings file
        // to see. That is the data dir's problem, reported by `status` (state unknown) and the
        // actions, not a bad setting.
        Err(_) if std::fs::symlink_metadata(path).is_err() => return Ok(None),
        Err(e) => return Err(err(format!("cannot read ({e})"))),
    };
    if file.metadata().is_ok_and(|m| m.is_dir()) {
        return Err(err("is a directory".into()));
    }
    let mut buf = Vec::new();
    file.take(SETTINGS_CAP + 1)
        .read_to_end(&mut buf)
        .map_err(|e| err(format!("cannot read ({e})")))?;
    if buf.len() as u64 > SETTINGS_CAP {
        return Err(err("larger than 16 MB".into()));
    }
    // Editors on Windows write a UTF-8 BOM; claude-mem strips it before parsing.
    let body = buf.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&buf);
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(None);
    }
    if let Ok(last) = LAST_SETTINGS.lock() {
        if let Some((_, _, v)) = last.as_ref().filter(|(p, b, _)| p == path && b == body) {
            return Ok(Some(look(v)));
        }
    }
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| err(format!("not valid JSON ({e})")))?;
    if !v.is_object() {
        return Err(err("not a JSON object".into()));
    }
    let out = look(&v);
    if let Ok(mut last) = LAST_SETTINGS.lock() {
        *last = Some((path.to_path_buf(), body.to_vec(), v));
    }
    Ok(Some(out))
}

/// The last settings file parsed, its bytes and its value: one status read asks it for the
/// port, the host, the data dir and the hooks' threshold, and the dashboard asks again every
/// few seconds. Byte for byte the same text is the same value; a changed file is parsed anew.
static LAST_SETTINGS: std::sync::Mutex<Option<(PathBuf, Vec<u8>, serde_json::Value)>> =
    std::sync::Mutex::new(None);

/// A duration option, for clap's `value_parser`: a bad value is a usage error (exit 2) that
/// names the flag and says what fits.
pub fn duration_arg(s: &str) -> Result<Duration, String> {
    parse_duration(s)
        .ok_or_else(|| "use e.g. 500ms, 5s, 1m, 1h 30m or a number of seconds".to_string())
}

/// The longest duration taken (about 31 years): more is a typo, and would overflow the clock
/// arithmetic of the timers it sets.
const MAX_DURATION: Duration = Duration::from_secs(1_000_000_000);

/// Parse a duration as humantime reads them (`500ms`, `5s`, `1m`, `1.5h`, `1h 30m`, `2days`), or
/// a bare number of seconds (`2`, `0.5`); at most about 31 years.
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let d = match number_duration(s) {
        Some(d) => d,
        None => humantime::parse_duration(s).ok()?,
    };
    (d <= MAX_DURATION).then_some(d)
}

/// The forms this function always took that humantime does not: a bare number of seconds (`2`,
/// `0.5`), and a number with a fraction and one of `ms`, `s`, `m`, `h` (humantime reads `0.5s`
/// alike, but not `.5s` or `5.s`). `None` for anything else.
fn number_duration(s: &str) -> Option<Duration> {
    let digits = s
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b'.')
        .count();
    let (num, unit) = s.split_at(digits);
    let secs_per_unit = match unit {
        "" => 1.0,
        _ if !num.contains('.') => return None,
        "ms" => 0.001,
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        _ => return None,
    };
    if !num.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let secs = num.parse::<f64>().ok()? * secs_per_unit;
    if !secs.is_finite() || secs > MAX_DURATION.as_secs_f64() {
        return None;
    }
    // Whole microseconds, as before: `0.1s` is 100ms exactly, not 99.999…ms.
    Some(Duration::from_micros((secs * 1e6).round() as u64))
}

/// Human form of a duration for messages: `10s`, `500ms`, `1m`.
pub fn fmt_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms.is_multiple_of(60_000) && ms >= 60_000 {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{ms}ms")
    }
}

/// Human form of a size for messages and the dashboard: `512 B`, `1.5 KB`, `600.0 MB`.
pub fn fmt_bytes(n: u64) -> String {
    match scaled_bytes(n) {
        (_, "B") => format!("{n} B"),
        (v, unit) => format!("{v:.1} {unit}"),
    }
}

/// `n` bytes in the largest unit it reaches (B, KB, MB, GB, TB; 1024 each).
pub fn scaled_bytes(n: u64) -> (f64, &'static str) {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    (v, UNITS[i])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parse is kept for the same bytes only: a file rewritten with a value of the same
    /// length (same size, maybe the same mtime) is read anew.
    #[test]
    fn settings_parsed_once_are_read_again_when_the_bytes_change() {
        let t = tempfile::tempdir().expect("tmp");
        let f = t.path().join("settings.json");
        for port in ["40001", "40002", "40002", "40001"] {
            std::fs::write(&f, format!(r#"{{"CLAUDE_MEM_WORKER_PORT": "{port}"}}"#)).expect("w");
            assert_eq!(settings_port(&f).expect("read").as_deref(), Some(port));
            assert_eq!(
                settings_value(&f, "CLAUDE_MEM_WORKER_HOST").expect("read"),
                None
            );
        }
        std::fs::write(&f, "[1]").expect("w");
        assert!(
            settings_port(&f).is_err(),
            "not an object, even after a good parse"
        );
    }

    #[test]
    fn bytes() {
        assert_eq!(fmt_bytes(512), "512 B");
        assert_eq!(fmt_bytes(1536), "1.5 KB");
        assert_eq!(fmt_bytes(600 * 1024 * 1024), "600.0 MB");
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("1m"), Some(Duration::from_secs(60)));
        assert_eq!(parse_duration("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_duration("0.5"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 1.5m "), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("0.25ms"), Some(Duration::from_micros(250)));
        assert_eq!(parse_duration("0.1s"), Some(Duration::from_millis(100)));
        assert_eq!(parse_duration("1h 30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2min"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("1day"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration(".5s"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("5.s"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5 s"), Some(Duration::from_millis(1500)));
        assert_eq!(
            parse_duration("1000000000"),
            Some(Duration::from_secs(1_000_000_000))
        );
        for bad in [
            "",
            "s",
            ".",
            "ms",
            "-1s",
            "abc",
            "5x",
            "1e9",
            "1.5x",
            "1..5s",
            "1000000001",
            "1000000001s",
            "40y",
            "inf",
            "NaN",
        ] {
            assert_eq!(parse_duration(bad), None, "{bad}");
        }
        assert_eq!(fmt_duration(Duration::from_secs(10)), "10s");
        assert_eq!(fmt_duration(Duration::from_millis(250)), "250ms");
    }

    #[test]
    fn tilde() {
        let h = Path::new("/home/u");
        assert_eq!(
            expand_tilde(Path::new("~/x"), Some(h)).ok(),
            Some(PathBuf::from("/home/u/x"))
        );
        assert_eq!(
            expand_tilde(Path::new("/a/~"), Some(h)).ok(),
            Some(PathBuf::from("/a/~"))
        );
    }

    #[test]
    fn worker_cmd_shell_words() {
        let c = WorkerCmd::parse("'/opt/my bin/x' stand-in-worker --log-rate 5", "t").expect("ok");
        assert_eq!(
            c.argv,
            ["/opt/my bin/x", "stand-in-worker", "--log-rate", "5"]
        );
        assert!(WorkerCmd::parse("'unclosed", "t").is_err());
        assert!(WorkerCmd::parse("  ", "t").is_err());
    }
}
