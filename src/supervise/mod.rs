//! `claude-mem-top supervise`: a foreground restart policy for the worker, like supervisord's.
//!
//! It starts the worker through the core (`procman::control`), waits on it (its own child is
//! reaped by a waiter thread; a worker somebody else started is watched through a pidfd), probes
//! `/health`, and restarts the worker when it dies or stays unhealthy: exponential backoff from
//! 1 s doubling to 60 s, reset once the worker has been healthy for `--reset-after`. More than
//! `--max-restarts` restarts within `--window` is FATAL (exit status 1). A `stop` from the CLI or
//! the dashboard leaves a note (`procman::stopnote`) and is not a crash. Its state lives in
//! `.claude-mem-top.supervise.json`, a file of our own.
//!
//! This file holds the policy and the state file; `supervisor.rs` holds the run loop.

use std::path::Path;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::parse_duration;
use crate::platform::{self, StartToken};
use crate::procman::control::Opts;
use crate::procman::files;

mod supervisor;

pub use supervisor::run;

pub const STATE_FILE: &str = ".claude-mem-top.supervise.json";
pub const LOCK_FILE: &str = ".claude-mem-top.supervise.lock";
pub const SCHEMA_VERSION: u32 = 1;
/// The first backoff; it doubles up to [`BACKOFF_MAX`].
pub const BACKOFF_START: Duration = Duration::from_secs(1);
pub const BACKOFF_MAX: Duration = Duration::from_secs(60);
/// Hidden, for tests only: a shorter first backoff (e.g. `100ms`). The defaults never change.
const BACKOFF_ENV: &str = "CLAUDE_MEM_TOP_SUPERVISE_BACKOFF";

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Restart after a crash (non-zero exit, signal) or a long unhealthy spell; a clean exit
    /// (code 0) is left alone
    #[default]
    OnFailure,
    /// Restart after any exit that was not a `stop`
    Always,
    /// Never restart: exit when the worker does (1 if it failed)
    Never,
}

impl RestartPolicy {
    pub fn label(self) -> &'static str {
        match self {
            RestartPolicy::OnFailure => "on-failure",
            RestartPolicy::Always => "always",
            RestartPolicy::Never => "never",
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct SuperviseArgs {
    /// When to restart the worker
    #[arg(long, value_enum, default_value = "on-failure")]
    pub restart: RestartPolicy,
    /// Give up (FATAL, exit 1) when the worker needs more restarts than this within --window
    #[arg(long, default_value_t = 5, value_name = "N")]
    pub max_restarts: u32,
    /// The window --max-restarts counts in
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub window: Duration,
    /// Healthy this long resets the backoff to 1 s
    #[arg(long, default_value = "60s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub reset_after: Duration,
    /// Restart a worker whose GET /health has failed this long
    #[arg(long, default_value = "30s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub unhealthy_after: Duration,
    /// How often to probe GET /health
    #[arg(long, default_value = "2s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub health_interval: Duration,
    /// How long a start may wait for GET /health 200
    #[arg(long, default_value = "10s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub timeout: Duration,
    /// How long a stop waits after SIGTERM before SIGKILL
    #[arg(long, default_value = "5s", value_name = "DURATION", value_parser = crate::config::duration_arg)]
    pub grace: Duration,
    /// Restart the worker when its resident memory stays above SIZE (512K, 80M, 1.5G; 1024
    /// based) for --max-memory-samples health checks in a row (pm2's max_memory_restart)
    #[arg(long, value_name = "SIZE", value_parser = size_arg)]
    pub max_memory: Option<u64>,
    /// Whose memory --max-memory counts: the worker with its child processes (its helpers),
    /// or the worker process alone
    #[arg(long, value_enum, default_value = "family", requires = "max_memory")]
    pub max_memory_of: MemoryScope,
    /// How many samples in a row (one a --health-interval) must be above --max-memory
    #[arg(long, default_value_t = 2, value_name = "N", requires = "max_memory", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_memory_samples: u32,
}

/// Whose memory `--max-memory` counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryScope {
    /// The worker and its descendants (the helpers it spawned)
    #[default]
    Family,
    /// The worker process alone
    Worker,
}

impl MemoryScope {
    pub fn label(self) -> &'static str {
        match self {
            MemoryScope::Family => "worker and its child processes",
            MemoryScope::Worker => "worker process alone",
        }
    }
}

