//! claude-mem's effective settings: every key its 13.x `SettingsDefaultsManager` knows, with the
//! value claude-mem would use and where it comes from (the environment, the exact
//! `settings.json`, or its default), resolved as its bundle does:
//!
//! - The data dir: `CLAUDE_MEM_DATA_DIR` (env, `~` expanded), else `CLAUDE_MEM_DATA_DIR` in
//!   `~/.claude-mem/settings.json`, else `~/.claude-mem` ([`config::claude_mem_data_dir`]).
//! - Most keys come from `DATA_DIR/settings.json`; the worker's own address and request timeout
//!   (`CLAUDE_MEM_WORKER_PORT`, `_HOST`, `CLAUDE_MEM_API_TIMEOUT_MS`) from
//!   `$CLAUDE_MEM_DATA_DIR/settings.json`, else `~/.claude-mem/settings.json`: the two differ only
//!   when `~/.claude-mem/settings.json` moved the data dir.
//! - A file may start with a UTF-8 BOM; a nested `{"env": {…}}` file is read from its `env`
//!   object (the keys beside it are not read); only known keys are taken; a file that is not a
//!   JSON object leaves every key at its default.
//! - An environment variable of a known key overrides the file, even when empty.
//! - `CLAUDE_MEM_WORKER_HOST` `localhost` reads as `127.0.0.1`.
//!
//! Nothing is written (claude-mem itself creates a missing file with its defaults). Secrets are
//! masked here, before anything can print them: at most the last 4 characters survive.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::config::{self, ConfigError, DataDirSource};

/// The release whose keys and defaults these are.
pub const RELEASE: &str = "13.25.3";

/// How a key's default is made.
#[derive(Debug, Clone, Copy)]
enum Dflt {
    Lit(&'static str),
    /// `37700 + uid % 100` (uid 77 where there is none: Windows).
    WorkerPort,
    /// 30 s, 1.5× on Windows.
    ApiTimeout,
    /// A path under the home directory.
    Home(&'static [&'static str]),
    /// The machine's host name.
    HostName,
    /// `claude_mem_` + the worker's port: the worker's spawner hands it its port in the
    /// environment, so its default names the port in use.
    RedisPrefix,
    /// `http://127.0.0.1:` + env `CLAUDE_MEM_SERVER_PORT`, else `37877 + uid % 100`.
    ServerUrl,
}
use Dflt::*;

