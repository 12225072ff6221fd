//! Detached spawn: a new session (a new process group on Windows), stdin from the null device, stdout and stderr appended to the log.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::config::{Config, WorkerCmd};

/// `logs/worker-YYYY-MM-DD.log` for the current UTC date.
pub fn dated_log(logs_dir: &Path, prefix: &str) -> PathBuf {
    logs_dir.join(format!(
        "{prefix}-{}.log",
        chrono::Utc::now().format("%Y-%m-%d")
    ))
}

pub fn open_append(path: &Path) -> std::io::Result<File> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir)?;
    }
    OpenOptions::new().create(true).append(true).open(path)
}

/// Find a program on PATH (or check it directly if it is a path), with the OS's rules
/// (`PATHEXT` on Windows).
pub fn which(program: &str) -> Option<PathBuf> {
    if Path::new(program).components().count() > 1 {
        let p = PathBuf::from(program);
        return fs::metadata(&p)
            .is_ok_and(|m| crate::platform::is_executable(&m))
            .then_some(p);
    }
    which::which(program).ok()
}

/// Find the worker's program as claude-mem's own runner does: PATH first; for `bun`, then the bun
/// installer's `~/.bun/bin` and the usual install places of the OS (a systemd unit or a GUI
/// launch has a bare PATH).
pub fn find_program(program: &str, home: Option<&Path>) -> Option<PathBuf> {
    if let Some(p) = which(program) {
        return Some(p);
    }
    if program != "bun" {
        return None;
    }
    let exe = format!("bun{}", std::env::consts::EXE_SUFFIX);
    let mut places: Vec<PathBuf> = Vec::new();
    if let Some(h) = home {
        places.push(h.join(".bun").join("bin"));
    }
    if let Some(i) = std::env::var_os("BUN_INSTALL").filter(|v| !v.is_empty()) {
        places.push(PathBuf::from(i).join("bin"));
    }
    places.extend(crate::platform::program_dirs());
    places
        .into_iter()
        .map(|d| d.join(&exe))
        .find(|p| fs::metadata(p).is_ok_and(|m| crate::platform::is_executable(&m)))
}

/// Spawn the worker detached. The child leads a new session and process group, so the whole
/// group can be signalled and it survives our terminal closing.
pub fn spawn_worker(cfg: &Config, cmd: &WorkerCmd, log: &Path) -> std::io::Result<Child> {
    let out = open_append(log)?;
    let err = out.try_clone()?;
    let program = find_program(&cmd.argv[0], cfg.home.as_deref())
        .unwrap_or_else(|| PathBuf::from(&cmd.argv[0]));
    let mut c = Command::new(program);
    c.args(&cmd.argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .env("CLAUDE_MEM_WORKER_PORT", cfg.port.to_string());
    // A data dir named by --data-dir or the environment is passed on. One that claude-mem
    // resolves itself (the default, or moved by `~/.claude-mem/settings.json`) is not: the
    // variable would also move where its worker reads its settings from.
    if matches!(
        cfg.data_dir_source,
        crate::config::DataDirSource::Flag | crate::config::DataDirSource::Env
    ) {
        c.env("CLAUDE_MEM_DATA_DIR", &cfg.data_dir);
    }
    if let Some(cwd) = &cmd.cwd {
        if cwd.is_dir() {
            c.current_dir(cwd);
        }
    }
    crate::platform::detach(&mut c);
    c.spawn()
}

/// Reap a child we spawned in a background thread, so a long-lived process of ours never leaves
/// a zombie behind.
pub fn reap_in_background(mut child: Child) {
    let _ = std::thread::Builder::new()
        .name("reaper".into())
        .spawn(move || {
            let _ = child.wait();
        });
}
