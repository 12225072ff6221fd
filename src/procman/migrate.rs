//! The one-time PM2 cleanup of claude-mem 7.1.0 (`pm2 delete claude-mem-worker`, then the
//! `.pm2-migrated` marker), looking before it calls pm2: nearly every pm2 command starts a pm2
//! daemon when none runs. So pm2 is run only when a live pm2 daemon runs claude-mem-worker, with
//! `PM2_HOME` set to that daemon's home. With no live daemon there is nothing to delete and the
//! marker is written as 7.1.0 would; a daemon without claude-mem-worker is left alone. While the
//! app still runs the marker is not written: the cleanup is still due.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::files::{self, MARKER_FILE};
use super::pm2::{self, APP};
use super::spawn;
use crate::config::{fmt_duration, Config};
use crate::platform;

/// What the cleanup found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pm2Outcome {
    /// No live pm2 daemon (`home` is `None` without any PM2 home): nothing to delete, pm2 not
    /// run. `orphans`: claude-mem-worker apps of pm2's pid files that still run without it.
    NoDaemon {
        home: Option<PathBuf>,
        orphans: Vec<i32>,
    },
    /// A live pm2 daemon that runs no claude-mem-worker: left alone, pm2 not run.
    NoApp { home: PathBuf, daemon: i32 },
    /// `pm2 delete claude-mem-worker` removed the app.
    Deleted {
        home: PathBuf,
        daemon: i32,
        apps: Vec<i32>,
        /// The pm2 command that did it.
        program: String,
        /// `dump.pm2` still lists the app (`pm2 save` persists the deletion).
        dump_lists_app: bool,
    },
    /// The app still runs: no pm2 was found, or none of those tried removed it.
    NotDeleted {
        home: PathBuf,
        daemon: i32,
        apps: Vec<i32>,
        why: String,
    },
}

impl Pm2Outcome {
    /// The cleanup is complete (the marker may be written).
    pub fn done(&self) -> bool {
        !matches!(self, Pm2Outcome::NotDeleted { .. })
    }

    /// The command that finishes the cleanup by hand.
    pub fn manual_command(home: &Path) -> String {
        format!("PM2_HOME={} pm2 delete {APP}", home.display())
    }

    /// One line: what was found and what was done.
    pub fn summary(&self) -> String {
        match self {
            Pm2Outcome::NoDaemon { home: None, .. } => {
                "no PM2 home: nothing for pm2 to delete (pm2 not run)".into()
            }
            Pm2Outcome::NoDaemon {
                home: Some(h),
                orphans,
            } => {
                let mut s = format!(
                    "no pm2 daemon runs for {}: nothing for pm2 to delete (pm2 not run)",
                    h.display()
                );
                if !orphans.is_empty() {
                    s.push_str(&format!(
                        "; {APP} ({}) still runs without it: check it and stop it (`kill {}`)",
                        pids(orphans, ", PID ", "PID "),
                        pids(orphans, " ", "")
                    ));
                }
                s
            }
            Pm2Outcome::NoApp { home, daemon } => format!(
                "the pm2 daemon PID {daemon} ({}) runs no {APP}: left alone (pm2 not run)",
                home.display()
            ),
            Pm2Outcome::Deleted {
                home,
                daemon,
                apps,
                program,
                ..
            } => format!(
                "pm2 delete {APP}: done ({} stopped by the pm2 daemon PID {daemon}, {}; ran {program})",
                pids(apps, ", PID ", "PID "),
                home.display()
            ),
            Pm2Outcome::NotDeleted {
                home,
                daemon,
                apps,
                why,
            } => format!(
                "the pm2 daemon PID {daemon} ({}) still runs {APP} ({}): {why}; run `{}`",
                home.display(),
                pids(apps, ", PID ", "PID "),
                Self::manual_command(home)
            ),
        }
    }
}

