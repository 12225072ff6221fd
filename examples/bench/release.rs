//! Rows 1, 5 and 11 against a real claude-mem release, where one is installed: `CMT_BENCH_RELEASE=DIR`
//! names an npm install of `claude-mem` (`DIR/node_modules/claude-mem`, or the package dir
//! itself), and bun comes from `CMT_BENCH_BUN`, `PATH` or the install's `@oven/bun-*` package.
//!
//! The release's worker runs as this process's child, in a temporary HOME and data dir on a
//! free port: the user's `~/.claude-mem` and port are never touched. It is ended through our
//! `stop` (which proves it first) and, failing that, killed as the child it is.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use claude_mem_top::procman::health;

use crate::sandbox::free_port;
use crate::R;

pub struct Release {
    pub bun: PathBuf,
    pub script: PathBuf,
    pub version: String,
}

/// The release to compare with, or why there is none (said in the bench's notes).
pub fn find() -> Result<Release, String> {
    let Some(dir) = std::env::var_os("CMT_BENCH_RELEASE").map(PathBuf::from) else {
        return Err("CMT_BENCH_RELEASE is not set (an npm install of claude-mem, with bun)".into());
    };
    let package = [dir.join("node_modules/claude-mem"), dir.clone()]
        .into_iter()
        .find(|d| d.join("plugin/scripts/worker-service.cjs").is_file())
        .ok_or_else(|| {
            format!(
                "{}: no plugin/scripts/worker-service.cjs (npm install claude-mem there)",
                dir.display()
            )
        })?;
    let version = fs::read_to_string(package.join("package.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["version"].as_str().map(str::to_string))
        .unwrap_or_else(|| "?".into());
    let bundled = fs::read_dir(dir.join("node_modules/@oven"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin/bun"))
        .find(|p| p.is_file());
    let bun = std::env::var_os("CMT_BENCH_BUN")
        .map(PathBuf::from)
        .or_else(|| crate::probe::which("bun"))
        .or(bundled)
        .ok_or("no bun: put it on PATH or set CMT_BENCH_BUN")?;
    Ok(Release {
        bun,
        script: package.join("plugin/scripts/worker-service.cjs"),
        version,
    })
}

/// A temporary HOME (with its `.claude-mem`) and a free port.
pub struct Sandbox {
    pub port: u16,
    root: tempfile::TempDir,
    bun_dir: Option<PathBuf>,
}

impl Sandbox {
    pub fn home(&self) -> PathBuf {
        self.root.path().join("home")
    }

    pub fn data(&self) -> PathBuf {
        self.home().join(".claude-mem")
    }

    /// `program args…` with this HOME, data dir and port (and bun on PATH).
    pub fn cmd(&self, program: &Path, args: &[&str]) -> Command {
        let mut c = Command::new(program);
        let path = std::env::var_os("PATH").unwrap_or_default();
        let mut dirs: Vec<PathBuf> = self.bun_dir.iter().cloned().collect();
        dirs.extend(std::env::split_paths(&path));
        c.args(args)
            .env("HOME", self.home())
            .env("CLAUDE_MEM_DATA_DIR", self.data())
            .env("CLAUDE_MEM_WORKER_PORT", self.port.to_string())
            .env("PATH", std::env::join_paths(dirs).unwrap_or(path))
            .stdin(Stdio::null());
        c
    }
}

/// A release's worker, our child, in its own sandbox.
pub struct Running {
    pub release: Release,
    pub sandbox: Sandbox,
    child: Child,
}

impl Running {
    /// The process we spawned (`bun worker-service.cjs --daemon`).
    #[cfg(unix)] // row 5 only
    pub fn child_pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The release's own `status`.
    pub fn own_status(&self) -> Command {
        let script = self.release.script.to_string_lossy().into_owned();
        self.sandbox.cmd(&self.release.bun, &[&script, "status"])
    }
}

/// Start the release's worker and wait (30 s at most) until `/health` says 200.
pub fn start(release: Release) -> R<Running> {
    let root = tempfile::Builder::new()
        .prefix("claude-mem-top-bench-release.")
        .tempdir()
        .map_err(|e| format!("tempdir: {e}"))?;
    fs::create_dir_all(root.path().join("home/.claude-mem")).map_err(|e| format!("mkdir: {e}"))?;
    let log = fs::File::create(root.path().join("worker.out")).map_err(|e| format!("log: {e}"))?;
    let err = log.try_clone().map_err(|e| format!("log: {e}"))?;
    let sandbox = Sandbox {
        port: free_port()?,
        root,
        bun_dir: release.bun.parent().map(Path::to_path_buf),
    };
    let script = release.script.to_string_lossy().into_owned();
    let mut c = sandbox.cmd(&release.bun, &[&script, "--daemon"]);
    c.stdout(log).stderr(err);
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        c.process_group(0);
    }
    let child = c
        .spawn()
        .map_err(|e| format!("{}: {e}", release.bun.display()))?;
    crate::sandbox::track_release(child.id());
    let mut run = Running {
        release,
        sandbox,
        child,
    };
    let t0 = Instant::now();
    loop {
        let p = health::get(
            health::loopback(),
            run.sandbox.port,
            "/health",
            Duration::from_millis(500),
        );
        if p.healthy() {
            return Ok(run);
        }
        if let Ok(Some(st)) = run.child.try_wait() {
            crate::sandbox::untrack_release(run.child.id());
            return Err(format!(
                "the release's worker exited ({st}) before /health answered"
            ));
        }
        if t0.elapsed() > Duration::from_secs(30) {
            stop(run, None);
            return Err("the release's worker did not answer /health within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// End the worker: our `stop` (it proves the process first), else a kill of our own child.
pub fn stop(mut run: Running, bin: Option<&Path>) {
    let pid = run.child.id();
    reap(&mut run, bin);
    crate::sandbox::untrack_release(pid);
}

fn reap(run: &mut Running, bin: Option<&Path>) {
    if let Some(bin) = bin {
        let _ = run
            .sandbox
            .cmd(bin, &["stop", "--grace", "5s"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(5) {
        if !matches!(run.child.try_wait(), Ok(None)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = run.child.kill();
    let _ = run.child.wait();
}

/// The release to measure rows `ids` against, or `None` with a note (and a line on stderr)
/// saying why those rows are missing.
pub fn find_or_note(ids: &str, notes: &mut Vec<String>) -> Option<Release> {
    match find() {
        Ok(r) => Some(r),
        Err(why) => {
            let line = format!("{ids}: no rows against a real claude-mem release: {why}");
            eprintln!("bench: {line}");
            notes.push(line);
            None
        }
    }
}

/// Start the release's worker, run `f` against it, and stop it whatever `f` returned.
pub fn with_worker<T>(release: Release, bin: &Path, f: impl FnOnce(&Running) -> R<T>) -> R<T> {
    let run = start(release)?;
    let result = f(&run);
    stop(run, Some(bin));
    result
}