/// `SettingsDefaultsManager.DEFAULTS` of claude-mem 13.25.3, in its order.
const KNOWN: &[(&str, Dflt)] = &[
    ("CLAUDE_MEM_MODEL", Lit("claude-haiku-4-5-20251001")),
    ("CLAUDE_MEM_CONTEXT_OBSERVATIONS", Lit("50")),
    ("CLAUDE_MEM_WORKER_PORT", WorkerPort),
    ("CLAUDE_MEM_WORKER_HOST", Lit("127.0.0.1")),
    ("CLAUDE_MEM_API_TIMEOUT_MS", ApiTimeout),
    (
        "CLAUDE_MEM_SKIP_TOOLS",
        Lit("ListMcpResourcesTool,SlashCommand,Skill,TodoWrite,AskUserQuestion"),
    ),
    ("CLAUDE_MEM_PROVIDER", Lit("claude")),
    ("CLAUDE_MEM_CLAUDE_AUTH_METHOD", Lit("subscription")),
    ("CLAUDE_MEM_GEMINI_API_KEY", Lit("")),
    ("CLAUDE_MEM_GEMINI_MODEL", Lit("gemini-flash-latest")),
    ("CLAUDE_MEM_GEMINI_RATE_LIMITING_ENABLED", Lit("true")),
    ("CLAUDE_MEM_OPENROUTER_API_KEY", Lit("")),
    (
        "CLAUDE_MEM_OPENROUTER_MODEL",
        Lit("xiaomi/mimo-v2-flash:free"),
    ),
    ("CLAUDE_MEM_OPENROUTER_BASE_URL", Lit("")),
    ("CLAUDE_MEM_OPENROUTER_SITE_URL", Lit("")),
    ("CLAUDE_MEM_OPENROUTER_APP_NAME", Lit("claude-mem")),
    ("CLAUDE_MEM_DATA_DIR", Home(&[".claude-mem"])),
    ("CLAUDE_MEM_LOG_LEVEL", Lit("INFO")),
    ("CLAUDE_MEM_PYTHON_VERSION", Lit("3.13")),
    ("CLAUDE_CODE_PATH", Lit("")),
    ("CLAUDE_MEM_CLAUDE_CONFIG_DIR", Lit("")),
    ("CLAUDE_MEM_MODE", Lit("code")),
    ("CLAUDE_MEM_CONTEXT_SHOW_READ_TOKENS", Lit("false")),
    ("CLAUDE_MEM_CONTEXT_SHOW_WORK_TOKENS", Lit("false")),
    ("CLAUDE_MEM_CONTEXT_SHOW_SAVINGS_AMOUNT", Lit("false")),
    ("CLAUDE_MEM_CONTEXT_SHOW_SAVINGS_PERCENT", Lit("true")),
    ("CLAUDE_MEM_CONTEXT_OBSERVATION_TYPES", Lit("")),
    ("CLAUDE_MEM_CONTEXT_OBSERVATION_CONCEPTS", Lit("")),
    ("CLAUDE_MEM_CONTEXT_FULL_COUNT", Lit("0")),
    ("CLAUDE_MEM_CONTEXT_FULL_FIELD", Lit("narrative")),
    ("CLAUDE_MEM_CONTEXT_SESSION_COUNT", Lit("10")),
    ("CLAUDE_MEM_CONTEXT_SHOW_LAST_SUMMARY", Lit("true")),
    ("CLAUDE_MEM_CONTEXT_SHOW_LAST_MESSAGE", Lit("false")),
    ("CLAUDE_MEM_CONTEXT_SHOW_TERMINAL_OUTPUT", Lit("true")),
    ("CLAUDE_MEM_WELCOME_HINT_ENABLED", Lit("true")),
    ("CLAUDE_MEM_FOLDER_CLAUDEMD_ENABLED", Lit("false")),
    ("CLAUDE_MEM_FOLDER_USE_LOCAL_MD", Lit("false")),
    ("CLAUDE_MEM_TRANSCRIPTS_ENABLED", Lit("true")),
    (
        "CLAUDE_MEM_TRANSCRIPTS_CONFIG_PATH",
        Home(&[".claude-mem", "transcript-watch.json"]),
    ),
    ("CLAUDE_MEM_CODEX_TRANSCRIPT_INGESTION", Lit("false")),
    ("CLAUDE_MEM_MAX_CONCURRENT_AGENTS", Lit("2")),
    ("CLAUDE_MEM_OBSERVER_MAX_CONVERSATION_CHARS", Lit("400000")),
    ("CLAUDE_MEM_HOOK_FAIL_LOUD_THRESHOLD", Lit("3")),
    ("CLAUDE_MEM_EXCLUDED_PROJECTS", Lit("")),
    ("CLAUDE_MEM_FOLDER_MD_EXCLUDE", Lit("[]")),
    ("CLAUDE_MEM_FOLDER_MD_SKELETON_DENYLIST", Lit("[]")),
    ("CLAUDE_MEM_SEMANTIC_INJECT", Lit("false")),
    ("CLAUDE_MEM_SEMANTIC_INJECT_LIMIT", Lit("5")),
    ("CLAUDE_MEM_TIER_ROUTING_ENABLED", Lit("true")),
    ("CLAUDE_MEM_TIER_SIMPLE_MODEL", Lit("haiku")),
    ("CLAUDE_MEM_TIER_SUMMARY_MODEL", Lit("")),
    ("CLAUDE_MEM_TIER_FAST_MODEL", Lit("haiku")),
    ("CLAUDE_MEM_TIER_SMART_MODEL", Lit("sonnet")),
    ("CLAUDE_MEM_CHROMA_ENABLED", Lit("true")),
    ("CLAUDE_MEM_CHROMA_MODE", Lit("local")),
    ("CLAUDE_MEM_CHROMA_HOST", Lit("127.0.0.1")),
    ("CLAUDE_MEM_CHROMA_PORT", Lit("8000")),
    ("CLAUDE_MEM_CHROMA_SSL", Lit("false")),
    ("CLAUDE_MEM_CHROMA_API_KEY", Lit("")),
    ("CLAUDE_MEM_CHROMA_TENANT", Lit("default_tenant")),
    ("CLAUDE_MEM_CHROMA_DATABASE", Lit("default_database")),
    ("CLAUDE_MEM_CHROMA_PREWARM_TIMEOUT_MS", Lit("120000")),
    ("CLAUDE_MEM_CHROMA_MAX_PENDING_MUTATIONS", Lit("5000")),
    ("CLAUDE_MEM_CLOUD_SYNC_TOKEN", Lit("")),
    ("CLAUDE_MEM_CLOUD_SYNC_USER_ID", Lit("")),
    ("CLAUDE_MEM_CLOUD_SYNC_HUB_URL", Lit("")),
    ("CLAUDE_MEM_CLOUD_SYNC_DEVICE_ID", Lit("")),
    ("CLAUDE_MEM_CLOUD_SYNC_DEVICE_NAME", HostName),
    ("CLAUDE_MEM_CLOUD_SYNC_WS", Lit("true")),
    ("CLAUDE_MEM_CLOUD_SYNC_CONTENT_BATCH_SIZE", Lit("40")),
    ("CLAUDE_MEM_CLOUD_SYNC_REQUEST_TIMEOUT_MS", Lit("90000")),
    ("CLAUDE_MEM_LLM_TIMEOUT_MS", Lit("30000")),
    ("CLAUDE_MEM_TV_TOKEN", Lit("")),
    ("CLAUDE_MEM_PRO_TRIAL_EMAIL", Lit("")),
    ("CLAUDE_MEM_PRO_TRIAL_AT", Lit("")),
    ("CLAUDE_MEM_PRO_TRIAL_STATE", Lit("")),
    ("CLAUDE_MEM_PRO_TRIAL_ENDS_AT", Lit("")),
    ("CLAUDE_MEM_PRO_PLAN", Lit("")),
    ("CLAUDE_MEM_PRO_FALLBACK_AT", Lit("")),
    ("CLAUDE_MEM_PRO_MEMORY_KEY", Lit("")),
    ("CLAUDE_MEM_PRO_MEMORY_BASE_URL", Lit("")),
    ("CLAUDE_MEM_PRO_MEMORY_MODEL", Lit("")),
    ("CLAUDE_MEM_TELEGRAM_ENABLED", Lit("true")),
    ("CLAUDE_MEM_TELEGRAM_BOT_TOKEN", Lit("")),
    ("CLAUDE_MEM_TELEGRAM_CHAT_ID", Lit("")),
    ("CLAUDE_MEM_TELEGRAM_WRAPUPS_ENABLED", Lit("true")),
    (
        "CLAUDE_MEM_TELEGRAM_OBSERVATION_ALERTS_ENABLED",
        Lit("false"),
    ),
    ("CLAUDE_MEM_TELEGRAM_WRAPUP_ROUTES", Lit("{}")),
    (
        "CLAUDE_MEM_TELEGRAM_TRIGGER_TYPES",
        Lit("security_alert,sensitive"),
    ),
    ("CLAUDE_MEM_TELEGRAM_TRIGGER_CONCEPTS", Lit("")),
    ("CLAUDE_MEM_GROK_BOT_AWARENESS_ENABLED", Lit("true")),
    (
        "CLAUDE_MEM_GROK_BOT_AWARENESS_AGENT_IDS",
        Lit("521e962d-2ec3-4488-bfbc-54d5209ce118,95601360-61f7-4fd9-bb3a-2c976b2b85c0"),
    ),
    (
        "CLAUDE_MEM_GROK_BOT_AWARENESS_TRIGGER_TYPES",
        Lit("decision,bugfix,security_alert,sensitive"),
    ),
    ("CLAUDE_MEM_GROK_BOT_AWARENESS_TRIGGER_CONCEPTS", Lit("")),
    ("CLAUDE_MEM_GROK_BOT_INJECT_ENABLED", Lit("true")),
    ("CLAUDE_MEM_GROK_BOT_INJECT_AGENT_IDS", Lit("*")),
    ("CLAUDE_MEM_GROK_BOT_INJECT_TIER", Lit("episode")),
    ("CLAUDE_MEM_GROK_BOT_INJECT_WINDOW", Lit("80")),
    ("CLAUDE_MEM_GROK_BOT_INJECT_FALLBACK", Lit("house")),
    ("CLAUDE_MEM_GROK_BOT_INJECT_PLATFORM_SOURCE", Lit("")),
    ("CLAUDE_MEM_GROK_BOT_INJECT_PROJECTS_BY_AGENT", Lit("")),
    ("CLAUDE_MEM_GROK_BOT_INJECT_MAX_LINE_CHARS", Lit("160")),
    ("CLAUDE_MEM_GROK_BOT_INJECT_DEBOUNCE_MS", Lit("1500")),
    ("CLAUDE_MEM_CCS_ALIGN_ENABLED", Lit("true")),
    ("CLAUDE_MEM_CCS_ALIGN_VIEWER_IDS", Lit("ccs-align")),
    (
        "CLAUDE_MEM_CCS_ALIGN_TRIGGER_TYPES",
        Lit("decision,bugfix,security_alert,sensitive"),
    ),
    ("CLAUDE_MEM_CCS_ALIGN_PATCH_SHADOWS", Lit("false")),
    ("CLAUDE_MEM_QUEUE_ENGINE", Lit("sqlite")),
    ("CLAUDE_MEM_REDIS_URL", Lit("")),
    ("CLAUDE_MEM_REDIS_HOST", Lit("127.0.0.1")),
    ("CLAUDE_MEM_REDIS_PORT", Lit("6379")),
    ("CLAUDE_MEM_REDIS_MODE", Lit("external")),
    ("CLAUDE_MEM_QUEUE_REDIS_PREFIX", RedisPrefix),
    ("CLAUDE_MEM_AUTH_MODE", Lit("api-key")),
    ("CLAUDE_MEM_RUNTIME", Lit("worker")),
    ("CLAUDE_MEM_SERVER_URL", ServerUrl),
    ("CLAUDE_MEM_SERVER_API_KEY", Lit("")),
    ("CLAUDE_MEM_SERVER_PROJECT_ID", Lit("")),
    ("CLAUDE_MEM_SERVER_BETA_URL", ServerUrl),
    ("CLAUDE_MEM_SERVER_BETA_API_KEY", Lit("")),
    ("CLAUDE_MEM_SERVER_BETA_PROJECT_ID", Lit("")),
];