fn pids(list: &[i32], sep: &str, first: &str) -> String {
    let joined = list
        .iter()
        .map(|p| p.to_string())
        .collect::<Vec<_>>()
        .join(sep);
    format!("{first}{joined}")
}

#[derive(Debug, Clone)]
pub struct MigrateReport {
    pub pm2: Pm2Outcome,
    pub marker_written: Option<String>,
}

impl MigrateReport {
    /// A note for `start`: the cleanup's summary and what became of the marker.
    pub fn note(&self) -> String {
        let marker = if self.marker_written.is_some() {
            "marker written"
        } else if self.pm2.done() {
            "marker already present"
        } else {
            "marker not written: the cleanup is still due"
        };
        format!("PM2 cleanup: {}; {marker}", self.pm2.summary())
    }
}

/// How long `pm2 delete` may take. `CLAUDE_MEM_TOP_PM2_TIMEOUT` (hidden, for tests) shortens it.
fn pm2_timeout() -> Duration {
    std::env::var("CLAUDE_MEM_TOP_PM2_TIMEOUT")
        .ok()
        .and_then(|v| crate::config::parse_duration(&v))
        .unwrap_or(Duration::from_secs(10))
}

/// How long a `pm2 delete` that exited 0 may take to have the app gone.
const GONE_WAIT: Duration = Duration::from_secs(3);

pub fn marker_present(cfg: &Config) -> bool {
    crate::platform::exists(&cfg.path(MARKER_FILE))
}

/// A live pm2 daemon runs claude-mem-worker: the one case the cleanup runs pm2 for. Files and
/// the process table only.
pub fn pm2_runs_worker(cfg: &Config) -> bool {
    pm2::detect(cfg.home.as_deref()).is_some_and(|p| p.runs_worker())
}

/// Run the cleanup if the marker is missing. `force` runs it even when it exists (`migrate`);
/// the marker is only written when missing, and only once the cleanup is complete.
pub fn run(cfg: &Config, force: bool) -> std::io::Result<Option<MigrateReport>> {
    let present = marker_present(cfg);
    if present && !force {
        return Ok(None);
    }
    let pm2 = cleanup(cfg);
    let marker_written = if present || !pm2.done() {
        None
    } else {
        fs::create_dir_all(&cfg.data_dir)?;
        let now = files::iso_now();
        files::write_atomic(&cfg.path(MARKER_FILE), now.as_bytes())?;
        Some(now)
    };
    Ok(Some(MigrateReport {
        pm2,
        marker_written,
    }))
}

fn cleanup(cfg: &Config) -> Pm2Outcome {
    let Some(home) = pm2::pm2_home(cfg.home.as_deref()) else {
        return Pm2Outcome::NoDaemon {
            home: None,
            orphans: Vec::new(),
        };
    };
    if !home.is_dir() {
        return Pm2Outcome::NoDaemon {
            home: Some(home),
            orphans: Vec::new(),
        };
    }
    let found = pm2::detect_in(home.clone());
    let apps = found.live_apps();
    let Some(daemon) = found.daemon_pid else {
        return Pm2Outcome::NoDaemon {
            home: Some(home),
            orphans: apps,
        };
    };
    if apps.is_empty() {
        return Pm2Outcome::NoApp { home, daemon };
    }
    let log = spawn::dated_log(&cfg.logs_dir(), "worker");
    // pm2 on PATH first; then the pm2 the daemon itself runs from (looked for only if needed).
    let first = configured();
    let mut tried: Vec<PathBuf> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let mut candidates: Vec<Pm2Program> = first.into_iter().collect();
    let mut looked_beside_daemon = false;
    loop {
        if candidates.is_empty() && !looked_beside_daemon {
            looked_beside_daemon = true;
            candidates = beside_daemon(daemon, &apps)
                .into_iter()
                .filter(|c| !tried.contains(&c.key()))
                .collect();
            candidates.reverse();
        }
        let Some(prog) = candidates.pop() else { break };
        tried.push(prog.key());
        // The daemon must still be there: pm2 would start a new one otherwise.
        if !pm2::is_daemon(daemon) {
            failures.push(format!("the pm2 daemon PID {daemon} exited meanwhile"));
            break;
        }
        let ran = prog.delete(&home, &log);
        let exited_ok = matches!(ran, Ran::Exited(Some(0)));
        if app_gone(&home, exited_ok) {
            return Pm2Outcome::Deleted {
                dump_lists_app: std::fs::read_to_string(home.join("dump.pm2"))
                    .is_ok_and(|t| t.contains(APP)),
                home,
                daemon,
                apps,
                program: prog.shown(),
            };
        }
        failures.push(format!(
            "`{} delete {APP}` {}",
            prog.shown(),
            ran.describe()
        ));
    }
    if failures.is_empty() {
        failures.push("no pm2 program found (none on PATH, none beside the daemon's node)".into());
    }
    Pm2Outcome::NotDeleted {
        home,
        daemon,
        apps,
        why: failures.join("; "),
    }
}

