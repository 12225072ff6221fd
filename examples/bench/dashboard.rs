//! The rows that watch the dashboard on a pty: idle (5; also against a real release's worker,
//! with that worker's own CPU), a 1 GiB log (6), a file change → screen (7) and log ingest at
//! 50,000 lines/s (8). Unix only, for the pty (see pty.rs).

use std::fmt::Write as _;
use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
#[cfg(target_os = "linux")]
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::probe::{
    by_thread, cpu_ns, file_len, file_seq, max_seq, mb, ms, peak, read_from, round_robin, rss,
    sample_tree, thread_cpu, wakeups, Rng, STAMP,
};
use crate::pty::{header_has, Pty};
use crate::release::Running;
use crate::sandbox::Env;
use crate::table::Target::{AtMost, Info};
use crate::table::{median, Row};
use crate::{Opts, R};

// ---------------------------------------------------------------------------------------------
// A worker with a dashboard watching it, and the dashboard's CPU and RSS over time
// ---------------------------------------------------------------------------------------------

pub struct Sampled {
    pub cpu: Vec<f64>,
    rss: Vec<f64>,
    pub mean_cpu: f64,
    /// Frames drawn per minute while sampled.
    pub frames_per_min: f64,
    /// `None` where the OS does not count context switches per thread.
    wakeups_per_s: Option<f64>,
    threads: String,
}

/// Sample the CPU (% of one core, per `step`) and RSS of `pid` for `total`.
fn sample(pid: i32, total: Duration, step: Duration) -> R<Sampled> {
    let t0 = Instant::now();
    let c0 = cpu_ns(pid).ok_or("cannot read the dashboard's CPU time")?;
    let w0 = wakeups(pid);
    let th0 = thread_cpu(pid);
    let (mut prev_t, mut prev_c) = (t0, c0);
    let (mut cpu, mut rss_v) = (Vec::new(), Vec::new());
    let mut k = 1u32;
    while t0.elapsed() < total {
        let due = t0 + step * k;
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
        k += 1;
        let now = Instant::now();
        let c = cpu_ns(pid).ok_or("the dashboard exited")?;
        cpu.push(
            c.saturating_sub(prev_c) as f64 / now.duration_since(prev_t).as_nanos() as f64 * 100.0,
        );
        rss_v.push(mb(rss(pid).unwrap_or(0)));
        (prev_t, prev_c) = (now, c);
    }
    let wall = prev_t.duration_since(t0).as_nanos() as f64;
    Ok(Sampled {
        frames_per_min: 0.0,
        cpu,
        rss: rss_v,
        mean_cpu: prev_c.saturating_sub(c0) as f64 / wall * 100.0,
        wakeups_per_s: w0
            .zip(wakeups(pid))
            .map(|(w0, w1)| w1.saturating_sub(w0) as f64 / (wall / 1e9)),
        threads: by_thread(&th0, &thread_cpu(pid), wall),
    })
}

/// Where the dashboard's CPU figures come from, for the notes.
const CPU_SOURCE: &str = if cfg!(target_os = "linux") {
    "the platform layer's per-thread CPU (schedstat on Linux)"
} else {
    "the platform layer's process CPU time (user + system; no per-thread figures on this OS)"
};

/// How long the dashboard may take to show a running worker.
const READY: Duration = Duration::from_secs(10);

/// A started worker and a dashboard (`--interval 1s`) watching it on a `cols`×40 pty.
struct Session {
    // Fields drop in order: the dashboard ends before its worker is stopped.
    pty: Pty,
    env: Env,
}

impl Session {
    /// Start a worker (the stand-in with switches `worker`), then the dashboard.
    fn start(o: &Opts, worker: &str, cols: u16) -> R<Session> {
        let env = Env::new(&o.bin, worker)?;
        env.start()?;
        let mut pty = Pty::open(cols, 40)?;
        env.dashboard(&mut pty)?;
        Ok(Session { pty, env })
    }

    /// Wait until the header says RUNNING and the screen satisfies `also`.
    fn wait_running(&self, what: &str, also: impl Fn(&str) -> bool + Send + 'static) -> R<()> {
        let running = header_has("RUNNING");
        self.pty
            .wait_for(what, READY, move |s| running(s) && also(s))
            .map(|_| ())
    }