/// Keys claude-mem masks in its own `GET /api/settings`.
const SECRETS: &[&str] = &[
    "CLAUDE_MEM_GEMINI_API_KEY",
    "CLAUDE_MEM_OPENROUTER_API_KEY",
    "CLAUDE_MEM_CHROMA_API_KEY",
    "CLAUDE_MEM_CLOUD_SYNC_TOKEN",
    "CLAUDE_MEM_TELEGRAM_BOT_TOKEN",
    "CLAUDE_MEM_TELEGRAM_WRAPUP_ROUTES",
    "CLAUDE_MEM_SERVER_API_KEY",
    "CLAUDE_MEM_SERVER_BETA_API_KEY",
    "CLAUDE_MEM_TV_TOKEN",
    "CLAUDE_MEM_PRO_MEMORY_KEY",
    "CLAUDE_MEM_REDIS_URL",
];

/// Keys the worker's HTTP side reads from `$CLAUDE_MEM_DATA_DIR/settings.json`, else
/// `~/.claude-mem/settings.json` (not from a data dir that file moved).
const WORKER_KEYS: &[&str] = &[
    "CLAUDE_MEM_WORKER_PORT",
    "CLAUDE_MEM_WORKER_HOST",
    "CLAUDE_MEM_API_TIMEOUT_MS",
];

const DATA_DIR_KEY: &str = "CLAUDE_MEM_DATA_DIR";