/// A size: bytes, or a number with K, M, G (1024 based; `MB`, `MiB`, `m` alike).
pub fn size_arg(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let bad = || format!("`{s}` is not a size (512K, 80M, 1.5G)");
    let lower = t.to_ascii_lowercase();
    let num_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    let (num, unit) = lower.split_at(num_end);
    let n: f64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    let v = n * mult as f64;
    if !v.is_finite() || v < 1.0 || v > u64::MAX as f64 / 2.0 {
        return Err(bad());
    }
    Ok(v as u64)
}

/// The parsed policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub restart: RestartPolicy,
    pub max_restarts: u32,
    pub window: Duration,
    pub reset_after: Duration,
    pub unhealthy_after: Duration,
    pub health_interval: Duration,
    pub backoff_start: Duration,
    pub opts: Opts,
    /// `--max-memory`: the limit, whose memory, how many samples above it in a row.
    pub max_memory: Option<(u64, MemoryScope, u32)>,
}

impl Policy {
    pub fn from_args(a: &SuperviseArgs) -> Policy {
        let backoff_start = std::env::var(BACKOFF_ENV)
            .ok()
            .and_then(|v| parse_duration(&v))
            .filter(|d| !d.is_zero())
            .unwrap_or(BACKOFF_START);
        Policy {
            restart: a.restart,
            max_restarts: a.max_restarts,
            window: a.window,
            reset_after: a.reset_after,
            unhealthy_after: a.unhealthy_after,
            health_interval: a.health_interval.max(Duration::from_millis(50)),
            backoff_start,
            max_memory: a
                .max_memory
                .map(|m| (m, a.max_memory_of, a.max_memory_samples.max(1))),
            opts: Opts {
                timeout: a.timeout,
                grace: a.grace,
                ..Opts::default()
            },
        }
    }

    /// The delay before restart number `n` (1-based) since the last reset: 1 s, 2 s, 4 s … 60 s.
    pub fn backoff(&self, n: u32) -> Duration {
        backoff(self.backoff_start, n)
    }
}

/// Where the supervisor is (the state file's `state`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stage {
    #[default]
    Starting,
    Running,
    /// Waiting out a restart delay.
    Backoff,
    /// The worker was stopped on purpose; the supervisor waits.
    Stopped,
    /// Too many restarts in the window: given up.
    Fatal,
    /// The supervisor has ended.
    Exited,
}

impl Stage {
    /// The supervisor is gone (or has given up).
    pub fn is_over(self) -> bool {
        matches!(self, Stage::Fatal | Stage::Exited)
    }
}

impl std::fmt::Display for Stage {
    /// Its name in `supervisor.json`: the variant's, in lowercase.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format!("{self:?}").to_ascii_lowercase())
    }
}

/// The delay before restart number `n` (1-based): `start`, doubling each time, at most
/// [`BACKOFF_MAX`] (or `start` when that is longer). The supervisor's and the dashboard's
/// auto-restart use the same curve.
pub fn backoff(start: Duration, n: u32) -> Duration {
    let factor = 2u32.saturating_pow(n.saturating_sub(1).min(16));
    start.saturating_mul(factor).min(BACKOFF_MAX.max(start))
}

/// A point in time a [`Budget`] counts from: `Instant` for the supervisor, the model's
/// `SystemTime` clock for the dashboard (so its tests can set the time).
pub trait Moment: Copy {
    fn since(self, earlier: Self) -> Duration;
}

impl Moment for std::time::Instant {
    fn since(self, earlier: Self) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl Moment for std::time::SystemTime {
    fn since(self, earlier: Self) -> Duration {
        self.duration_since(earlier).unwrap_or_default()
    }
}

/// The default restart limits: at most [`DEFAULT_MAX_RESTARTS`] restarts within
/// [`DEFAULT_WINDOW`] (supervise's `--max-restarts` / `--window` defaults, and the dashboard's).
pub const DEFAULT_MAX_RESTARTS: u32 = 5;
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(60);

/// What the restart policy says about one more failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Restart after `delay`; `nth` restarts within the window, this one included.
    Restart { delay: Duration, nth: u32 },
    /// `in_window` restarts within the window already: FATAL.
    GiveUp { in_window: u32 },
}

/// The one restart policy: the restarts of the last `window` (more than `max` is FATAL) and the
/// backoff streak (reset by a healthy stretch). `supervise` and the dashboard's auto-restart
/// both decide with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget<T> {
    restarts: std::collections::VecDeque<T>,
    streak: u32,
}

impl<T> Default for Budget<T> {
    fn default() -> Self {
        Budget {
            restarts: std::collections::VecDeque::new(),
            streak: 0,
        }
    }
}

