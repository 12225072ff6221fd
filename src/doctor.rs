//! `claude-mem-top doctor`: the 7.1.0 troubleshooting table, automated. Every check reads only
//! (nothing is created, removed or signalled, and pm2 is never run: it would start a daemon) and
//! answers ok / warn / fail with a one-line fix.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::config::{self, Config, ConfigError, Overrides, PortSource};
use crate::procman::files::{self, MARKER_FILE, PORT_FILE};
use crate::procman::platform::{self, PidFd};
use crate::procman::status::{self, Layout, State, Status, StatusOpts};
use crate::procman::{pm2, spawn};

pub const SCHEMA_VERSION: u32 = 1;
/// `logs/` above this is a warning.
pub const LOGS_WARN_BYTES: u64 = 500 * 1024 * 1024;
/// A `-wal` above this means checkpoints are not happening.
pub const WAL_WARN_BYTES: u64 = 100 * 1024 * 1024;
/// File times further ahead than this mean the clock was set back.
const FUTURE_SLACK: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warn,
    Fail,
}

impl Level {
    pub fn label(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Warn => "warn",
            Level::Fail => "FAIL",
        }
    }
}

/// One check's verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub id: &'static str,
    pub title: &'static str,
    pub status: Level,
    pub message: String,
    /// One line: what to do. `None` when there is nothing to do.
    pub fix: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub ok: usize,
    pub warn: usize,
    pub fail: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub data_dir: PathBuf,
    pub port: u16,
    pub port_source: PortSource,
    pub worker_command: String,
    pub summary: Summary,
    pub checks: Vec<Finding>,
}

impl Report {
    /// 0 if nothing failed, else 1.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.summary.fail > 0)
    }
}

fn finding(
    id: &'static str,
    title: &'static str,
    status: Level,
    message: impl Into<String>,
    fix: Option<String>,
) -> Finding {
    Finding {
        id,
        title,
        status,
        message: message.into(),
        fix,
    }
}

fn ok(id: &'static str, title: &'static str, message: impl Into<String>) -> Finding {
    finding(id, title, Level::Ok, message, None)
}

fn warn(id: &'static str, title: &'static str, message: impl Into<String>, fix: &str) -> Finding {
    finding(id, title, Level::Warn, message, Some(fix.to_string()))
}

fn fail(id: &'static str, title: &'static str, message: impl Into<String>, fix: &str) -> Finding {
    finding(id, title, Level::Fail, message, Some(fix.to_string()))
}

/// Load the configuration like every command, but keep going when settings.json (or a port) is
/// broken: that is one of the things the doctor reports. The fallback reads no settings and uses
/// the default port.
pub fn load(o: &Overrides) -> Result<(Config, Option<ConfigError>), ConfigError> {
    let e = match Config::load(o) {
        Ok(c) => return Ok((c, None)),
        Err(e) => e,
    };
    let settings_dir = match &e {
        ConfigError::Settings { path, .. }
        | ConfigError::InvalidPort {
            origin: PortSource::Settings(path),
            ..
        } => path.parent().map(Path::to_path_buf),
        ConfigError::InvalidPort {
            origin: PortSource::Env,
            ..
        } => None,
        _ => return Err(e),
    };
    let port = match &e {
        ConfigError::InvalidPort { .. } => None,
        _ => o.port.clone(),
    };
    let forced = port.is_none();
    let fallback = Overrides {
        // A directory that does not exist: no settings.json is read from it.
        data_dir: settings_dir
            .as_ref()
            .map(|d| d.join(".claude-mem-top-doctor-no-such-dir"))
            .or_else(|| o.data_dir.clone()),
        port: port.or_else(|| Some(config::DEFAULT_PORT.to_string())),
        worker_cmd: o.worker_cmd.clone(),
    };
    let mut cfg = Config::load(&fallback)?;
    if let Some(d) = settings_dir {
        cfg.data_dir = d;
    }
    if forced {
        cfg.port_source = PortSource::Default;
    }
    Ok((cfg, Some(e)))
}

