//! The process-manager core: UI-free, typed errors, no terminal code.
//!
//! `status` reads the three layers (PID file → process → `GET /health`); `start`, `stop`,
//! `restart` and `ensure` act on them under the data dir's lock. Nothing here signals a PID whose
//! identity has not been proven (see [`identity`]).

pub mod activity;
pub(crate) mod adopt;
pub(crate) mod api;
pub mod census;
pub(crate) mod control;
pub mod db;
pub mod files;
pub mod health;
pub mod history;
pub(crate) mod http;
pub mod identity;
pub(crate) mod lock;
pub(crate) mod migrate;
pub(crate) mod ownership;
pub mod pipeline;
pub(crate) mod pm2;
pub mod queue;
pub mod search;
pub mod settings;
pub(crate) mod spawn;
pub mod status;
pub(crate) mod stopnote;
pub mod stream;

use std::path::PathBuf;

/// Everything the core can fail with. Each variant knows its exit code.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("Bun is required but not found in PATH")]
    BunMissing,
    #[error("Worker script not found at {0}")]
    ScriptMissing(PathBuf),
    #[error("Worker program not found: {0} (check --worker-cmd / CLAUDE_MEM_TOP_WORKER_CMD)")]
    ProgramMissing(String),
    #[error("Worker is running but unhealthy (PID {pid}): {reason}")]
    Unhealthy { pid: i32, reason: String },
    #[error("Port {port} is already in use by {holder}: stop it or choose another port")]
    PortInUse { port: u16, holder: String },
    #[error("Process died during startup ({status}){tail}")]
    DiedDuringStartup { status: String, tail: String },
    #[error("Health check timed out after {after}{tail}")]
    HealthTimeout { after: String, tail: String },
    #[error("state unknown: {0}")]
    Unknown(String),
    /// `target`: `PID 4242`, or the port's listener when its PID is not visible.
    #[error("refusing to signal {target}: {reason}")]
    Refused { target: String, reason: String },
    #[error("not adopting: {0}")]
    AdoptRefused(String),
    #[error("not starting: {0}")]
    StartRefused(String),
    #[error("Worker (PID {pid}) did not exit after SIGKILL")]
    WouldNotDie { pid: i32 },
    #[error(transparent)]
    Lock(#[from] lock::LockError),
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    /// Exit codes (docs/usage.md): 1 failure · 4 state unknown · 5 worker program missing (a bad config,
    /// 2, is a `ConfigError` and never reaches the core).
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::BunMissing | Error::ScriptMissing(_) | Error::ProgramMissing(_) => 5,
            Error::Unknown(_) => 4,
            _ => 1,
        }
    }

    pub fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            what,
            path: path.into(),
            source,
        }
    }
}