/// No claude-mem-worker app runs in `home` any more (waiting a little when pm2 said it is done).
fn app_gone(home: &Path, wait: bool) -> bool {
    let deadline = Instant::now() + if wait { GONE_WAIT } else { Duration::ZERO };
    loop {
        if pm2::detect_in(home.to_path_buf()).live_apps().is_empty() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A way to run pm2: `program [script] delete claude-mem-worker`.
#[derive(Debug, Clone)]
struct Pm2Program {
    program: PathBuf,
    /// pm2's JS entry point, run by `program` (the daemon's own node).
    script: Option<PathBuf>,
}

impl Pm2Program {
    fn shown(&self) -> String {
        match &self.script {
            Some(s) => format!("{} {}", self.program.display(), s.display()),
            None => self.program.display().to_string(),
        }
    }

    /// What it runs, resolved: one pm2 is tried once.
    fn key(&self) -> PathBuf {
        let p = self.script.as_ref().unwrap_or(&self.program);
        fs::canonicalize(p).unwrap_or_else(|_| p.clone())
    }

    fn delete(&self, home: &Path, log: &Path) -> Ran {
        let (out, err) = match spawn::open_append(log).and_then(|f| Ok((f.try_clone()?, f))) {
            Ok((a, b)) => (Stdio::from(a), Stdio::from(b)),
            Err(_) => (Stdio::null(), Stdio::null()),
        };
        if let Ok(mut f) = spawn::open_append(log) {
            let _ = writeln!(
                f,
                "[{}] [INFO ] [SYSTEM] claude-mem-top: running `{} delete {APP}` with PM2_HOME={} (one-time PM2 cleanup)",
                platform::local_now().format("%Y-%m-%d %H:%M:%S%.3f"),
                self.shown(),
                home.display()
            );
        }
        let mut cmd = Command::new(&self.program);
        if let Some(s) = &self.script {
            cmd.arg(s);
        }
        let spawned = cmd
            .args(["delete", APP])
            .env("PM2_HOME", home)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn();
        let mut child = match spawned {
            Ok(c) => c,
            Err(e) => return Ran::FailedToRun(e.to_string()),
        };
        let limit = pm2_timeout();
        match platform::wait_child(&mut child, limit) {
            Some(st) => Ran::Exited(st.code()),
            None => {
                let _ = child.kill();
                let _ = child.wait();
                Ran::KilledAfterTimeout(limit)
            }
        }
    }
}

#[derive(Debug)]
enum Ran {
    Exited(Option<i32>),
    KilledAfterTimeout(Duration),
    FailedToRun(String),
}

impl Ran {
    fn describe(&self) -> String {
        match self {
            Ran::Exited(Some(0)) => format!("exited 0 but {APP} still runs"),
            Ran::Exited(Some(c)) => format!("exited {c}"),
            Ran::Exited(None) => "was killed by a signal".into(),
            Ran::KilledAfterTimeout(d) => {
                format!("hung and was killed after {}", fmt_duration(*d))
            }
            Ran::FailedToRun(e) => format!("could not run: {e}"),
        }
    }
}

/// `pm2` on PATH, or the program `CLAUDE_MEM_TOP_PM2` (hidden, for tests) names instead.
fn configured() -> Option<Pm2Program> {
    let found = match std::env::var_os("CLAUDE_MEM_TOP_PM2") {
        Some(p) => spawn::which(&p.to_string_lossy()),
        None => spawn::which("pm2"),
    };
    found.map(|program| Pm2Program {
        program,
        script: None,
    })
}

/// The pm2 a live daemon runs from. Its command line is its title (`PM2 v7.0.4: God Daemon
/// (…)`), so look where it shows: the `_` its launching shell left in its environment, the
/// command line of its fork-mode apps (`node …/pm2/lib/ProcessContainerFork.js`), and a global
/// npm install beside its node (`…/bin/node` → `…/lib/node_modules/pm2/bin/pm2`).
fn beside_daemon(daemon: i32, apps: &[i32]) -> Vec<Pm2Program> {
    let exe = platform::proc_info(daemon).and_then(|i| i.exe);
    let mut scripts: Vec<PathBuf> = Vec::new();
    for kv in platform::environ(daemon) {
        let kv = kv.to_string_lossy().into_owned();
        if let Some(v) = kv.strip_prefix("_=") {
            let p = PathBuf::from(v);
            if p.file_stem().is_some_and(|n| n.eq_ignore_ascii_case("pm2")) {
                scripts.push(p);
            }
        }
    }
    for app in apps {
        for arg in platform::proc_info(*app)
            .map(|i| i.cmdline)
            .unwrap_or_default()
        {
            let p = PathBuf::from(&arg);
            let is_container = p
                .file_name()
                .is_some_and(|n| n == "ProcessContainerFork.js" || n == "ProcessContainer.js");
            if let Some(root) = p.parent().and_then(Path::parent).filter(|_| is_container) {
                scripts.push(root.join("bin").join("pm2"));
            }
        }
    }
    if let Some(bin) = exe.as_deref().and_then(Path::parent) {
        let global = ["lib", "node_modules", "pm2", "bin", "pm2"];
        if let Some(prefix) = bin.parent() {
            scripts.push(global.iter().fold(prefix.to_path_buf(), |p, s| p.join(s)));
        }
        scripts.push(global[1..].iter().fold(bin.to_path_buf(), |p, s| p.join(s)));
    }
    let node = exe.filter(|e| {
        e.file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .is_some_and(|n| n.starts_with("node") || n.starts_with("bun"))
    });
    let mut out: Vec<Pm2Program> = Vec::new();
    for s in scripts {
        let Ok(meta) = fs::metadata(&s) else { continue };
        if !meta.is_file() {
            continue;
        }
        let prog = match &node {
            Some(n) if is_js(&s) => Pm2Program {
                program: n.clone(),
                script: Some(s),
            },
            _ if platform::is_executable(&meta) => Pm2Program {
                program: s,
                script: None,
            },
            _ => continue,
        };
        if !out.iter().any(|o| o.key() == prog.key()) {
            out.push(prog);
        }
    }
    out
}

/// A node script: a `.js` file or one whose `#!` line names node.
fn is_js(path: &Path) -> bool {
    if path.extension().is_some_and(|e| e == "js" || e == "cjs") {
        return true;
    }
    let mut head = [0u8; 128];
    let n = fs::File::open(path)
        .and_then(|mut f| std::io::Read::read(&mut f, &mut head))
        .unwrap_or(0);
    let head = String::from_utf8_lossy(&head[..n]);
    head.starts_with("#!") && head.lines().next().is_some_and(|l| l.contains("node"))
}
