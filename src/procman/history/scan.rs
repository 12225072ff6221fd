//! Finding the lines that tell a run's story in a block of log text (pure: bytes in, events out).
//!
//! The block is searched for a few fixed messages rather than split into lines (a day of a busy
//! log is hundreds of megabytes); only the lines that match are decoded. A match counts only on
//! a formatted line (`[stamp] [LEVEL] [COMPONENT] message`): continuation lines and the output of
//! other programs never start or end a run.

use chrono::NaiveDateTime;
use memchr::memmem;

use crate::procman::pipeline::{line_time, MISMATCH_LINE, START_LINE};

/// Where a line is: the index of its log (in the history's file list) and its byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub file: usize,
    pub at: u64,
}

/// What a line says about the worker's runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// A worker began listening (`HTTP server started {…, pid=N}`; 13.x also logs
    /// `Worker started {…, pid=N}` for the same process).
    Start { pid: i32 },
    /// `Worker shutdown complete`: the worker's own clean exit.
    Shutdown,
    /// `Received SIGTERM, shutting down...`: why the worker shut down.
    Signal(String),
    /// A hook killed the running worker for reporting another version than the plugin's.
    Mismatch {
        worker: Option<String>,
        plugin: Option<String>,
    },
    /// claude-mem's CLI or a hook launching the worker (`Starting worker daemon
    /// {workerScriptPath=…}`): the next run's version from the script's path.
    Launch { version: Option<String> },
    /// `supervise` said why it restarts or stops the worker `pid` (a WARN or ERROR line).
    Supervisor { pid: i32, reason: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub t: NaiveDateTime,
    pub kind: Kind,
    pub pos: Pos,
}

/// The messages searched for, and which [`Kind`] each makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needle {
    Start,
    WorkerStarted,
    Shutdown,
    Signal,
    Mismatch,
    Launch,
    Supervisor,
}

impl Needle {
    const ALL: [Needle; 7] = [
        Needle::Start,
        Needle::WorkerStarted,
        Needle::Shutdown,
        Needle::Signal,
        Needle::Mismatch,
        Needle::Launch,
        Needle::Supervisor,
    ];

    fn text(self) -> &'static str {
        match self {
            Needle::Start => START_LINE,
            Needle::WorkerStarted => "Worker started {",
            Needle::Shutdown => SHUTDOWN_LINE,
            Needle::Signal => "] Received SIG",
            Needle::Mismatch => MISMATCH_LINE,
            Needle::Launch => LAUNCH_LINE,
            Needle::Supervisor => "] [SUPERVISOR] ",
        }
    }
}

/// The message of a worker's clean exit (13.x and the stand-in).
pub const SHUTDOWN_LINE: &str = "Worker shutdown complete";
/// The message claude-mem's launcher logs before it spawns the worker.
pub const LAUNCH_LINE: &str = "Starting worker daemon";

/// Every event in `text` (whole lines; `base` is the file offset of its first byte), in file
/// order, appended to `out`.
pub fn scan(text: &[u8], file: usize, base: u64, out: &mut Vec<Event>) {
    let first = out.len();
    for needle in Needle::ALL {
        for at in memmem::find_iter(text, needle.text()) {
            let start = memchr::memrchr(b'\n', &text[..at]).map_or(0, |p| p + 1);
            let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |p| at + p);
            // Decoded only when it matched; long lines are cut (the fields come early).
            let raw = &text[start..end.min(start + 4096)];
            let line = String::from_utf8_lossy(raw);
            let Some(t) = line_time(&line) else { continue };
            let Some(kind) = kind_of(needle, &line) else {
                continue;
            };
            out.push(Event {
                t,
                kind,
                pos: Pos {
                    file,
                    at: base + start as u64,
                },
            });
        }
    }
    out[first..].sort_by_key(|e| e.pos);
}