    /// [`sample`] the dashboard each second for `secs`.
    fn sample(&self, secs: u64) -> R<Sampled> {
        let f0 = self.pty.frames();
        let t0 = Instant::now();
        let mut s = sample(
            self.pty.pid()?,
            Duration::from_secs(secs),
            Duration::from_secs(1),
        )?;
        let mins = t0.elapsed().as_secs_f64() / 60.0;
        s.frames_per_min = (self.pty.frames() - f0) as f64 / mins.max(1e-9);
        Ok(s)
    }
}

/// The screen shows log lines stamped `seq=`.
fn has_seq(s: &str) -> bool {
    max_seq(s).is_some()
}

// ---------------------------------------------------------------------------------------------
// Row 5: the idle dashboard
// ---------------------------------------------------------------------------------------------

pub fn idle_run(o: &Opts, worker: &str, secs: u64) -> R<Sampled> {
    let mut dash = Session::start(o, worker, 120)?;
    let pid = dash.env.pid()?;
    dash.wait_running("RUNNING", move |t| t.contains(&format!("PID {pid}")))?;
    std::thread::sleep(o.pick(Duration::from_secs(3), Duration::from_millis(500)));
    let sampled = dash.sample(secs)?;
    dash.pty.quit()?;
    Ok(sampled)
}

pub fn rows_idle(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let secs = o.pick(60, 3);
    let quiet = idle_run(o, "--log-rate 0", secs)?;
    let chatty_secs = o.pick(30, 2);
    let chatty = idle_run(o, "--log-rate 2", chatty_secs)?;
    let quiet_wakeups = quiet
        .wakeups_per_s
        .map_or_else(|| "n/a".to_string(), |w| format!("{w:.1}/s"));
    let chatty_wakeups = chatty.wakeups_per_s.map_or_else(
        || "wake-ups n/a".to_string(),
        |w| format!("{w:.1} wake-ups/s"),
    );
    notes.push(format!(
        "5: 120×40 pty, --interval 1s, CPU of all dashboard threads from {CPU_SOURCE}, sampled each second for {secs} s after a settle; judged on the {secs} s mean ({:.3} %) and the RSS peak ({:.1} MB). Wake-ups: {quiet_wakeups}; by thread: {}. With a worker logging 2 lines/s ({chatty_secs} s): mean {:.3} %, RSS peak {:.1} MB, {chatty_wakeups}",
        quiet.mean_cpu,
        peak(&quiet.rss),
        quiet.threads,
        chatty.mean_cpu,
        peak(&chatty.rss),
    ));
    let quiet_figure = format!("dashboard idle: CPU over {secs} s (quiet worker)");
    let chatty_figure = format!("dashboard idle: CPU over {chatty_secs} s (worker logs 2 lines/s)");
    Ok(vec![
        Row::new("5", quiet_figure, "%", AtMost(0.3))
            .with(quiet.cpu)
            .judged_on(quiet.mean_cpu, "mean"),
        Row::new(
            "5",
            format!("dashboard idle: frames per minute over {secs} s (quiet worker)"),
            "frames/min",
            AtMost(60.0),
        )
        .with(vec![quiet.frames_per_min])
        .judged_on(quiet.frames_per_min, "rate"),
        Row::new("5", "dashboard idle: RSS", "MB", AtMost(20.0))
            .judged_on(peak(&quiet.rss), "peak")
            .with(quiet.rss),
        Row::new("5", chatty_figure, "%", Info)
            .with(chatty.cpu)
            .judged_on(chatty.mean_cpu, "mean"),
    ])
}

// ---------------------------------------------------------------------------------------------
// Row 5 against a real claude-mem release's worker: the dashboard's CPU, and the worker's own CPU
// (with its descendants) over a window without the dashboard and an equal one with it open
// ---------------------------------------------------------------------------------------------

pub fn rows_idle_release(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let Some(release) = crate::release::find_or_note("5", notes) else {
        return Ok(Vec::new());
    };
    let (rows, note) = crate::release::with_worker(release, &o.bin, |run| idle_release(o, run))?;
    notes.push(note);
    Ok(rows)
}