/// Is `key` one claude-mem 13.25.3 reads from its settings?
pub fn is_known(key: &str) -> bool {
    KNOWN.iter().any(|(k, _)| *k == key)
}

/// Is `key` a secret (claude-mem's own list, or a name that says so)?
pub fn is_secret(key: &str) -> bool {
    SECRETS.contains(&key)
        || ["KEY", "TOKEN", "SECRET", "PASSWORD"]
            .iter()
            .any(|w| key.to_ascii_uppercase().contains(w))
}

/// A secret as it may be shown: empty stays empty; otherwise `****` and, for a value of 12
/// characters or more, its last 4.
pub fn mask(v: &str) -> String {
    let n = v.chars().count();
    if n == 0 {
        String::new()
    } else if n < 12 {
        "****".into()
    } else {
        let tail: String = v.chars().skip(n - 4).collect();
        format!("****{tail}")
    }
}

/// What the resolution needs from the machine (a test passes its own).
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    pub home: PathBuf,
    /// The environment's `CLAUDE_MEM_*` and `CLAUDE_CODE_PATH` variables.
    pub env: BTreeMap<String, String>,
    pub uid: Option<u32>,
    pub windows: bool,
    pub host_name: Option<String>,
    /// `--data-dir`: claude-mem-top hands it to the worker it starts as `CLAUDE_MEM_DATA_DIR`.
    pub data_dir_flag: Option<PathBuf>,
}

impl Inputs {
    /// This process's.
    pub fn current(data_dir_flag: Option<PathBuf>) -> Result<Inputs, ConfigError> {
        let home = crate::platform::home_dir().ok_or(ConfigError::NoHome)?;
        let env = std::env::vars_os()
            .filter_map(|(k, v)| {
                let k = k.into_string().ok()?;
                (k.starts_with("CLAUDE_MEM_") || k == "CLAUDE_CODE_PATH")
                    .then(|| (k, v.to_string_lossy().into_owned()))
            })
            .collect();
        Ok(Inputs {
            home,
            env,
            uid: crate::platform::current_uid(),
            windows: crate::platform::WINDOWS,
            host_name: crate::platform::host_name(),
            data_dir_flag,
        })
    }

    fn uid_mod(&self) -> u32 {
        self.uid.unwrap_or(77) % 100
    }
}

/// Where a value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The environment variable of the same name.
    Env,
    /// `--data-dir` (the data dir only).
    Flag,
    File(PathBuf),
    Default,
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Env => write!(f, "env"),
            Origin::Flag => write!(f, "--data-dir"),
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::Default => write!(f, "default"),
        }
    }
}

/// In JSON: `"env"`, `"--data-dir"`, `"default"`, or the file's path.
impl Serialize for Origin {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// Something wrong with a key or its value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "message", rename_all = "snake_case")]
pub enum Problem {
    /// Not a key claude-mem reads.
    Unknown,
    /// In a file, but claude-mem does not read it there.
    Ignored(String),
    /// A value claude-mem's settings API would reject.
    Invalid(String),
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Unknown => write!(f, "unknown to claude-mem {RELEASE}"),
            Problem::Ignored(why) => write!(f, "not read: {why}"),
            Problem::Invalid(why) => write!(f, "invalid: {why}"),
        }
    }
}

/// One setting as claude-mem would use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Setting {
    pub key: String,
    /// The value (a secret masked); `None` for a JSON `null` in the file.
    pub value: Option<String>,
    pub origin: Origin,
    pub secret: bool,
    pub problem: Option<Problem>,
}

/// What a settings file held, as claude-mem reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum FileState {
    /// claude-mem creates it with its defaults when it first needs it.
    Missing,
    Flat {
        keys: usize,
    },
    Nested {
        keys: usize,
    },
    /// Not a JSON object (or unreadable): claude-mem uses its defaults.
    Unusable(String),
}