impl<T: Moment> Budget<T> {
    /// One more failure at `now`: restart (with its backoff) or give up.
    pub fn failed(&mut self, now: T, max: u32, window: Duration, start: Duration) -> Verdict {
        while self
            .restarts
            .front()
            .is_some_and(|t| now.since(*t) > window)
        {
            self.restarts.pop_front();
        }
        let in_window = self.restarts.len() as u32;
        if in_window >= max {
            return Verdict::GiveUp { in_window };
        }
        self.restarts.push_back(now);
        self.streak = self.streak.saturating_add(1);
        Verdict::Restart {
            delay: backoff(start, self.streak),
            nth: in_window + 1,
        }
    }

    /// Healthy long enough: the next restart's backoff starts over.
    pub fn reset_streak(&mut self) {
        self.streak = 0;
    }

    pub fn streak(&self) -> u32 {
        self.streak
    }

    /// Restarts counted in the window (as of the last failure).
    pub fn in_window(&self) -> u32 {
        self.restarts.len() as u32
    }
}

/// What `supervise` writes for the dashboard, `metrics` and the user.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SuperviseState {
    pub schema_version: u32,
    pub supervisor_pid: u32,
    /// The supervisor's start token, so a reused PID is never taken for it.
    pub supervisor_start_token: Option<StartToken>,
    pub state: Stage,
    pub policy: RestartPolicy,
    pub max_restarts: u32,
    pub window_seconds: f64,
    /// Restarts since this supervisor started.
    pub restarts_total: u64,
    pub failures_in_window: u32,
    pub backoff_seconds: Option<f64>,
    pub next_restart_at: Option<String>,
    pub worker_pid: Option<i32>,
    pub last_reason: Option<String>,
    pub started_at: String,
    pub updated_at: String,
}

impl SuperviseState {
    /// True while the supervisor that wrote this still runs.
    pub fn supervisor_alive(&self) -> bool {
        let Ok(pid) = i32::try_from(self.supervisor_pid) else {
            return false;
        };
        !self.state.is_over()
            && platform::start_token(pid)
                .is_some_and(|s| self.supervisor_start_token.is_none_or(|t| t == s))
    }
}

/// The state file, if present and valid.
pub fn read_state(dir: &Path) -> Option<SuperviseState> {
    let f = files::read_small(&dir.join(STATE_FILE)).ok()??;
    serde_json::from_str(&f.text).ok()
}
#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            restart: RestartPolicy::OnFailure,
            max_restarts: 5,
            window: Duration::from_secs(60),
            reset_after: Duration::from_secs(60),
            unhealthy_after: Duration::from_secs(30),
            health_interval: Duration::from_secs(2),
            backoff_start: BACKOFF_START,
            opts: Opts::default(),
            max_memory: None,
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(size_arg("80M"), Ok(80 << 20));
        assert_eq!(size_arg("80mb"), Ok(80 << 20));
        assert_eq!(size_arg("1.5G"), Ok(3 << 29));
        assert_eq!(size_arg("512K"), Ok(512 << 10));
        assert_eq!(size_arg("4096"), Ok(4096));
        for bad in ["", "M", "-1M", "0", "12X", "1e400G", "nanM"] {
            assert!(size_arg(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_budget_gives_up_after_max_restarts_within_the_window() {
        let t0 = std::time::SystemTime::UNIX_EPOCH;
        let s = Duration::from_secs;
        let mut b = Budget::default();
        let mut delays = Vec::new();
        for i in 0..5 {
            match b.failed(t0 + s(i), 5, s(60), s(1)) {
                Verdict::Restart { delay, nth } => {
                    assert_eq!(nth, i as u32 + 1);
                    delays.push(delay.as_secs());
                }
                v => panic!("restart {i}: {v:?}"),
            }
        }
        assert_eq!(delays, [1, 2, 4, 8, 16]);
        assert_eq!(
            b.failed(t0 + s(6), 5, s(60), s(1)),
            Verdict::GiveUp { in_window: 5 }
        );
        // Past the window the old restarts no longer count; a reset streak starts at 1 s.
        b.reset_streak();
        assert_eq!(
            b.failed(t0 + s(200), 5, s(60), s(1)),
            Verdict::Restart {
                delay: s(1),
                nth: 1
            }
        );
    }

    #[test]
    fn backoff_doubles_to_a_minute() {
        let p = policy();
        let got: Vec<u64> = (1..=9).map(|n| p.backoff(n).as_secs()).collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.backoff(u32::MAX).as_secs(), 60);
    }

    #[test]
    fn state_round_trips() {
        let s = SuperviseState {
            schema_version: 1,
            supervisor_pid: 7,
            state: Stage::Backoff,
            restarts_total: 3,
            ..SuperviseState::default()
        };
        let text = serde_json::to_string(&s).expect("serializes");
        let back: SuperviseState = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, s);
    }
}
