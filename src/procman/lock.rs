//! The data dir's start/stop lock: an exclusive lock (`flock`, `LockFileEx`) on a file of our own. The kernel drops it
//! if we die, so a crash never leaves the data dir locked.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::files::LOCK_FILE;
use crate::platform;

#[derive(Debug)]
pub struct Lock {
    _file: File,
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    #[error("cannot open the lock file {path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "another claude-mem-top holds {path} (waited {waited_ms} ms): try again when it finishes"
    )]
    Timeout { path: PathBuf, waited_ms: u128 },
}

impl Lock {
    /// Take the start/stop lock, waiting at most `wait`. Retries with a short backoff (1 ms
    /// doubling to 25 ms) so the waiter wakes soon after the holder releases it.
    pub fn acquire(data_dir: &Path, wait: Duration) -> Result<Lock, LockError> {
        Self::acquire_file(data_dir, LOCK_FILE, wait)
    }

    /// Take an exclusive lock on `name`, a lock file of ours in `data_dir` (created if missing,
    /// never through a symlink), waiting at most `wait`; `Duration::ZERO` tries exactly once.
    /// A holder's lock is [`LockError::Timeout`]; any other failure is [`LockError::Open`].
    pub fn acquire_file(data_dir: &Path, name: &str, wait: Duration) -> Result<Lock, LockError> {
        let path = data_dir.join(name);
        let file = platform::open_lock_file(&path).map_err(|source| LockError::Open {
            path: path.clone(),
            source,
        })?;
        let t0 = Instant::now();
        let mut backoff = Duration::from_millis(1);
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Lock { _file: file }),
                Err(TryLockError::WouldBlock) => {}
                Err(TryLockError::Error(e)) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(TryLockError::Error(source)) => return Err(LockError::Open { path, source }),
            }
            if t0.elapsed() >= wait {
                return Err(LockError::Timeout {
                    path,
                    waited_ms: t0.elapsed().as_millis(),
                });
            }
            std::thread::sleep(backoff.min(wait.saturating_sub(t0.elapsed())));
            backoff = (backoff * 2).min(Duration::from_millis(25));
        }
    }
}
