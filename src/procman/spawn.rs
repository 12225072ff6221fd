//! Detached spawn: a new session, stdin from /dev/null, stdout and stderr appended to the log.

use std::fs::{self, File, OpenOptions};
use std::os::unix::process::CommandExt;
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

/// Find a program on PATH (or check it directly if it has a slash).
pub fn which(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let p = PathBuf::from(program);
        return is_executable(&p).then_some(p);
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Spawn the worker detached. The child leads a new session and process group, so the whole
/// group can be signalled and it survives our terminal closing.
pub fn spawn_worker(cfg: &Config, cmd: &WorkerCmd, log: &Path) -> std::io::Result<Child> {
    let out = open_append(log)?;
    let err = out.try_clone()?;
    let mut c = Command::new(&cmd.argv[0]);
    c.args(&cmd.argv[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::from(out))
        .stderr(Stdio::from(err))
        .env("CLAUDE_MEM_WORKER_PORT", cfg.port.to_string())
        .env("CLAUDE_MEM_DATA_DIR", &cfg.data_dir);
    if let Some(cwd) = &cmd.cwd {
        if cwd.is_dir() {
            c.current_dir(cwd);
        }
    }
    // SAFETY: setsid is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        c.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
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