/// Run every check.
pub fn run(cfg: &Config, config_error: Option<&ConfigError>) -> Report {
    let st = status::status(cfg, StatusOpts::display());
    let checks = vec![
        check_data_dir(cfg),
        check_settings(cfg, config_error),
        check_bun(cfg),
        check_worker_program(cfg),
        check_worker(&st),
        check_pid_files(cfg, &st),
        check_port(cfg, &st),
        check_pm2(cfg),
        check_marker(cfg, &st),
        check_database(cfg),
        check_logs(cfg),
        check_clock(cfg),
    ];
    let mut summary = Summary::default();
    for c in &checks {
        match c.status {
            Level::Ok => summary.ok += 1,
            Level::Warn => summary.warn += 1,
            Level::Fail => summary.fail += 1,
        }
    }
    Report {
        schema_version: SCHEMA_VERSION,
        data_dir: cfg.data_dir.clone(),
        port: st.port,
        port_source: cfg.port_source.clone(),
        worker_command: cfg.worker.display(),
        summary,
        checks,
    }
}

/// `user (uid N)`, from /etc/passwd when it knows the uid.
pub fn user_label(uid: u32) -> String {
    let name = std::fs::read_to_string("/etc/passwd").ok().and_then(|t| {
        t.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id: u32 = f.nth(1)?.parse().ok()?;
            (id == uid).then(|| name.to_string())
        })
    });
    match name {
        Some(n) => format!("user {n} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

fn writable(dir: &Path) -> bool {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: c is a valid NUL-terminated path.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

fn check_data_dir(cfg: &Config) -> Finding {
    use std::os::unix::fs::MetadataExt;
    const ID: &str = "data_dir";
    const T: &str = "data dir";
    let dir = &cfg.data_dir;
    let me = platform::current_uid();
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => warn(
            ID,
            T,
            format!("{} does not exist yet", dir.display()),
            "run `claude-mem-top start` (or any claude-mem hook): the first start creates it",
        ),
        Err(e) => fail(
            ID,
            T,
            format!("cannot read {}: {e}", dir.display()),
            &format!("check the permissions of {} and its parents", dir.display()),
        ),
        Ok(m) if !m.is_dir() => fail(
            ID,
            T,
            format!("{} is not a directory", dir.display()),
            &format!(
                "move {} away; the next start creates the directory",
                dir.display()
            ),
        ),
        Ok(m) if !writable(dir) => fail(
            ID,
            T,
            format!(
                "{} is not writable by you ({}); it belongs to {}",
                dir.display(),
                user_label(me),
                user_label(m.uid())
            ),
            &format!("chown -R \"$(id -un)\" {}", dir.display()),
        ),
        Ok(m) if m.uid() != me => warn(
            ID,
            T,
            format!(
                "{} belongs to {}, not to you ({}): files you create there will be yours",
                dir.display(),
                user_label(m.uid()),
                user_label(me)
            ),
            "run claude-mem-top as the owner of the data dir",
        ),
        Ok(m) if platform::is_world_writable(&m) => warn(
            ID,
            T,
            format!("{} is world-writable", dir.display()),
            &format!("chmod o-w {}", dir.display()),
        ),
        Ok(_) => ok(
            ID,
            T,
            format!("{} exists and is writable by you", dir.display()),
        ),
    }
}

fn check_settings(cfg: &Config, config_error: Option<&ConfigError>) -> Finding {
    const ID: &str = "settings";
    const T: &str = "settings.json";
    let path = cfg.settings_path();
    if let Some(e) = config_error {
        return fail(
            ID,
            T,
            e.to_string(),
            &format!(
                "fix {} (a JSON object; CLAUDE_MEM_WORKER_PORT an integer from 1024 to 65535)",
                path.display()
            ),
        );
    }
    match config::read_settings(&path) {
        Err(e) => fail(
            ID,
            T,
            e.to_string(),
            &format!("fix or remove {}", path.display()),
        ),
        Ok(None) => ok(
            ID,
            T,
            format!("{} absent or empty: defaults apply", path.display()),
        ),
        Ok(Some(v)) => {
            let flat = v.as_object().map_or(0, |o| o.len());
            let raw = config::settings_port(&path).ok().flatten();
            let port_note = match raw {
                None => "no CLAUDE_MEM_WORKER_PORT".to_string(),
                Some(p) => match files::parse_port(&p) {
                    Ok(n) => format!("CLAUDE_MEM_WORKER_PORT {n}"),
                    Err(_) => {
                        return fail(
                            ID,
                            T,
                            format!(
                                "{}: CLAUDE_MEM_WORKER_PORT {p:?} is not a port from 1024 to 65535",
                                path.display()
                            ),
                            &format!(
                                "set CLAUDE_MEM_WORKER_PORT in {} to e.g. \"37777\"",
                                path.display()
                            ),
                        )
                    }
                },
            };
            let mut msg = format!(
                "{} is valid JSON ({flat} keys, {port_note})",
                path.display()
            );
            if cfg.port_source != PortSource::Default
                && !matches!(cfg.port_source, PortSource::Settings(_))
            {
                let _ = write!(msg, "; the port in use comes from {}", cfg.port_source);
            }
            ok(ID, T, msg)
        }
    }
}

/// Run `program --version` for at most 3 s.
fn program_version(program: &Path) -> Option<String> {
    use std::io::Read;
    let mut child = std::process::Command::new(program)
        .arg("--version")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .ok()?;
    let exited = PidFd::open(child.id() as i32)
        .map(|fd| fd.wait_exit(Duration::from_secs(3)))
        .unwrap_or(false);
    if !exited {
        let _ = child.kill();
        let _ = child.wait();
        return None;
    }
    let mut out = String::new();
    child
        .stdout
        .take()?
        .take(4096)
        .read_to_string(&mut out)
        .ok()?;
    let _ = child.wait();
    let v = out.lines().next()?.trim().to_string();
    (!v.is_empty()).then_some(v)
}

fn check_bun(cfg: &Config) -> Finding {
    const ID: &str = "bun";
    const T: &str = "bun";
    let uses_bun = cfg.worker.script.is_some();
    let program = if uses_bun {
        cfg.worker.argv[0].as_str()
    } else {
        "bun"
    };
    match spawn::which(program) {
        Some(p) => {
            let v = program_version(&p)
                .map(|v| format!("bun {v}"))
                .unwrap_or_else(|| "bun (its --version did not answer)".into());
            let note = if uses_bun {
                ""
            } else {
                " (not used: the worker command is custom)"
            };
            ok(ID, T, format!("{v} at {}{note}", p.display()))
        }
        None if uses_bun => fail(
            ID,
            T,
            "Bun is required but not found in PATH",
            "install bun (curl -fsSL https://bun.sh/install | bash) and open a new shell",
        ),
        None => ok(
            ID,
            T,
            format!(
                "not on PATH; not needed: the worker command is custom ({})",
                cfg.worker.display()
            ),
        ),
    }
}

/// Arguments of a custom command that name a script file.
fn script_args(argv: &[String]) -> impl Iterator<Item = &String> {
    argv.iter().skip(1).filter(|a| {
        !a.starts_with('-')
            && [".js", ".cjs", ".mjs", ".ts"]
                .iter()
                .any(|ext| a.ends_with(ext))
    })
}

fn check_worker_program(cfg: &Config) -> Finding {
    const ID: &str = "worker_script";
    const T: &str = "worker script";
    let w = &cfg.worker;
    if let Some(script) = &w.script {
        return if script.is_file() {
            let version = crate::release::installed_version(cfg)
                .map(|v| format!(" (claude-mem {v})"))
                .unwrap_or_default();
            ok(ID, T, format!("{}{version}", script.display()))
        } else {
            fail(
                ID,
                T,
                format!("Worker script not found at {}", script.display()),
                "reinstall the claude-mem plugin (in Claude Code: /plugin install claude-mem), or pass --worker-cmd",
            )
        };
    }
    let Some(program) = spawn::which(&w.argv[0]) else {
        return fail(
            ID,
            T,
            format!("Worker program not found: {}", w.argv[0]),
            "fix --worker-cmd / CLAUDE_MEM_TOP_WORKER_CMD (a program on PATH or an absolute path)",
        );
    };
    for s in script_args(&w.argv) {
        let p = Path::new(s);
        let p = match (&w.cwd, p.is_relative()) {
            (Some(cwd), true) => cwd.join(p),
            _ => p.to_path_buf(),
        };
        if !p.is_file() {
            return fail(
                ID,
                T,
                format!("Worker script not found at {}", p.display()),
                "fix the script path in --worker-cmd / CLAUDE_MEM_TOP_WORKER_CMD",
            );
        }
    }
    ok(
        ID,
        T,
        format!(
            "custom command {} (program {})",
            w.display(),
            program.display()
        ),
    )
}

fn check_worker(st: &Status) -> Finding {
    const ID: &str = "worker";
    const T: &str = "worker";
    let reason = st.reason.clone().unwrap_or_default();
    match st.state {
        State::Running => {
            let lat = st
                .probe
                .as_ref()
                .map(|p| format!(", GET /health {:.1} ms", p.latency.as_secs_f64() * 1000.0))
                .unwrap_or_default();
            ok(
                ID,
                T,
                format!(
                    "running and healthy: PID {}, port {}{lat}",
                    st.pid.unwrap_or(0),
                    st.port
                ),
            )
        }
        State::Unhealthy => fail(
            ID,
            T,
            format!(
                "PID {} runs but is unhealthy: {reason}",
                st.pid.unwrap_or(0)
            ),
            "claude-mem-top restart; then `claude-mem-top logs --level warn` for the cause",
        ),
        State::Stopped | State::Stale => warn(
            ID,
            T,
            "not running",
            "claude-mem-top start (claude-mem's hooks also start it on the next session)",
        ),
        State::Unmanaged => warn(
            ID,
            T,
            format!("a worker answers on port {} but no PID file names it", st.port),
            "stop it and start it with `claude-mem-top start` to manage it, or leave it as is",
        ),
        State::Unknown => fail(
            ID,
            T,
            format!("state unknown: {reason}"),
            "check the owner and type of the files named above (they must be regular files of yours)",
        ),
    }
}

fn check_pid_files(cfg: &Config, st: &Status) -> Finding {
    const ID: &str = "pid_files";
    const T: &str = "pid/port files";
    let named = st
        .pid_file
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "the PID file".into());
    match st.state {
        State::Stale => {
            let port_file = cfg.path(PORT_FILE);
            let also = if platform::exists(&port_file) {
                format!(" and {}", port_file.display())
            } else {
                String::new()
            };
            fail(
                ID,
                T,
                format!(
                    "stale {named}: {}",
                    st.reason.as_deref().unwrap_or("it names no live worker")
                ),
                &format!("claude-mem-top start (it removes stale files), or delete {named}{also}"),
            )
        }
        State::Unknown => fail(
            ID,
            T,
            st.reason.clone().unwrap_or_else(|| "unreadable".into()),
            "make the PID file a regular file owned by you, or remove it if no worker runs",
        ),
        _ => {
            if let Some(w) = st
                .warnings
                .iter()
                .find(|w| w.contains(".worker.") || w.contains("worker.pid"))
            {
                return warn(
                    ID,
                    T,
                    w.clone(),
                    "claude-mem-top restart rewrites the PID and port files",
                );
            }
            let port_file = cfg.path(PORT_FILE);
            if st.pid_file.is_none() && platform::exists(&port_file) {
                return warn(
                    ID,
                    T,
                    format!("{} exists without a PID file", port_file.display()),
                    &format!("delete {}", port_file.display()),
                );
            }
            match (&st.pid_file, &st.proven) {
                (Some(p), Some(w)) => ok(
                    ID,
                    T,
                    format!(
                        "{} names PID {}, proven to be the worker",
                        p.display(),
                        w.pid
                    ),
                ),
                _ => ok(ID, T, "no PID file, and none needed: no worker runs"),
            }
        }
    }
}

fn check_port(cfg: &Config, st: &Status) -> Finding {
    const ID: &str = "port";
    const T: &str = "port";
    let port = st.port;
    let from = &cfg.port_source;
    let Some(h) = platform::port_holder(port) else {
        return if matches!(st.state, State::Running | State::Unhealthy) {
            warn(
                ID,
                T,
                format!("port {port} ({from}) has no listener, though the worker runs"),
                "claude-mem-top restart",
            )
        } else {
            ok(ID, T, format!("port {port} ({from}) is free"))
        };
    };
    let worker_pid = st.proven.as_ref().map(|p| p.pid);
    let family =
        |pid: i32| worker_pid.is_some_and(|w| w == pid || platform::descendants(w).contains(&pid));
    if h.pid.is_some_and(family) {
        return ok(
            ID,
            T,
            format!(
                "port {port} ({from}) is held by the worker (PID {})",
                h.pid.unwrap_or(0)
            ),
        );
    }
    let who = match (h.pid, &h.command) {
        (Some(pid), Some(cmd)) => format!("PID {pid} ({cmd}), {}", user_label(h.uid)),
        (Some(pid), None) => format!("PID {pid}, {}", user_label(h.uid)),
        (None, _) => format!(
            "a process of {} (its PID is not visible to you)",
            user_label(h.uid)
        ),
    };
    if st.state == State::Unmanaged {
        return warn(
            ID,
            T,
            format!("port {port} ({from}) is held by an unmanaged worker: {who}"),
            "leave it, or stop it and start the worker with `claude-mem-top start`",
        );
    }
    let fix = match h.pid {
        Some(pid) => format!(
            "stop PID {pid} (`kill {pid}`) if it is a leftover, or set CLAUDE_MEM_WORKER_PORT in {} to a free port",
            cfg.settings_path().display()
        ),
        None => format!(
            "ask that user to stop it, or set CLAUDE_MEM_WORKER_PORT in {} to a free port",
            cfg.settings_path().display()
        ),
    };
    fail(
        ID,
        T,
        format!("port {port} ({from}) is in use by {who}"),
        &fix,
    )
}

/// pm2 daemons seen in /proc (`PM2 vX: God Daemon (HOME)`), whatever their pid file says.
fn pm2_daemons_in_proc() -> Vec<i32> {
    platform::all_pids()
        .into_iter()
        .filter(|p| *p > 1 && platform::alive(*p))
        .filter(|p| {
            platform::cmdline(*p)
                .is_some_and(|a| a.first().is_some_and(|x| x.contains("God Daemon")))
        })
        .collect()
}

fn check_pm2(cfg: &Config) -> Finding {
    const ID: &str = "pm2";
    const T: &str = "PM2 leftovers";
    let fix_delete = "pm2 delete claude-mem-worker && pm2 save (or `claude-mem-top migrate`)";
    let found = pm2::detect(cfg.home.as_deref());
    let mut daemons = pm2_daemons_in_proc();
    if let Some(d) = found.as_ref().and_then(|f| f.daemon_pid) {
        if !daemons.contains(&d) {
            daemons.insert(0, d);
        }
    }
    let Some(found) = found else {
        return if daemons.is_empty() {
            ok(
                ID,
                T,
                "no PM2 home and no pm2 daemon: nothing left from PM2",
            )
        } else {
            warn(
                ID,
                T,
                format!("a pm2 daemon runs (PID {daemons:?}) with a PM2 home elsewhere"),
                "pm2 kill, if nothing else of yours uses pm2",
            )
        };
    };
    let home = found.home.display().to_string();
    let live: Vec<String> = found
        .apps
        .iter()
        .filter(|a| a.alive)
        .map(|a| format!("PID {}", a.pid.unwrap_or(0)))
        .collect();
    if !live.is_empty() {
        return fail(
            ID,
            T,
            format!(
                "pm2 still runs claude-mem-worker ({}) from {home}: it competes for the worker's port",
                live.join(", ")
            ),
            fix_delete,
        );
    }
    let dump = found.home.join("dump.pm2");
    let in_dump = std::fs::read_to_string(&dump).is_ok_and(|t| t.contains("claude-mem-worker"));
    if in_dump {
        return warn(
            ID,
            T,
            format!(
                "{} lists claude-mem-worker: `pm2 resurrect` (or boot) would start it again",
                dump.display()
            ),
            fix_delete,
        );
    }
    if !daemons.is_empty() {
        return warn(
            ID,
            T,
            format!(
                "a pm2 daemon runs (PID {}) but no claude-mem-worker app",
                daemons
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            "pm2 kill, if nothing else of yours uses pm2",
        );
    }
    if !found.apps.is_empty() {
        let files: Vec<String> = found
            .apps
            .iter()
            .map(|a| a.pid_file.display().to_string())
            .collect();
        return warn(
            ID,
            T,
            format!("dead pm2 PID files: {}", files.join(", ")),
            &format!("rm {}", files.join(" ")),
        );
    }
    ok(
        ID,
        T,
        format!("{home}: no pm2 daemon, no claude-mem-worker app"),
    )
}

fn check_marker(cfg: &Config, st: &Status) -> Finding {
    const ID: &str = "pm2_marker";
    const T: &str = "migration marker";
    let path = cfg.path(MARKER_FILE);
    match files::read_small(&path) {
        Ok(Some(f)) => match files::parse_marker(&f.text) {
            Some(t) => {
                if t > chrono::Utc::now() + chrono::Duration::seconds(60) {
                    warn(
                        ID,
                        T,
                        format!(
                            "{} is dated in the future ({})",
                            path.display(),
                            files::iso(t)
                        ),
                        "check the system clock (see the clock check)",
                    )
                } else {
                    ok(
                        ID,
                        T,
                        format!("{}: PM2 cleanup done {}", path.display(), files::iso(t)),
                    )
                }
            }
            None => warn(
                ID,
                T,
                format!(
                    "{} holds {:?}, not an ISO-8601 timestamp",
                    path.display(),
                    f.text.trim().chars().take(40).collect::<String>()
                ),
                &format!(
                    "delete {}; `claude-mem-top migrate` writes it again",
                    path.display()
                ),
            ),
        },
        Err(p) => warn(
            ID,
            T,
            p.to_string(),
            &format!(
                "remove {} if it is not a regular file of yours",
                path.display()
            ),
        ),
        Ok(None) if st.layout == Layout::V13 || status::has_v13_files(&cfg.data_dir) => {
            ok(ID, T, "absent; claude-mem 13.x does not use it")
        }
        Ok(None) => {
            let leftovers = pm2::detect(cfg.home.as_deref()).is_some_and(|p| p.active());
            if leftovers {
                warn(
                    ID,
                    T,
                    format!("{} absent: the PM2 cleanup never ran", path.display()),
                    "claude-mem-top migrate",
                )
            } else {
                ok(
                    ID,
                    T,
                    format!(
                        "{} absent: the next start writes it (no PM2 leftovers)",
                        path.display()
                    ),
                )
            }
        }
    }
}

/// `1.2 MB`, `512 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[i])
    }
}