fn kind_of(needle: Needle, line: &str) -> Option<Kind> {
    let msg = message(line)?;
    match needle {
        Needle::Start | Needle::WorkerStarted => {
            let head = needle.text().trim_end_matches(" {");
            msg.starts_with(head)
                .then(|| field(msg, "pid")?.parse().ok().filter(|p: &i32| *p > 0))
                .flatten()
                .map(|pid| Kind::Start { pid })
        }
        Needle::Shutdown => msg.starts_with(SHUTDOWN_LINE).then_some(Kind::Shutdown),
        Needle::Signal => {
            let rest = msg.strip_prefix("Received ")?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            (name.starts_with("SIG") && rest.contains("shutting down"))
                .then_some(Kind::Signal(name))
        }
        Needle::Mismatch => msg.starts_with(MISMATCH_LINE).then(|| Kind::Mismatch {
            worker: field(msg, "workerVersion").map(str::to_string),
            plugin: field(msg, "pluginVersion").map(str::to_string),
        }),
        Needle::Launch => msg.starts_with(LAUNCH_LINE).then(|| Kind::Launch {
            version: field(msg, "workerScriptPath")
                .and_then(|p| crate::procman::census::version_from_path(&[p.to_string()])),
        }),
        Needle::Supervisor => {
            let level = crate::logs::line_level(line)?;
            if level < crate::logs::Level::Warn {
                return None;
            }
            let pid = field(msg, "pid")?.parse().ok()?;
            let reason = msg
                .split([';', '{'])
                .next()
                .unwrap_or(msg)
                .trim()
                .trim_start_matches("FATAL: ");
            Some(Kind::Supervisor {
                pid,
                reason: super::cap(reason, 200),
            })
        }
    }
}

/// The message of a formatted line: after `[stamp] [LEVEL] [COMPONENT] ` and an optional
/// `[session-N] `.
pub fn message(line: &str) -> Option<&str> {
    let mut rest = line;
    for _ in 0..3 {
        rest = rest.strip_prefix('[')?;
        let close = rest.find(']')?;
        rest = rest[close + 1..]
            .strip_prefix(' ')
            .unwrap_or(&rest[close + 1..]);
    }
    if rest.starts_with("[session-") {
        if let Some(close) = rest.find(']') {
            rest = rest[close + 1..].trim_start();
        }
    }
    Some(rest)
}

/// `key=value` in the `{…}` of a message (the value ends at `,` or `}`).
pub fn field<'a>(msg: &'a str, key: &str) -> Option<&'a str> {
    let open = msg.rfind('{')?;
    let body = &msg[open + 1..];
    body.trim_end_matches('}')
        .split(", ")
        .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.trim_end_matches('}').trim())
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        let mut out = Vec::new();
        scan(text.as_bytes(), 0, 0, &mut out);
        out.into_iter().map(|e| e.kind).collect()
    }

    #[test]
    fn the_real_13x_lines() {
        let text = "\
[2026-12-07 21:22:58.578] [INFO ] [SYSTEM] Starting worker daemon {workerScriptPath=/h/.claude/plugins/cache/thedotmack/claude-mem/13.25.3/scripts/worker-service.cjs}
[2026-12-07 21:22:59.146] [INFO ] [SYSTEM] HTTP server started {host=127.0.0.1, port=38411, pid=19832}
[2026-12-07 21:22:59.149] [INFO ] [SYSTEM] Worker started {host=127.0.0.1, port=38411, pid=19832}
[2026-12-07 21:22:59.590] [INFO ] [SYSTEM] Worker started successfully
[2026-12-07 21:23:03.357] [INFO ] [SYSTEM] Received SIGTERM, shutting down...
[2026-12-07 21:23:03.378] [INFO ] [SYSTEM] Worker shutdown complete
[2026-12-07 21:24:00.000] [INFO ] [SYSTEM] Worker version mismatch \u{2014} killing stale worker {pluginVersion=13.25.3, workerVersion=13.25.2}
[2026-12-07 21:25:00.000] [WARN ] [SUPERVISOR] worker exited with code 1; restart 1/5 in 1s {pid=77, delay_ms=1000, restarts_total=1}
[2026-12-07 21:25:01.000] [INFO ] [SUPERVISOR] watching the worker that already runs {pid=78, port=1}
continuation: HTTP server started {pid=5}
";
        assert_eq!(
            kinds(text),
            vec![
                Kind::Launch {
                    version: Some("13.25.3".into())
                },
                Kind::Start { pid: 19832 },
                Kind::Start { pid: 19832 },
                Kind::Signal("SIGTERM".into()),
                Kind::Shutdown,
                Kind::Mismatch {
                    worker: Some("13.25.2".into()),
                    plugin: Some("13.25.3".into())
                },
                Kind::Supervisor {
                    pid: 77,
                    reason: "worker exited with code 1".into()
                },
            ]
        );
    }

    #[test]
    fn offsets_point_at_line_starts() {
        let text = "x\n[2026-12-07 21:23:03.378] [INFO ] [SHUTDOWN] Worker shutdown complete\n";
        let mut out = Vec::new();
        scan(text.as_bytes(), 3, 100, &mut out);
        assert_eq!(out[0].pos, Pos { file: 3, at: 102 });
    }
}
