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

/// The CPU of a process tree over a window: `roots` and all their descendants (looked up anew at
/// each reading, so helpers started within the window count from their start). Each process is
/// keyed by PID and start token, so a reused PID is a new process. A process that exits within
/// the window counts up to its last reading.
#[cfg(unix)]
pub struct TreeCpu {
    roots: Vec<i32>,
    /// (pid, token) → CPU ns from [`cpu_ns`], and from the process's user + system time (which
    /// keeps the time of threads that exited, in clock ticks).
    seen: std::collections::HashMap<(i32, u64), (Span, Span)>,
    /// The command names seen, for the notes.
    pub names: Vec<String>,
}

/// A counter's value at a process's first and last reading in the window.
#[cfg(unix)]
#[derive(Clone, Copy)]
struct Span {
    first: u64,
    last: u64,
}

#[cfg(unix)]
impl Span {
    /// Seen first at `v`: from `v` at the window's start, from 0 for a process that started
    /// within the window.
    fn new(v: u64, at_start: bool) -> Span {
        Span {
            first: if at_start { v } else { 0 },
            last: v,
        }
    }
    fn update(&mut self, v: u64) {
        self.last = self.last.max(v);
    }
    fn used(self) -> u64 {
        self.last - self.first
    }
}

#[cfg(unix)]
impl TreeCpu {
    /// Start the window: the tree's CPU so far is the baseline.
    pub fn start(roots: &[i32]) -> TreeCpu {
        let mut t = TreeCpu {
            roots: roots.to_vec(),
            seen: Default::default(),
            names: Vec::new(),
        };
        t.read(true);
        t
    }

    /// Read every process of the tree; returns the CPU ns used since the start.
    pub fn read(&mut self, first: bool) -> u64 {
        let mut pids: Vec<i32> = Vec::new();
        for r in &self.roots {
            if !pids.contains(r) {
                pids.push(*r);
            }
            for d in platform::descendants(*r) {
                if !pids.contains(&d) {
                    pids.push(d);
                }
            }
        }
        for pid in pids {
            let (Some(info), Some(ns)) = (platform::proc_info(pid), cpu_ns(pid)) else {
                continue;
            };
            if info.zombie {
                continue;
            }
            let ticks = nanos(info.cpu);
            let e = self
                .seen
                .entry((pid, info.start.raw()))
                .or_insert_with(|| (Span::new(ns, first), Span::new(ticks, first)));
            e.0.update(ns);
            e.1.update(ticks);
            if !self.names.contains(&info.name) {
                self.names.push(info.name);
            }
        }
        self.total().0
    }

    /// (CPU ns from [`cpu_ns`], CPU ns from the process totals) since the start.
    pub fn total(&self) -> (u64, u64) {
        self.seen.values().fold((0, 0), |(a, b), (ns, ticks)| {
            (a + ns.used(), b + ticks.used())
        })
    }

    /// Processes seen in the window.
    pub fn processes(&self) -> usize {
        self.seen.len()
    }
}

/// The CPU of a process tree over `total`, read each `step`: % of one core per step, and the
/// whole window's mean by both counts (see [`TreeCpu`]).
#[cfg(unix)]
pub struct TreeSampled {
    pub cpu: Vec<f64>,
    pub mean: f64,
    /// The same from the processes' own user + system time (clock ticks), as a cross-check.
    pub mean_ticks: f64,
    pub processes: usize,
    pub names: Vec<String>,
}

#[cfg(unix)]
pub fn sample_tree(roots: &[i32], total: Duration, step: Duration) -> TreeSampled {
    let t0 = std::time::Instant::now();
    let mut tree = TreeCpu::start(roots);
    let (mut prev_t, mut prev_c) = (t0, 0u64);
    let mut cpu = Vec::new();
    let mut k = 1u32;
    while t0.elapsed() < total {
        let due = t0 + step * k;
        std::thread::sleep(due.saturating_duration_since(std::time::Instant::now()));
        k += 1;
        let now = std::time::Instant::now();
        let c = tree.read(false);
        let wall = now.duration_since(prev_t).as_nanos() as f64;
        cpu.push(c.saturating_sub(prev_c) as f64 / wall * 100.0);
        (prev_t, prev_c) = (now, c);
    }
    let wall = prev_t.duration_since(t0).as_nanos().max(1) as f64;
    let (ns, ticks) = tree.total();
    TreeSampled {
        cpu,
        mean: ns as f64 / wall * 100.0,
        mean_ticks: ticks as f64 / wall * 100.0,
        processes: tree.processes(),
        names: tree.names,
    }
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