fn check_database(cfg: &Config) -> Finding {
    use crate::app::msg::DbState;
    const ID: &str = "database";
    const T: &str = "database";
    let db = cfg.path("claude-mem.db");
    match crate::sources::db::read(&db) {
        DbState::Missing | DbState::Loading => ok(
            ID,
            T,
            format!("{} not created yet (the worker creates it)", db.display()),
        ),
        DbState::Busy => warn(
            ID,
            T,
            format!("{} is locked by a writer right now", db.display()),
            "run the doctor again in a moment",
        ),
        DbState::Error(e) => fail(
            ID,
            T,
            format!("cannot read {}: {e}", db.display()),
            &format!(
                "check its owner and permissions; if it is corrupt, restore a copy from {}",
                cfg.path("backups").display()
            ),
        ),
        DbState::Ok(s) => {
            let rows: Vec<String> = s.counts.iter().map(|(t, n)| format!("{n} {t}")).collect();
            let schema = s
                .schema
                .map(|v| format!(", schema {v}"))
                .unwrap_or_default();
            let wal = s.wal_size.unwrap_or(0);
            let msg = format!(
                "readable: {}{schema}; DB {}, WAL {}",
                if rows.is_empty() {
                    "no known tables".into()
                } else {
                    rows.join(", ")
                },
                human_bytes(s.size),
                human_bytes(wal)
            );
            if wal > WAL_WARN_BYTES {
                warn(
                    ID,
                    T,
                    format!("{msg}: the WAL is large, checkpoints are not keeping up"),
                    "claude-mem-top restart (the worker checkpoints when it shuts down cleanly)",
                )
            } else {
                ok(ID, T, msg)
            }
        }
    }
}