/// The PID in a 13.x data dir's `worker.pid` (`{"pid": …, …}`).
fn release_worker_pid(data: &Path) -> Option<i32> {
    let text = fs::read_to_string(data.join("worker.pid")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["pid"].as_i64().and_then(|p| i32::try_from(p).ok())
}

/// The rows, and the note that says how they were measured.
fn idle_release(o: &Opts, run: &Running) -> R<(Vec<Row>, String)> {
    let secs = o.pick(60, 3);
    let settle = o.pick(10, 1);
    let v = &run.release.version;
    let sb = &run.sandbox;
    // The worker's start-up work (database, queue, search index) is not what is measured.
    std::thread::sleep(Duration::from_secs(settle));
    // The process we spawned and the PID the worker wrote (the same process for 13.x), with
    // their descendants (bun's helpers).
    let mut roots = vec![run.child_pid()];
    if let Some(p) = release_worker_pid(&sb.data()).filter(|p| !roots.contains(p)) {
        roots.push(p);
    }
    let window = Duration::from_secs(secs);
    let step = Duration::from_secs(1);
    let without = sample_tree(&roots, window, step);

    let mut pty = Pty::open(160, 45)?;
    let mut cmd = sb.cmd(&o.bin, &["--interval", "1s"]);
    cmd.env("TERM", "xterm-256color")
        .env_remove("NO_COLOR")
        .env_remove("CLAUDE_MEM_TOP_PANIC_IN_DRAW");
    pty.spawn(cmd)?;
    pty.wait_for("RUNNING", Duration::from_secs(20), header_has("RUNNING"))?;
    std::thread::sleep(o.pick(Duration::from_secs(3), Duration::from_millis(500)));
    let dash_pid = pty.pid()?;
    let f0 = pty.frames();
    let t0 = Instant::now();
    // The dashboard and the worker over the same window, each read once a second.
    let (dash, with) = std::thread::scope(|s| {
        let worker = s.spawn(|| sample_tree(&roots, window, step));
        let dash = sample(dash_pid, window, step);
        (dash, worker.join())
    });
    let dash = dash?;
    let with = with.map_err(|_| "the worker's CPU sampler panicked".to_string())?;
    let frames_per_min = (pty.frames() - f0) as f64 / (t0.elapsed().as_secs_f64() / 60.0);
    pty.quit()?;

    let added = with.mean - without.mean;
    let wakeups = dash
        .wakeups_per_s
        .map_or_else(|| "n/a".to_string(), |w| format!("{w:.1}/s"));
    let note = format!(
        "5 (claude-mem {v}): the release's own worker ({} {} --daemon, a temporary HOME, port {}), settled {settle} s after /health; {secs} s without a dashboard, then the dashboard (160×45 pty, --interval 1s) opened, RUNNING + a settle, and {secs} s with it; worker CPU = the spawned process, the PID in worker.pid and their descendants (processes seen: {} — {}), read each second from {CPU_SOURCE}: mean {:.3} % without, {:.3} % with, added {added:.3} % (from the processes' own user + system ticks: {:.3} % and {:.3} %); the dashboard: mean {:.3} %, RSS peak {:.1} MB, {frames_per_min:.0} frames/min, wake-ups {wakeups}; by thread: {}",
        run.release.bun.display(),
        run.release.script.display(),
        sb.port,
        with.processes.max(without.processes),
        with.names.join(", "),
        without.mean,
        with.mean,
        without.mean_ticks,
        with.mean_ticks,
        dash.mean_cpu,
        peak(&dash.rss),
        dash.threads,
    );
    let worker = format!("claude-mem {v} worker and its children: CPU");
    let rows = vec![
        Row::new(
            "5",
            format!("dashboard idle, claude-mem {v} worker (160×45): CPU"),
            "%",
            AtMost(0.3),
        )
        .with(dash.cpu)
        .judged_on(dash.mean_cpu, "mean"),
        Row::new(
            "5",
            format!("dashboard idle, claude-mem {v} worker (160×45): frames per minute"),
            "frames/min",
            Info,
        )
        .with(vec![frames_per_min]),
        Row::new(
            "5",
            format!("{worker} over {secs} s, no dashboard"),
            "%",
            Info,
        )
        .with(without.cpu)
        .judged_on(without.mean, "mean"),
        Row::new(
            "5",
            format!("{worker} over the next {secs} s, dashboard open"),
            "%",
            Info,
        )
        .with(with.cpu)
        .judged_on(with.mean, "mean"),
        Row::new(
            "5",
            format!("worker CPU added by the dashboard, claude-mem {v}"),
            "%",
            AtMost(0.2),
        )
        .with(vec![added])
        .judged_on(added, "with − without, means"),
    ];
    Ok((rows, note))
}

// ---------------------------------------------------------------------------------------------
// Row 6: opening on a 1 GiB log
// ---------------------------------------------------------------------------------------------

const GIB: u64 = 1 << 30;

/// What became of the logs' pages before the dashboard opened them (see [`write_log`]).
const PAGE_CACHE: &str = if cfg!(target_os = "linux") {
    "both dropped from the page cache first"
} else {
    "both still in the page cache (no posix_fadvise page drop on this OS)"
};

/// A dated log of `size` bytes whose last `real` bytes are log lines (the rest is a hole: sparse,
/// no disk used), ending in a line with `marker`. Flushed and, on Linux, dropped from the page
/// cache, so the dashboard reads it cold.
fn write_log(path: &Path, size: u64, real: u64, marker: &str) -> R<()> {
    let mut text = String::with_capacity(real as usize + 256);
    let stamp = claude_mem_top::platform::local_now().format(STAMP);
    let mut i = 0u64;
    let last = format!("[{stamp}] [INFO ] [BENCH ] last line of the log {marker}\n");
    while (text.len() + last.len()) as u64 + 120 < real {
        let _ = writeln!(
            text,
            "[{stamp}] [INFO ] [HTTP  ] GET /api/stats 200 {{ms=2}} filler line {i} of the benchmark log"
        );
        i += 1;
    }
    text.push_str(&last);
    let mut f = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(path)
        .map_err(|e| format!("create {}: {e}", path.display()))?;
    let start = size.saturating_sub(text.len() as u64);
    if start > 0 {
        f.seek(SeekFrom::Start(start))
            .map_err(|e| format!("seek: {e}"))?;
    }
    f.write_all(text.as_bytes())
        .map_err(|e| format!("write log: {e}"))?;
    f.sync_data().map_err(|e| format!("sync: {e}"))?;
    // Linux only: posix_fadvise(DONTNEED) drops a file's clean pages for anyone; macOS has no
    // posix_fadvise and no unprivileged way to evict a file's pages (`purge` needs root), so
    // there the log stays cached (the row-6 note says so).
    // SAFETY: plain syscall on an fd we own.
    #[cfg(target_os = "linux")]
    unsafe {
        libc::posix_fadvise(f.as_raw_fd(), 0, 0, libc::POSIX_FADV_DONTNEED)
    };
    Ok(())
}

/// One opening of the dashboard on a log.
struct Opened {
    /// From the spawn to the first full frame.
    ms: f64,
    /// RSS 1.5 s later.
    rss_mb: f64,
    /// The log's bytes on disk.
    on_disk: u64,
}

fn open_on_log(o: &Opts, size: u64, real: u64) -> R<Opened> {
    let env = Env::new(&o.bin, "")?;
    let marker = format!("BENCH-END-{}", Rng::new().below(1 << 40));
    let date = chrono::Utc::now().format("%Y-%m-%d");
    let path = env.data().join(format!("logs/worker-{date}.log"));
    write_log(&path, size, real, &marker)?;
    let on_disk = fs::metadata(&path)
        .map(|m| std::os::unix::fs::MetadataExt::blocks(&m) * 512)
        .unwrap_or(0);
    // 160 columns: the log panel (beside Activity) shows the marker line whole.
    let mut pty = Pty::open(160, 40)?;
    // A full frame: the status is known and the log's last line is shown.
    let rx = pty.arm(move |s| header_has("STOPPED")(s) && s.contains(&marker));
    let t0 = env.dashboard(&mut pty)?;
    let t = pty.wait(&rx, "first full frame", Duration::from_secs(20))?;
    std::thread::sleep(Duration::from_millis(1500));
    let r = rss(pty.pid()?).unwrap_or(0);
    pty.quit()?;
    Ok(Opened {
        ms: ms(t.duration_since(t0)),
        rss_mb: mb(r),
        on_disk,
    })
}

pub fn rows_big_log(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let n = o.pick(5, 1);
    let real = o.pick(4_000_000, 1_000_000);
    // Interleaved pairs: 0 the 1 GiB log, 1 the 1 MB log.
    let [big, small] = round_robin(n, |v| {
        if v == 0 {
            open_on_log(o, GIB, real)
        } else {
            open_on_log(o, 1_000_000, 1_000_000)
        }
    })?;
    let disk = big.last().map_or(0, |b| b.on_disk);
    let col = |runs: &[Opened], f: fn(&Opened) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
    let (big_rss, small_rss) = (col(&big, |r| r.rss_mb), col(&small, |r| r.rss_mb));
    let diff = big_rss.iter().zip(&small_rss).map(|(b, s)| b - s).collect();
    notes.push(format!(
        "6: sparse 1 GiB log ({:.1} MB real lines at its end, {:.1} MB on disk) vs a 1 MB log, {PAGE_CACHE}; time from spawn to the frame that shows the state and the log's last line; RSS 1.5 s later, median {:.1} MB (1 GiB) vs {:.1} MB (1 MB); {n} interleaved pairs",
        real as f64 / 1e6,
        disk as f64 / 1e6,
        median(&big_rss),
        median(&small_rss)
    ));
    Ok(vec![
        Row::new(
            "6",
            "open on a 1 GiB log → first full frame",
            "ms",
            AtMost(100.0),
        )
        .with(col(&big, |r| r.ms)),
        Row::new("6", "open on a 1 MB log → first full frame", "ms", Info)
            .with(col(&small, |r| r.ms)),
        Row::new(
            "6",
            "RSS with the 1 GiB log − with the 1 MB log",
            "MB",
            AtMost(5.0),
        )
        .with(diff),
    ])
}

// ---------------------------------------------------------------------------------------------
// Row 7: a file change → visible on screen
// ---------------------------------------------------------------------------------------------

pub fn rows_file_change(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    // Kept to the end of the function, as the steady-stream run's neighbour.
    let mut dash = Session::start(o, "--log-rate 2", 160)?;
    let pid = dash.env.pid()?;
    dash.wait_running("RUNNING", |_| true)?;
    let t = Duration::from_secs(10);
    let pid_file = dash.env.data().join(".worker.pid");
    let log = dash.env.log()?;
    let mut rng = Rng::new();
    let (mut removed, mut appended) = (Vec::new(), Vec::new());
    let n = o.pick(10, 1);
    for i in 0..n {
        rng.pause();
        let what = "UNMANAGED after .worker.pid removed";
        removed.push(dash.pty.time_until(what, t, header_has("UNMANAGED"), || {
            fs::remove_file(&pid_file).map_err(|e| format!("rm .worker.pid: {e}"))
        })?);
        // Put it back (atomically, like the product writes it) and wait for RUNNING again.
        let tmp = dash.env.data().join(".worker.pid.bench");
        fs::write(&tmp, pid.to_string()).map_err(|e| format!("write: {e}"))?;
        fs::rename(&tmp, &pid_file).map_err(|e| format!("rename: {e}"))?;
        dash.pty
            .wait_for("RUNNING again", t, header_has("RUNNING"))?;

        rng.pause();
        let marker = format!("BENCH-APPENDED-{i}-{}", rng.below(1 << 30));
        let stamp = claude_mem_top::platform::local_now().format(STAMP);
        let line = format!("[{stamp}] [INFO ] [BENCH ] {marker}\n");
        let mut f = OpenOptions::new()
            .append(true)
            .open(&log)
            .map_err(|e| format!("open log: {e}"))?;
        let shown = move |text: &str| text.contains(&marker);
        appended.push(dash.pty.time_until("the appended log line", t, shown, || {
            f.write_all(line.as_bytes())
                .map_err(|e| format!("append: {e}"))
        })?);
    }
    dash.pty.quit()?;
    let steady = steady_lag(o, 200, o.pick(10, 1))?;
    notes.push(format!(
        "7: 160×40 pty, worker logging 2 lines/s; {n} rounds at random phases; from unlink()/write() to the bytes that show it arriving from the pty. Steady stream: worker logging 200 lines/s, 240×40 pty (the log panel beside Activity shows whole lines), from a seq=-stamped line reaching the file (polled every 0.5 ms) to the screen showing it"
    ));
    let row = |figure, times| Row::new("7", figure, "ms", AtMost(100.0)).with(times);
    Ok(vec![
        row("`.worker.pid` removed → UNMANAGED on screen", removed),
        row("log line appended → on screen", appended),
        row(
            "newest log line on screen, worker logging 200 lines/s",
            steady,
        ),
    ])
}

/// A worker logging `rate` lines/s without pause: at random moments, wait for the next
/// `seq=`-stamped line to reach the file (polling its new bytes every 0.5 ms), then time until
/// the screen shows it (a marker line of our own would scroll away unseen).
fn steady_lag(o: &Opts, rate: u32, n: usize) -> R<Vec<f64>> {
    let mut dash = Session::start(o, &format!("--log-rate {rate}"), 240)?;
    let log = dash.env.log()?;
    dash.wait_running("RUNNING with lines", has_seq)?;
    let mut rng = Rng::new();
    let mut lags = Vec::new();
    for _ in 0..n {
        rng.pause();
        let from = file_len(Some(&log));
        let next = file_seq(&log).ok_or("no seq= in the log")? + 1;
        let rx = dash
            .pty
            .arm(move |text| max_seq(text).is_some_and(|q| q >= next));
        let waited = Instant::now();
        let written = loop {
            let text = read_from(&log, from);
            let complete = &text[..text.rfind('\n').map_or(0, |i| i + 1)];
            if max_seq(complete).is_some_and(|q| q >= next) {
                break Instant::now();
            }
            if waited.elapsed() > Duration::from_secs(10) {
                return Err("the worker stopped logging".into());
            }
            std::thread::sleep(Duration::from_micros(500));
        };
        let seen = dash
            .pty
            .wait(&rx, "the file's newest line", Duration::from_secs(30))?;
        lags.push(ms(seen.saturating_duration_since(written)));
    }
    dash.pty.quit()?;
    Ok(lags)
}

// ---------------------------------------------------------------------------------------------
// Row 8: log ingest at 50,000 lines/s
// ---------------------------------------------------------------------------------------------

struct Ingest {
    lag_ms: f64,
    cpu: Vec<f64>,
    mean_cpu: f64,
    worker_cpu: f64,
    rate: f64,
    rss: f64,
}

fn ingest_run(o: &Opts, secs: u64) -> R<Ingest> {
    let mut dash = Session::start(o, "--log-rate 50000", 240)?;
    let wpid = dash.env.pid()?;
    let log = dash.env.log()?;
    dash.wait_running("RUNNING with lines", has_seq)?;
    let t0 = Instant::now();
    let seq0 = file_seq(&log).unwrap_or(0);
    let w0 = cpu_ns(wpid).unwrap_or(0);
    let sampled = dash.sample(secs)?;
    let w1 = cpu_ns(wpid).unwrap_or(0);
    let end = Instant::now();
    let seq_end = file_seq(&log).ok_or("no seq= in the log")?;
    let rate = (seq_end - seq0) as f64 / end.duration_since(t0).as_secs_f64();
    let rx = dash
        .pty
        .arm(move |text| max_seq(text).is_some_and(|q| q >= seq_end));
    let seen = dash.pty.wait(
        &rx,
        "the file's last line at the end",
        Duration::from_secs(60),
    );
    let lag_ms = match seen {
        Ok(t) => ms(t.saturating_duration_since(end)),
        Err(_) => f64::INFINITY,
    };
    let rss_now = rss(dash.pty.pid()?).unwrap_or(0);
    dash.pty.quit()?;
    dash.env.stop()?;
    Ok(Ingest {
        lag_ms,
        cpu: sampled.cpu,
        mean_cpu: sampled.mean_cpu,
        worker_cpu: (w1 - w0) as f64 / end.duration_since(t0).as_nanos() as f64 * 100.0,
        rate,
        rss: mb(rss_now),
    })
}

pub fn rows_ingest(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let secs = o.pick(10, 2);
    let n = o.pick(3, 1);
    let runs = (0..n)
        .map(|_| ingest_run(o, secs))
        .collect::<R<Vec<Ingest>>>()?;
    let col = |f: fn(&Ingest) -> f64| runs.iter().map(f).collect::<Vec<f64>>();
    let lag = col(|r| r.lag_ms);
    notes.push(format!(
        "8: {n} runs of {secs} s, stand-in --log-rate 50000 (achieved {:.0} lines/s), 240×40 pty; lag = from the end of the window (the file's last seq= read then) to the screen showing that seq; CPU per second of the dashboard (mean {:.1} %), worker {:.1} %; dashboard RSS at the end {:.1} MB",
        median(&col(|r| r.rate)),
        median(&col(|r| r.mean_cpu)),
        median(&col(|r| r.worker_cpu)),
        median(&col(|r| r.rss))
    ));
    let cpu = runs.iter().flat_map(|r| r.cpu.iter().copied()).collect();
    Ok(vec![
        Row::new(
            "8",
            "ingest 50k lines/s: dashboard lag behind the file",
            "ms",
            AtMost(1000.0),
        )
        .judged_on(peak(&lag), "worst")
        .with(lag),
        Row::new("8", "ingest 50k lines/s: dashboard CPU", "%", Info).with(cpu),
    ])
}
