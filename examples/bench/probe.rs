//! Process readings (through the crate's platform layer), the worker's log files, and small
//! timing helpers.

use std::fs::{self, File};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::R;

// ---------------------------------------------------------------------------------------------
// Process readings: CPU, threads, wake-ups, RSS. Only the dashboard rows (5–8) read them, and
// those need a pseudo-terminal, so they are compiled on Unix only (see bench.rs).
// ---------------------------------------------------------------------------------------------

#[cfg(unix)]
use claude_mem_top::platform;

#[cfg(unix)]
fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// CPU time of `pid` in nanoseconds: the sum over its threads where the platform layer has
/// per-thread figures (schedstat's ns on Linux), else the process's user + system time. `None`
/// once it has exited.
#[cfg(unix)]
pub fn cpu_ns(pid: i32) -> Option<u64> {
    let threads = platform::threads(pid);
    if threads.is_empty() {
        return platform::proc_info(pid)
            .filter(|p| !p.zombie)
            .map(|p| nanos(p.cpu));
    }
    Some(threads.iter().map(|t| nanos(t.cpu)).sum())
}

#[cfg(unix)]
pub type ThreadCpu = std::collections::HashMap<u64, (String, u64)>;

/// CPU nanoseconds per thread, keyed by thread id, with the thread's name (empty where the
/// platform layer has no per-thread figures).
#[cfg(unix)]
pub fn thread_cpu(pid: i32) -> ThreadCpu {
    platform::threads(pid)
        .into_iter()
        .map(|t| (t.tid, (t.name, nanos(t.cpu))))
        .collect()
}

/// "main 0.20 %, health 0.10 %, …": where the CPU went between two snapshots, by thread name;
/// "n/a" without per-thread figures.
#[cfg(unix)]
pub fn by_thread(a: &ThreadCpu, b: &ThreadCpu, wall_ns: f64) -> String {
    if b.is_empty() {
        return "n/a (no per-thread CPU on this OS)".into();
    }
    let mut sums: Vec<(String, u64)> = Vec::new();
    for (tid, (name, ns)) in b {
        let before = a.get(tid).map_or(0, |x| x.1);
        let d = ns.saturating_sub(before);
        match sums.iter_mut().find(|(n, _)| n == name) {
            Some(e) => e.1 += d,
            None => sums.push((name.clone(), d)),
        }
    }
    sums.sort_by_key(|x| std::cmp::Reverse(x.1));
    sums.iter()
        .filter(|(_, d)| *d > 0)
        .take(6)
        .map(|(n, d)| format!("{n} {:.3} %", *d as f64 / wall_ns * 100.0))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Context switches (voluntary + involuntary) of all threads: how often the process woke.
/// `None` where the OS does not count them per thread.
#[cfg(unix)]
pub fn wakeups(pid: i32) -> Option<u64> {
    let counts: Vec<u64> = platform::threads(pid)
        .iter()
        .filter_map(|t| t.wakeups)
        .collect();
    (!counts.is_empty()).then(|| counts.iter().sum())
}

/// Resident set size in bytes.
#[cfg(unix)]
pub fn rss(pid: i32) -> Option<u64> {
    platform::proc_info(pid).map(|p| p.rss_bytes)
}

// ---------------------------------------------------------------------------------------------
// Units, statistics, interleaving
// ---------------------------------------------------------------------------------------------

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

#[cfg(unix)] // rows 5–8 only
pub fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// The largest value, 0 for none.
#[cfg(unix)] // rows 5–8 only
pub fn peak(v: &[f64]) -> f64 {
    v.iter().copied().fold(0.0, f64::max)
}

/// `n` rounds of `M` measurements, `f(k)` for the k-th: round-robin with a rotating first, so
/// no measurement always runs first or after the same one. Returns the results by measurement.
pub fn round_robin<const M: usize, T>(
    n: usize,
    mut f: impl FnMut(usize) -> R<T>,
) -> R<[Vec<T>; M]> {
    let mut out: [Vec<T>; M] = std::array::from_fn(|_| Vec::new());
    for i in 0..n {
        for k in 0..M {
            let v = (i + k) % M;
            out[v].push(f(v)?);
        }
    }
    Ok(out)
}

/// A tiny xorshift for jitter (phases must not lock onto the dashboard's 1 s clock).
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Rng {
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9)
            | 1;
        Rng(seed)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
    /// Sleep 200–1000 ms: never in phase with the dashboard's 1 s health tick.
    #[cfg(unix)] // rows 5–8 only
    pub fn pause(&mut self) {
        std::thread::sleep(Duration::from_millis(200 + self.below(800)));
    }
}