/// Regular files in `dir` (not recursive) with their sizes, largest first.
fn dir_files(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut v: Vec<(PathBuf, u64)> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| {
                    let m = e.metadata().ok()?;
                    m.is_file().then(|| (e.path(), m.len()))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v
}

/// Total bytes of `logs/` (not recursive).
pub fn logs_bytes(cfg: &Config) -> u64 {
    dir_files(&cfg.logs_dir()).iter().map(|(_, n)| n).sum()
}

fn check_logs(cfg: &Config) -> Finding {
    const ID: &str = "logs";
    const T: &str = "logs";
    let dir = cfg.logs_dir();
    let list = dir_files(&dir);
    if list.is_empty() {
        return ok(ID, T, format!("{}: no logs yet", dir.display()));
    }
    let total: u64 = list.iter().map(|(_, n)| n).sum();
    let msg = format!(
        "{}: {} in {} file{}",
        dir.display(),
        human_bytes(total),
        list.len(),
        if list.len() == 1 { "" } else { "s" }
    );
    if total <= LOGS_WARN_BYTES {
        return ok(ID, T, msg);
    }
    let biggest: Vec<String> = list
        .iter()
        .take(3)
        .map(|(p, n)| {
            format!(
                "{} {}",
                p.file_name()
                    .map(|f| f.to_string_lossy())
                    .unwrap_or_default(),
                human_bytes(*n)
            )
        })
        .collect();
    warn(
        ID,
        T,
        format!(
            "{msg}, above {}; largest: {}",
            human_bytes(LOGS_WARN_BYTES),
            biggest.join(", ")
        ),
        &format!(
            "delete old logs: find {} -name '*.log' -mtime +7 -delete",
            dir.display()
        ),
    )
}

fn check_clock(cfg: &Config) -> Finding {
    const ID: &str = "clock";
    const T: &str = "clock";
    let now = SystemTime::now();
    let now_utc = chrono::DateTime::<chrono::Utc>::from(now);
    if now_utc.timestamp() < 1_704_067_200 {
        // Before 2024-01-01: no claude-mem install is that old.
        return fail(
            ID,
            T,
            format!("the system clock says {}", files::iso(now_utc)),
            "set the clock (e.g. `timedatectl set-ntp true`)",
        );
    }
    let mut future: Vec<(PathBuf, Duration)> = Vec::new();
    for dir in [cfg.data_dir.clone(), cfg.logs_dir()] {
        for (p, _) in dir_files(&dir) {
            let Ok(m) = std::fs::metadata(&p).and_then(|m| m.modified()) else {
                continue;
            };
            if let Ok(ahead) = m.duration_since(now) {
                if ahead > FUTURE_SLACK {
                    future.push((p, ahead));
                }
            }
        }
    }
    if let Some((p, ahead)) = future.iter().max_by_key(|(_, a)| *a) {
        return warn(
            ID,
            T,
            format!(
                "{} file(s) in the data dir are dated in the future (up to {} ahead: {}); \
                 the clock was set back, and PID-file checks compare these times",
                future.len(),
                status::fmt_uptime(ahead.as_secs()),
                p.display()
            ),
            "fix the clock (`timedatectl set-ntp true`), then restart the worker",
        );
    }
    ok(
        ID,
        T,
        format!(
            "{} UTC; no file in the data dir is dated in the future",
            now_utc.format("%Y-%m-%d %H:%M:%S")
        ),
    )
}

/// The report as text: one line per check, its fix under it.
pub fn text(r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "claude-mem-top doctor: data dir {}, port {} ({})",
        r.data_dir.display(),
        r.port,
        r.port_source
    );
    let width = r.checks.iter().map(|c| c.title.len()).max().unwrap_or(0);
    for c in &r.checks {
        let _ = writeln!(
            s,
            "  {:<4}  {:<width$}  {}",
            c.status.label(),
            c.title,
            crate::logs::sanitize(&c.message)
        );
        if let Some(f) = &c.fix {
            let _ = writeln!(s, "  {:<4}  {:<width$}  fix: {f}", "", "");
        }
    }
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    let _ = writeln!(
        s,
        "{} failed, {}, {} ok",
        r.summary.fail,
        plural(r.summary.warn, "warning"),
        r.summary.ok
    );
    s
}

pub fn json(r: &Report) -> String {
    serde_json::to_string_pretty(r).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KB");
        assert_eq!(human_bytes(600 * 1024 * 1024), "600.0 MB");
    }

    #[test]
    fn script_args_pick_files() {
        let argv: Vec<String> = ["bun", "--smol", "/x/worker-service.cjs", "9"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            script_args(&argv).collect::<Vec<_>>(),
            vec!["/x/worker-service.cjs"]
        );
    }

    #[test]
    fn root_has_a_name() {
        assert!(user_label(0).starts_with("user root"));
    }
}