impl FileState {
    /// One line for `settings` and the dashboard's settings popup.
    pub fn describe(&self) -> String {
        match self {
            FileState::Missing => "missing (claude-mem's defaults apply)".to_string(),
            FileState::Flat { keys } => format!("{keys} keys"),
            FileState::Nested { keys } => format!("{keys} keys under \"env\" (nested)"),
            FileState::Unusable(why) => why.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileNote {
    #[serde(serialize_with = "crate::procman::files::ser_path")]
    pub path: PathBuf,
    pub state: FileState,
}

/// Every setting and the files they came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub data_dir: PathBuf,
    pub files: Vec<FileNote>,
    pub settings: Vec<Setting>,
}

impl Report {
    pub fn get(&self, key: &str) -> Option<&Setting> {
        self.settings.iter().find(|s| s.key == key)
    }

    pub fn problems(&self) -> usize {
        self.settings.iter().filter(|s| s.problem.is_some()).count()
    }
}

/// A settings file's keys as claude-mem reads them.
struct Loaded {
    path: PathBuf,
    state: FileState,
    /// The object claude-mem takes its keys from (the `env` object of a nested file).
    read: serde_json::Map<String, serde_json::Value>,
    /// Keys beside a nested file's `env`, which are not read.
    beside: Vec<(String, serde_json::Value)>,
}

fn load(path: &Path) -> Loaded {
    let mut l = Loaded {
        path: path.to_path_buf(),
        state: FileState::Missing,
        read: serde_json::Map::new(),
        beside: Vec::new(),
    };
    match config::read_settings(path) {
        Ok(None) if crate::platform::exists(path) => {
            l.state = FileState::Unusable("empty: claude-mem uses its defaults".into())
        }
        Ok(None) => {}
        Err(e) => {
            let why = match e {
                ConfigError::Settings { reason, .. } => reason,
                other => other.to_string(),
            };
            l.state = FileState::Unusable(format!("{why}: claude-mem uses its defaults"));
        }
        Ok(Some(serde_json::Value::Object(mut top))) => match top.remove("env") {
            Some(serde_json::Value::Object(env)) => {
                l.beside = top.into_iter().collect();
                l.state = FileState::Nested { keys: env.len() };
                l.read = env;
            }
            other => {
                if let Some(v) = other {
                    top.insert("env".into(), v);
                }
                l.state = FileState::Flat { keys: top.len() };
                l.read = top;
            }
        },
        Ok(Some(_)) => {
            l.state = FileState::Unusable("not a JSON object: claude-mem uses its defaults".into())
        }
    }
    l
}

/// A file's value as text (`None` for `null`).
fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Null => None,
        serde_json::Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// A key's default; `port`: the worker's port as resolved.
fn default_of(d: Dflt, inp: &Inputs, port: &str) -> String {
    match d {
        Lit(s) => s.to_string(),
        WorkerPort => (37700 + inp.uid_mod()).to_string(),
        ApiTimeout => if inp.windows { "45000" } else { "30000" }.to_string(),
        Home(parts) => {
            let mut p = inp.home.clone();
            p.extend(parts);
            p.to_string_lossy().into_owned()
        }
        HostName => inp.host_name.clone().unwrap_or_default(),
        RedisPrefix => format!("claude_mem_{port}"),
        ServerUrl => format!(
            "http://127.0.0.1:{}",
            inp.env
                .get("CLAUDE_MEM_SERVER_PORT")
                .cloned()
                .unwrap_or_else(|| (37877 + inp.uid_mod()).to_string())
        ),
    }
}

/// JavaScript's `parseInt(v, 10)`: leading blanks, a sign, the digits that follow.
fn js_int(v: &str) -> Option<i64> {
    let t = v.trim_start();
    let (neg, rest) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    let n: i64 = digits.get(..digits.len().min(18))?.parse().ok()?;
    Some(if neg { -n } else { n })
}

/// What claude-mem's settings API (`POST /api/settings`) would say of this value, if it
/// would refuse it.
fn check(key: &str, v: &str) -> Option<String> {
    if v.is_empty() {
        // Its checks skip empty values (`if (body.KEY)`).
        return (key == "CLAUDE_MEM_WORKER_PORT")
            .then(|| "empty: the worker would listen on no port".to_string());
    }
    let range = |lo: i64, hi: i64| match js_int(v) {
        Some(n) if (lo..=hi).contains(&n) => None,
        _ => Some(format!("must be between {lo} and {hi}")),
    };
    let one_of = |set: &[&str], cmp: &str| {
        (!set.contains(&cmp)).then(|| format!("must be one of: {}", set.join(", ")))
    };
    match key {
        "CLAUDE_MEM_WORKER_PORT" => range(1024, 65535),
        "CLAUDE_MEM_CONTEXT_OBSERVATIONS" => range(1, 200),
        "CLAUDE_MEM_CONTEXT_FULL_COUNT" => range(0, 20),
        "CLAUDE_MEM_CONTEXT_SESSION_COUNT" => range(1, 50),
        "CLAUDE_MEM_CLOUD_SYNC_CONTENT_BATCH_SIZE" => range(1, 500),
        "CLAUDE_MEM_CLOUD_SYNC_REQUEST_TIMEOUT_MS" => range(5000, 180_000),
        "CLAUDE_MEM_PROVIDER" => one_of(&["claude", "gemini", "openrouter"], v),
        "CLAUDE_MEM_CLAUDE_AUTH_METHOD" => {
            one_of(&["subscription", "api-key", "gateway", "cli"], v)
        }
        "CLAUDE_MEM_GEMINI_MODEL" => one_of(
            &[
                "gemini-flash-latest",
                "gemini-flash-lite-latest",
                "gemini-3.5-flash",
                "gemini-3.1-flash-lite",
                "gemini-3-flash-preview",
            ],
            v,
        ),
        "CLAUDE_MEM_WORKER_HOST" => one_of(&["127.0.0.1", "0.0.0.0", "::1", "::", "localhost"], v)
            .map(|_| {
                "must be a loopback address (127.0.0.1, ::1, localhost) or 0.0.0.0 / ::".into()
            }),
        "CLAUDE_MEM_LOG_LEVEL" => one_of(
            &["DEBUG", "INFO", "WARN", "ERROR", "SILENT"],
            &v.to_uppercase(),
        ),
        "CLAUDE_MEM_PYTHON_VERSION" => {
            let ok = v.strip_prefix("3.").is_some_and(|m| {
                (1..=2).contains(&m.len()) && m.bytes().all(|b| b.is_ascii_digit())
            });
            (!ok).then(|| "must be 3.X or 3.XX (e.g. 3.13)".into())
        }
        "CLAUDE_MEM_CLAUDE_CONFIG_DIR" => v
            .trim()
            .is_empty()
            .then(|| "must be a path, or empty for the default".into()),
        "CLAUDE_MEM_CONTEXT_FULL_FIELD" => one_of(&["narrative", "facts"], v),
        "CLAUDE_MEM_OPENROUTER_SITE_URL" => {
            let scheme = v.split_once(':').map(|(s, _)| s).unwrap_or("");
            let ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
            (!ok).then(|| "must be a URL".into())
        }
        k if k.starts_with("CLAUDE_MEM_CONTEXT_SHOW_") => one_of(&["true", "false"], v),
        _ => None,
    }
}

fn setting(key: &str, value: Option<String>, origin: Origin, problem: Option<Problem>) -> Setting {
    let secret = is_secret(key);
    let problem = problem.or_else(|| {
        value
            .as_deref()
            .and_then(|v| check(key, v))
            .map(Problem::Invalid)
    });
    Setting {
        key: key.to_string(),
        value: if secret {
            value.map(|v| mask(&v))
        } else {
            value
        },
        origin,
        secret,
        problem,
    }
}

/// Resolve every setting as claude-mem 13.x would in this environment.
pub fn resolve(inp: &Inputs) -> Report {
    let home = inp.home.as_path();
    let expand = |p: &Path| config::expand_tilde(p, Some(home)).unwrap_or_else(|_| p.into());
    let env_dir = inp
        .env
        .get(DATA_DIR_KEY)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let (data_dir, dir_origin) = match (&inp.data_dir_flag, &env_dir) {
        (Some(d), _) => (expand(d), Origin::Flag),
        (None, Some(d)) => (expand(d), Origin::Env),
        (None, None) => match config::claude_mem_data_dir(None, home, false) {
            Ok((d, DataDirSource::Settings(f))) => (d, Origin::File(f)),
            Ok((d, _)) => (d, Origin::Default),
            Err(_) => (home.join(".claude-mem"), Origin::Default),
        },
    };
    let data_file = load(&data_dir.join("settings.json"));
    let worker_path = match (&inp.data_dir_flag, &env_dir) {
        (None, None) => home.join(".claude-mem").join("settings.json"),
        _ => data_dir.join("settings.json"),
    };
    let worker_file = (worker_path != data_file.path).then(|| load(&worker_path));
    let file_for = |key: &str| match &worker_file {
        Some(w) if WORKER_KEYS.contains(&key) => w,
        _ => &data_file,
    };

    let mut settings = Vec::new();
    let mut port = (37700 + inp.uid_mod()).to_string();
    for (key, d) in KNOWN {
        if *key == DATA_DIR_KEY {
            let shown = data_dir.to_string_lossy().into_owned();
            settings.push(setting(key, Some(shown), dir_origin.clone(), None));
            continue;
        }
        let file = file_for(key);
        let (value, origin) = match (inp.env.get(*key), file.read.get(*key)) {
            (Some(v), _) => (Some(v.clone()), Origin::Env),
            (None, Some(v)) => (text_of(v), Origin::File(file.path.clone())),
            (None, None) => (Some(default_of(*d, inp, &port)), Origin::Default),
        };
        if *key == "CLAUDE_MEM_WORKER_PORT" {
            port = value.clone().unwrap_or_default();
        }
        let value = match (*key, value) {
            ("CLAUDE_MEM_WORKER_HOST", Some(v)) if v == "localhost" => Some("127.0.0.1".into()),
            (_, v) => v,
        };
        settings.push(setting(key, value, origin, None));
    }
    // What the files hold that claude-mem does not read.
    let origin_of = |l: &Loaded| Origin::File(l.path.clone());
    for (k, v) in &data_file.read {
        if !is_known(k) {
            settings.push(setting(
                k,
                text_of(v),
                origin_of(&data_file),
                Some(Problem::Unknown),
            ));
        }
    }
    for (k, v) in &data_file.beside {
        let why = "beside `env` in a nested file (claude-mem reads only the `env` object)";
        let p = Some(Problem::Ignored(why.into()));
        settings.push(setting(k, text_of(v), origin_of(&data_file), p));
    }
    if let Some(w) = &worker_file {
        for (k, v) in &w.read {
            if WORKER_KEYS.contains(&k.as_str()) || k == DATA_DIR_KEY {
                continue;
            }
            let why = format!(
                "the data dir moved to {}, whose settings.json claude-mem reads",
                data_dir.display()
            );
            settings.push(setting(
                k,
                text_of(v),
                origin_of(w),
                Some(Problem::Ignored(why)),
            ));
        }
    }
    let mut files = vec![FileNote {
        path: data_file.path.clone(),
        state: data_file.state.clone(),
    }];
    if let Some(w) = &worker_file {
        files.push(FileNote {
            path: w.path.clone(),
            state: w.state.clone(),
        });
    }
    Report {
        data_dir,
        files,
        settings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs(home: &Path) -> Inputs {
        Inputs {
            home: home.to_path_buf(),
            uid: Some(1000),
            host_name: Some("box".into()),
            ..Inputs::default()
        }
    }

    fn write(dir: &Path, body: &str) -> PathBuf {
        std::fs::create_dir_all(dir).expect("dir");
        let p = dir.join("settings.json");
        std::fs::write(&p, body).expect("write");
        p
    }

    fn val<'a>(r: &'a Report, k: &str) -> (Option<&'a str>, &'a Origin) {
        let s = r.get(k).unwrap_or_else(|| panic!("{k} missing"));
        (s.value.as_deref(), &s.origin)
    }

    #[test]
    fn defaults_follow_the_uid_and_the_os() {
        let d = tempfile::tempdir().expect("tempdir");
        let mut inp = inputs(d.path());
        let r = resolve(&inp);
        assert_eq!(
            r.settings.len(),
            KNOWN.len(),
            "no file: only the known keys"
        );
        assert_eq!(
            val(&r, "CLAUDE_MEM_WORKER_PORT"),
            (Some("37700"), &Origin::Default)
        );
        assert_eq!(val(&r, "CLAUDE_MEM_API_TIMEOUT_MS").0, Some("30000"));
        assert_eq!(
            val(&r, "CLAUDE_MEM_QUEUE_REDIS_PREFIX").0,
            Some("claude_mem_37700")
        );
        assert_eq!(
            val(&r, "CLAUDE_MEM_SERVER_URL").0,
            Some("http://127.0.0.1:37877")
        );
        assert_eq!(val(&r, "CLAUDE_MEM_CLOUD_SYNC_DEVICE_NAME").0, Some("box"));
        let dd = d.path().join(".claude-mem");
        assert_eq!(
            val(&r, "CLAUDE_MEM_DATA_DIR").0,
            Some(dd.to_str().expect("utf-8"))
        );
        assert_eq!(r.files[0].state, FileState::Missing);
        inp.uid = Some(501);
        assert_eq!(
            val(&resolve(&inp), "CLAUDE_MEM_WORKER_PORT").0,
            Some("37701")
        );
        // Windows: no uid (77), and the request timeout is 1.5 times longer.
        inp.uid = None;
        inp.windows = true;
        let w = resolve(&inp);
        assert_eq!(val(&w, "CLAUDE_MEM_WORKER_PORT").0, Some("37777"));
        assert_eq!(val(&w, "CLAUDE_MEM_API_TIMEOUT_MS").0, Some("45000"));
        assert_eq!(
            val(&w, "CLAUDE_MEM_SERVER_URL").0,
            Some("http://127.0.0.1:37954")
        );
    }

    #[test]
    fn the_environment_overrides_the_file_even_when_empty() {
        let d = tempfile::tempdir().expect("tempdir");
        let f = write(
            &d.path().join(".claude-mem"),
            r#"{"CLAUDE_MEM_WORKER_PORT": 38001, "CLAUDE_MEM_LOG_LEVEL": "DEBUG", "CLAUDE_MEM_MODEL": "x"}"#,
        );
        let mut inp = inputs(d.path());
        inp.env
            .insert("CLAUDE_MEM_WORKER_PORT".into(), "38002".into());
        inp.env.insert("CLAUDE_MEM_MODEL".into(), String::new());
        let r = resolve(&inp);
        assert_eq!(
            val(&r, "CLAUDE_MEM_WORKER_PORT"),
            (Some("38002"), &Origin::Env)
        );
        assert_eq!(val(&r, "CLAUDE_MEM_MODEL"), (Some(""), &Origin::Env));
        assert_eq!(
            val(&r, "CLAUDE_MEM_LOG_LEVEL"),
            (Some("DEBUG"), &Origin::File(f.clone()))
        );
        // The env port also names the Redis prefix's default.
        assert_eq!(
            val(&r, "CLAUDE_MEM_QUEUE_REDIS_PREFIX").0,
            Some("claude_mem_38002")
        );
        // A number in the file reads as its text.
        inp.env.clear();
        assert_eq!(
            val(&resolve(&inp), "CLAUDE_MEM_WORKER_PORT"),
            (Some("38001"), &Origin::File(f))
        );
    }

    #[test]
    fn a_nested_file_with_a_bom_reads_its_env_object_only() {
        let d = tempfile::tempdir().expect("tempdir");
        let f = write(
            &d.path().join(".claude-mem"),
            "\u{feff}{\"env\": {\"CLAUDE_MEM_WORKER_HOST\": \"localhost\", \"CLAUDE_MEM_LOG_LEVEL\": null, \"MY_OWN\": \"1\"}, \"CLAUDE_MEM_MODEL\": \"beside\"}",
        );
        let r = resolve(&inputs(d.path()));
        assert_eq!(r.files[0].state, FileState::Nested { keys: 3 });
        // `localhost` is normalised, as claude-mem does.
        assert_eq!(
            val(&r, "CLAUDE_MEM_WORKER_HOST"),
            (Some("127.0.0.1"), &Origin::File(f.clone()))
        );
        // A JSON null is a value claude-mem takes (and then misreads): shown as null.
        assert_eq!(
            val(&r, "CLAUDE_MEM_LOG_LEVEL"),
            (None, &Origin::File(f.clone()))
        );
        // Beside `env`: not read, the default applies, and the stray key is flagged.
        let model: Vec<&Setting> = r
            .settings
            .iter()
            .filter(|s| s.key == "CLAUDE_MEM_MODEL")
            .collect();
        assert_eq!(model.len(), 2);
        assert_eq!(model[0].origin, Origin::Default);
        assert!(
            matches!(model[1].problem, Some(Problem::Ignored(_))),
            "{:?}",
            model[1]
        );
        let own = r
            .settings
            .iter()
            .find(|s| s.key == "MY_OWN")
            .expect("unknown key listed");
        assert_eq!(own.problem, Some(Problem::Unknown));
    }

    #[test]
    fn a_broken_file_leaves_the_defaults() {
        let d = tempfile::tempdir().expect("tempdir");
        write(
            &d.path().join(".claude-mem"),
            "{\"CLAUDE_MEM_WORKER_PORT\": ",
        );
        let r = resolve(&inputs(d.path()));
        assert!(
            matches!(r.files[0].state, FileState::Unusable(_)),
            "{:?}",
            r.files
        );
        assert_eq!(
            val(&r, "CLAUDE_MEM_WORKER_PORT"),
            (Some("37700"), &Origin::Default)
        );
        write(&d.path().join(".claude-mem"), "[1, 2]");
        let r = resolve(&inputs(d.path()));
        assert!(matches!(r.files[0].state, FileState::Unusable(_)));
    }

    #[test]
    fn a_moved_data_dir_keeps_the_worker_address_in_the_home_file() {
        let d = tempfile::tempdir().expect("tempdir");
        let moved = d.path().join("elsewhere");
        let home_file = write(
            &d.path().join(".claude-mem"),
            // serde_json escapes the path (a Windows path's backslashes).
            &serde_json::json!({
                "CLAUDE_MEM_DATA_DIR": moved.display().to_string(),
                "CLAUDE_MEM_WORKER_PORT": "38100",
                "CLAUDE_MEM_LOG_LEVEL": "WARN",
            })
            .to_string(),
        );
        let moved_file = write(
            &moved,
            r#"{"CLAUDE_MEM_WORKER_PORT": "38200", "CLAUDE_MEM_LOG_LEVEL": "ERROR"}"#,
        );
        let r = resolve(&inputs(d.path()));
        assert_eq!(r.data_dir, moved);
        assert_eq!(
            val(&r, "CLAUDE_MEM_DATA_DIR"),
            (moved.to_str(), &Origin::File(home_file.clone()))
        );
        assert_eq!(
            val(&r, "CLAUDE_MEM_WORKER_PORT"),
            (Some("38100"), &Origin::File(home_file.clone()))
        );
        assert_eq!(
            val(&r, "CLAUDE_MEM_LOG_LEVEL"),
            (Some("ERROR"), &Origin::File(moved_file))
        );
        // The home file's other keys are not read: flagged.
        let stray = r
            .settings
            .iter()
            .find(|s| {
                s.key == "CLAUDE_MEM_LOG_LEVEL" && s.origin == Origin::File(home_file.clone())
            })
            .expect("flagged");
        assert!(matches!(stray.problem, Some(Problem::Ignored(_))));
        assert_eq!(r.files.len(), 2);
        // With the data dir in the environment, one file holds everything.
        let mut inp = inputs(d.path());
        inp.env
            .insert(DATA_DIR_KEY.into(), moved.to_string_lossy().into_owned());
        let r = resolve(&inp);
        assert_eq!(val(&r, "CLAUDE_MEM_WORKER_PORT").0, Some("38200"));
        assert_eq!(val(&r, "CLAUDE_MEM_DATA_DIR").1, &Origin::Env);
        assert_eq!(r.files.len(), 1);
    }

    #[test]
    fn secrets_show_at_most_their_last_four_characters() {
        let d = tempfile::tempdir().expect("tempdir");
        write(
            &d.path().join(".claude-mem"),
            r#"{"CLAUDE_MEM_GEMINI_API_KEY": "AIzaSyExampleKey1234wxyz", "CLAUDE_MEM_TV_TOKEN": "short", "MY_SERVICE_TOKEN": "abcdefghijklmnop"}"#,
        );
        let r = resolve(&inputs(d.path()));
        let g = r.get("CLAUDE_MEM_GEMINI_API_KEY").expect("key");
        assert_eq!((g.value.as_deref(), g.secret), (Some("****wxyz"), true));
        assert_eq!(val(&r, "CLAUDE_MEM_TV_TOKEN").0, Some("****"));
        assert_eq!(val(&r, "MY_SERVICE_TOKEN").0, Some("****mnop"));
        assert_eq!(
            val(&r, "CLAUDE_MEM_OPENROUTER_API_KEY").0,
            Some(""),
            "unset stays empty"
        );
        assert_eq!(mask("x"), "****");
    }

    #[test]
    fn values_claude_mem_would_refuse_are_flagged() {
        let d = tempfile::tempdir().expect("tempdir");
        write(
            &d.path().join(".claude-mem"),
            r#"{"CLAUDE_MEM_WORKER_PORT": "80", "CLAUDE_MEM_PROVIDER": "llama", "CLAUDE_MEM_LOG_LEVEL": "warn", "CLAUDE_MEM_PYTHON_VERSION": "3.100", "CLAUDE_MEM_CONTEXT_OBSERVATIONS": "50abc"}"#,
        );
        let r = resolve(&inputs(d.path()));
        let p = |k: &str| r.get(k).and_then(|s| s.problem.clone());
        assert!(
            matches!(p("CLAUDE_MEM_WORKER_PORT"), Some(Problem::Invalid(m)) if m.contains("1024 and 65535"))
        );
        assert!(matches!(
            p("CLAUDE_MEM_PROVIDER"),
            Some(Problem::Invalid(_))
        ));
        assert!(matches!(
            p("CLAUDE_MEM_PYTHON_VERSION"),
            Some(Problem::Invalid(_))
        ));
        // Lower case levels and parseInt's leading digits pass, as in claude-mem.
        assert_eq!(p("CLAUDE_MEM_LOG_LEVEL"), None);
        assert_eq!(p("CLAUDE_MEM_CONTEXT_OBSERVATIONS"), None);
        assert_eq!(p("CLAUDE_MEM_MODEL"), None);
        assert_eq!(js_int(" 42x"), Some(42));
        assert_eq!(js_int("x42"), None);
    }
}