// ---------------------------------------------------------------------------------------------
// Log files
// ---------------------------------------------------------------------------------------------

/// The timestamp format of a log line (local time, whole ms), between `[` and `]`.
pub const STAMP: &str = "%Y-%m-%d %H:%M:%S%.3f";

/// Bytes of a file from `from` to its end, as text.
pub fn read_from(path: &Path, from: u64) -> String {
    let Ok(mut f) = File::open(path) else {
        return String::new();
    };
    let mut buf = Vec::new();
    if f.seek(SeekFrom::Start(from)).is_ok() {
        let _ = f.read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}

pub fn file_len(path: Option<&PathBuf>) -> u64 {
    path.and_then(|p| fs::metadata(p).ok())
        .map_or(0, |m| m.len())
}

/// The wall time of a stand-in log line: `[YYYY-MM-DD HH:MM:SS.mmm]`, local time, whole ms.
fn line_time(line: &str) -> Option<SystemTime> {
    let ts = line.strip_prefix('[')?.get(..23)?;
    let naive = chrono::NaiveDateTime::parse_from_str(ts, STAMP).ok()?;
    let offset = *claude_mem_top::platform::local_now().offset();
    let local = naive.and_local_timezone(offset).single()?;
    let ms = u64::try_from(local.timestamp_millis()).ok()?;
    Some(UNIX_EPOCH + Duration::from_millis(ms))
}

/// The time of the last line containing `needle` among the bytes `log` gained from `from` on;
/// `what` names that line for the error.
pub fn logged_at(log: &Path, from: u64, needle: &str, what: &str) -> R<SystemTime> {
    let text = read_from(log, from);
    let line = text
        .lines()
        .rfind(|l| l.contains(needle))
        .ok_or_else(|| format!("no {what} in {}", log.display()))?;
    line_time(line).ok_or_else(|| format!("no timestamp in {line:?}"))
}

/// `later − earlier` in milliseconds, negative when `later` is earlier.
pub fn since(later: SystemTime, earlier: SystemTime) -> f64 {
    match later.duration_since(earlier) {
        Ok(d) => ms(d),
        Err(e) => -ms(e.duration()),
    }
}

/// The largest `seq=N` in a text (the stand-in stamps every 12th log line with its count).
#[cfg(unix)] // rows 5–8 only
pub fn max_seq(text: &str) -> Option<u64> {
    text.match_indices("seq=")
        .filter_map(|(i, _)| {
            let digits: String = text[i + 4..]
                .chars()
                .take_while(|c| c.is_ascii_digit())
                .collect();
            digits.parse().ok()
        })
        .max()
}

/// The last `seq=N` of a log file (reading only its last 256 KiB).
#[cfg(unix)] // rows 5–8 only
pub fn file_seq(path: &Path) -> Option<u64> {
    let len = fs::metadata(path).ok()?.len();
    max_seq(&read_from(path, len.saturating_sub(256 * 1024)))
}

/// `program` on PATH; on Windows `program.exe` or `program.cmd` (npm's shim, as for pm2: the
/// extensionless file npm puts next to it is a shell script Windows cannot start).
pub fn which(program: &str) -> Option<PathBuf> {
    let names: Vec<String> = if cfg!(windows) {
        [".exe", ".cmd"]
            .iter()
            .map(|ext| format!("{program}{ext}"))
            .collect()
    } else {
        vec![program.to_string()]
    };
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .find(|p| p.is_file())
}
