//! `claude-mem-top demo`: a temporary data dir with a demo database, the built-in stand-in worker
//! started through the core, and the dashboard on it. Every exit path stops the worker and
//! removes the directory (unless `--keep`).

use std::path::PathBuf;
use std::time::Duration;

use crate::app::{self, Options};
use crate::config::{Config, PortSource, WorkerCmd};
use crate::procman::control::{self, Opts, StartOutcome};
use crate::procman::spawn;

/// Stops the demo's worker and removes its directory when dropped (also while unwinding).
struct DemoGuard {
    cfg: Config,
    keep: bool,
}

impl Drop for DemoGuard {
    fn drop(&mut self) {
        let opts = Opts {
            grace: Duration::from_secs(2),
            ..Opts::default()
        };
        let _ = control::stop(&self.cfg, opts);
        if self.keep {
            // The terminal may be gone (SIGHUP): never panic on a failed write here.
            use std::io::Write;
            let _ = writeln!(
                std::io::stderr(),
                "demo data kept in {}",
                self.cfg.data_dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.cfg.data_dir);
        }
    }
}

fn free_port() -> std::io::Result<u16> {
    let l = std::net::TcpListener::bind(("127.0.0.1", 0))?;
    Ok(l.local_addr()?.port())
}

fn temp_dir() -> std::io::Result<PathBuf> {
    let base = std::env::temp_dir();
    for i in 0..100u32 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .subsec_nanos();
        let p = base.join(format!(
            "claude-mem-top-demo-{}-{nanos:x}-{i}",
            std::process::id()
        ));
        match std::fs::create_dir(&p) {
            Ok(()) => return Ok(p),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(std::io::Error::other("cannot create a temporary directory"))
}

/// Why the demo could not run.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The dashboard itself (not a terminal, a terminal error).
    #[error(transparent)]
    Run(#[from] app::RunError),
    /// Making the demo's data dir, port, database or worker.
    #[error("{what}: {why}")]
    Setup { what: &'static str, why: String },
}

impl DemoError {
    /// 2 when there is no terminal to draw on (a usage error), else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            DemoError::Run(app::RunError::NotATerminal | app::RunError::DumbTerminal) => 2,
            _ => 1,
        }
    }
}

fn setup<E: std::fmt::Display>(what: &'static str) -> impl FnOnce(E) -> DemoError {
    move |e| DemoError::Setup {
        what,
        why: e.to_string(),
    }
}

pub fn run(keep: bool, mut opts: Options) -> Result<u8, DemoError> {
    app::usable_terminal()?;
    let exe = std::env::current_exe().map_err(setup("cannot find our own binary"))?;
    let dir = temp_dir().map_err(setup("cannot create a temporary directory"))?;
    let port = free_port().map_err(setup("cannot find a free port"))?;
    let cfg = Config {
        data_dir: dir.clone(),
        data_dir_source: crate::config::DataDirSource::Flag,
        settings_file: dir.join("settings.json"),
        port,
        port_source: PortSource::Flag,
        worker: WorkerCmd {
            argv: vec![
                exe.to_string_lossy().into_owned(),
                "stand-in-worker".into(),
                "--log-rate".into(),
                "4".into(),
                "--spawn-helpers".into(),
            ],
            cwd: None,
            script: None,
        },
        home: None,
        host: crate::procman::health::loopback(),
    };
    let guard = DemoGuard {
        cfg: cfg.clone(),
        keep,
    };
    crate::procman::db::create_demo(&dir.join("claude-mem.db"))
        .map_err(setup("cannot create the demo database"))?;
    // The demo must never run the PM2 cleanup against the user's real pm2: mark it done.
    crate::procman::files::write_atomic(
        &dir.join(crate::procman::files::MARKER_FILE),
        crate::procman::files::iso_now().as_bytes(),
    )
    .map_err(setup("cannot write the demo marker"))?;
    match control::start(&cfg, Opts::default()).map_err(setup("cannot start the demo worker"))? {
        StartOutcome::Started { child, .. } => spawn::reap_in_background(child),
        StartOutcome::AlreadyRunning { .. } => {}
    }
    opts.demo = true;
    let r = app::run(&cfg, opts).map_err(DemoError::from);
    drop(guard);
    r
}
