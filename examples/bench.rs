//! The benchmark harness of issue 5: prints the table of docs/performance.md.
//!
//! ```text
//! cargo run --release --example bench               # the full run (about three minutes)
//! cargo run --release --example bench -- --smoke    # seconds, tiny counts, no verdicts (CI)
//! cargo run --release --example bench -- --rows 1,7 # only some rows
//! cargo run --release --example bench -- --rows 11b,11c
//! CMT_BENCH_RELEASE=DIR cargo run --release --example bench -- --rows 1,5,11
//! ```
//!
//! Rows (ids are strings; `--rows 11` does not select 11b or 11c):
//! - 1, 2: `--once` (text, json) and `ensure` on a healthy worker; with `CMT_BENCH_RELEASE`, row 1
//!   also against that claude-mem release's own worker.
//! - 3, 4: `start` → healthy, SIGTERM → `stop` returns.
//! - 5: the idle dashboard (CPU, frames, RSS); with `CMT_BENCH_RELEASE`, also at 160×45 against
//!   the release's worker, with that worker's own CPU (and its children's) over a window without
//!   the dashboard and an equal one with it open: the CPU the dashboard adds to the worker.
//! - 6, 7, 8: a 1 GiB log, a file change → screen, log ingest at 50,000 lines/s.
//! - 9: `pm2 jlist` next to `--once` (when pm2 is installed).
//! - 10: the census with 1,000 extra processes.
//! - 11: `status` / `--once` against the floor program (and against a real release's worker with
//!   `CMT_BENCH_RELEASE`); 11b: the same with a `/health`-only worker (the stand-in's `--bare`,
//!   as 7.1.0); 11c: 11b's worker with three other data dirs' workers running on the host.
//! - 12: the frame cost with 20,000 log lines; 13: the pipeline check's worst case.
//!
//! Without `CMT_BENCH_RELEASE` the rows against a real release are missing and a note under the
//! table says why; with it a full run takes about 2.5 minutes more (row 5's two 60 s windows). The release's worker runs as this process's child in a temporary HOME on a
//! free port (see bench/release.rs).
//!
//! What it measures is the release build of `claude-mem-top` next to this example
//! (`target/release/claude-mem-top`); when that binary is missing or older than the sources it
//! runs `cargo build --release --bin claude-mem-top` first. Every figure comes from the real
//! binary on a temporary data dir and a free loopback port, with the built-in stand-in worker as
//! the process under management; the dashboard runs in a real pseudo-terminal read by a vt100
//! parser. Runs of different commands are interleaved. Every worker started here is stopped with
//! `claude-mem-top stop`; the only processes signalled directly are the dashboards spawned here.
//!
//! Layout: this file holds the options, the build of the binary under test and the run of the
//! sections; `bench/` holds the parts: `sandbox.rs` (data dir, port, worker commands, cleanup),
//! `pty.rs` (the pseudo-terminal), `probe.rs` (process readings through the crate's platform
//! layer, log files, timing helpers), `table.rs` (rows and the printed table), `commands.rs`
//! (rows 1–4, 9, 11, 11b, 11c and 13), `dashboard.rs` (rows 5–8), `release.rs` (a real
//! claude-mem release's worker), `floor.rs` (row 11's floor program), `census.rs` (row 10) and
//! `frames.rs` (row 12).
//!
//! Platforms: everything runs on Linux and macOS. Rows 5–8 drive the dashboard in a pseudo-
//! terminal (openpty, TIOCSCTTY), which only Unix has, so on Windows they are skipped with a
//! line saying so and rows 1–4 and 9 run alone. Per-thread CPU and wake-ups are exact on Linux
//! only; elsewhere the dashboard's CPU is the process total and its wake-ups read "n/a".

// Row 10: the census with 1,000 extra processes (`sleep`) and the idle dashboard: Unix.
#[cfg(unix)]
#[path = "bench/census.rs"]
mod census;
#[path = "bench/commands.rs"]
mod commands;
// Rows 5–8: the dashboard in a pseudo-terminal, which needs Unix (see pty.rs).
#[cfg(unix)]
#[path = "bench/dashboard.rs"]
mod dashboard;
#[path = "bench/floor.rs"]
mod floor;
#[path = "bench/frames.rs"]
mod frames;
#[path = "bench/probe.rs"]
mod probe;
#[cfg(unix)]
#[path = "bench/pty.rs"]
mod pty;
#[path = "bench/release.rs"]
mod release;
#[path = "bench/sandbox.rs"]
mod sandbox;
#[path = "bench/table.rs"]
mod table;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use table::Row;

type R<T> = Result<T, String>;

// ---------------------------------------------------------------------------------------------
// Options and the binary under test
// ---------------------------------------------------------------------------------------------

struct Opts {
    smoke: bool,
    rows: Option<Vec<String>>,
    build: bool,
    bin: PathBuf,
}

impl Opts {
    /// Row ids are strings ("1", "11b"): `--rows 11` selects row 11, not 11b or 11c.
    fn wants(&self, row: &str) -> bool {
        self.rows
            .as_ref()
            .is_none_or(|r| r.iter().any(|x| x == row))
    }
    /// `full` in a full run, `smoke` in a smoke run.
    fn pick<T>(&self, full: T, smoke: T) -> T {
        if self.smoke {
            smoke
        } else {
            full
        }
    }
    fn kind(&self) -> &'static str {
        self.pick("full", "smoke")
    }
}

const USAGE: &str =
    "usage: cargo run --release --example bench -- [--smoke] [--rows 1,2,..] [--no-build]

  --smoke      a few seconds: tiny iteration counts, no timing judgement (for CI)
  --rows LIST  only these rows (1-13, 11b, 11c), comma-separated
  --no-build   do not rebuild target/release/claude-mem-top when it is older than the sources";

fn parse_args() -> R<Opts> {
    let mut smoke = false;
    let mut rows = None;
    let mut build = true;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--smoke" => smoke = true,
            "--no-build" => build = false,
            "--rows" => {
                let v = args.next().ok_or("--rows needs a list, e.g. 1,2,7")?;
                let list = v
                    .split(',')
                    .map(|s| {
                        let s = s.trim().to_ascii_lowercase();
                        if ROW_IDS.contains(&s.as_str()) {
                            Ok(s)
                        } else {
                            Err(format!("bad row {s:?} (rows: {})", ROW_IDS.join(", ")))
                        }
                    })
                    .collect::<R<Vec<String>>>()?;
                rows = Some(list);
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(Opts {
        smoke,
        rows,
        build,
        bin: PathBuf::new(),
    })
}

/// `…/target` (from this example's own path: `…/target/<profile>/examples/bench`).
fn target_dir() -> R<PathBuf> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let examples = exe.parent().ok_or("bench has no parent dir")?;
    let profile = examples
        .parent()
        .ok_or("bench is not in target/<profile>")?;
    if profile.file_name().and_then(|n| n.to_str()) != Some("release") {
        eprintln!("bench: note: the harness itself is not a release build (run it with --release); the binary under test is still the release build");
    }
    Ok(profile
        .parent()
        .ok_or("bench is not in target/<profile>/examples")?
        .to_path_buf())
}

fn newest_mtime(path: &Path, newest: &mut SystemTime) {
    let Ok(meta) = fs::metadata(path) else { return };
    if meta.is_dir() {
        if let Ok(rd) = fs::read_dir(path) {
            for e in rd.flatten() {
                newest_mtime(&e.path(), newest);
            }
        }
    } else if let Ok(m) = meta.modified() {
        *newest = (*newest).max(m);
    }
}

/// The release binary, built first when missing or older than the sources.
fn release_binary(build: bool) -> R<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = target_dir()?;
    let bin = target
        .join("release")
        .join(format!("claude-mem-top{}", std::env::consts::EXE_SUFFIX));
    let mut newest = UNIX_EPOCH;
    for p in ["src", "Cargo.toml", "Cargo.lock", "build.rs"] {
        newest_mtime(&root.join(p), &mut newest);
    }
    let built = fs::metadata(&bin).and_then(|m| m.modified()).ok();
    if build && built.is_none_or(|b| b < newest) {
        eprintln!(
            "bench: {} is {}; building it",
            bin.display(),
            if built.is_some() {
                "older than the sources"
            } else {
                "missing"
            }
        );
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let st = Command::new(cargo)
            .args([
                "build",
                "--release",
                "--bin",
                "claude-mem-top",
                "--target-dir",
            ])
            .arg(&target)
            .current_dir(root)
            .status()
            .map_err(|e| format!("cannot run cargo build: {e}"))?;
        if !st.success() {
            return Err(format!("cargo build --release failed ({st})"));
        }
    }
    if !bin.is_file() {
        return Err(format!(
            "{} not found: run `cargo build --release` first",
            bin.display()
        ));
    }
    Ok(bin)
}

// ---------------------------------------------------------------------------------------------

/// One section of the table: the rows it yields, its name, and the function that measures them.
type Section = fn(&Opts, &mut Vec<String>) -> R<Vec<Row>>;

/// Every row id, on every OS (`--rows` accepts these).
const ROW_IDS: [&str; 15] = [
    "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "11b", "11c", "12", "13",
];

/// The sections in table order: without Unix there is no pseudo-terminal here (openpty, a
/// controlling terminal via TIOCSCTTY), so the rows that watch the dashboard on one (5–8) and
/// the census with its dashboard row (10) are left out ([`SKIPPED`] says so).
fn sections() -> Vec<(&'static [&'static str], &'static str, Section)> {
    let mut s: Vec<(&'static [&'static str], &'static str, Section)> = vec![
        (&["1", "2"], "--once / ensure", commands::rows_cli),
        (
            &["1"],
            "--once, a real release's worker",
            commands::rows_cli_release,
        ),
        (&["3", "4"], "start / stop", commands::rows_start_stop),
    ];
    #[cfg(unix)]
    s.extend([
        (
            &["5"][..],
            "idle dashboard",
            dashboard::rows_idle as Section,
        ),
        (
            &["5"],
            "idle dashboard, a real release's worker",
            dashboard::rows_idle_release,
        ),
        (&["6"], "1 GiB log", dashboard::rows_big_log),
        (&["7"], "file change → screen", dashboard::rows_file_change),
        (&["8"], "log ingest", dashboard::rows_ingest),
    ]);
    s.push((&["9"], "pm2", commands::rows_pm2));
    #[cfg(unix)]
    s.push((
        &["10"],
        "census, 1,000 extra processes",
        census::rows_census,
    ));
    s.extend([
        (
            &["11"][..],
            "status / --once vs the floor",
            commands::rows_floor as Section,
        ),
        (
            &["11b"],
            "status / --once vs the floor, /health-only worker",
            commands::rows_floor_bare,
        ),
        (
            &["11c"],
            "status / --once vs the floor, /health-only worker, 3 other data dirs' workers",
            commands::rows_floor_crowd,
        ),
        (&["12"], "frame cost, 20,000 log lines", frames::rows_frames),
        (&["13"], "pipeline health", commands::rows_pipeline),
    ]);
    s
}

/// The rows this OS cannot run, and why: printed, never skipped silently.
#[cfg(not(unix))]
const SKIPPED: Option<(&[&str], &str)> = Some((
    &["5", "6", "7", "8", "10"],
    "they watch the dashboard in a pseudo-terminal (openpty/TIOCSCTTY), which this harness has on Linux and macOS only",
));
#[cfg(unix)]
const SKIPPED: Option<(&[&str], &str)> = None;

fn exit_with(code: i32, e: &str) -> ! {
    eprintln!("bench: {e}");
    std::process::exit(code);
}

fn main() {
    // Row 11's floor program is this executable: `bench --floor DATA_DIR`.
    let mut args = std::env::args().skip(1);
    if args.next().as_deref() == Some("--floor") {
        let dir = args
            .next()
            .unwrap_or_else(|| exit_with(2, "--floor needs a data dir"));
        std::process::exit(floor::main(Path::new(&dir)));
    }
    let mut o = parse_args().unwrap_or_else(|e| exit_with(2, &e));
    let mut notes = Vec::new();
    // Said first (and again under the table), before anything can fail.
    if let Some((ids, why)) = SKIPPED {
        let skipped: Vec<&str> = ids.iter().copied().filter(|r| o.wants(r)).collect();
        if !skipped.is_empty() {
            let line = format!(
                "rows {skipped:?} skipped on {}: {why}",
                std::env::consts::OS
            );
            eprintln!("bench: {line}");
            notes.push(line);
        }
    }
    o.bin = release_binary(o.build).unwrap_or_else(|e| exit_with(1, &e));
    sandbox::install_cleanup();
    let started = Instant::now();
    eprintln!("bench: {} run of {}", o.kind(), o.bin.display());
    let mut rows = Vec::new();
    let mut failures = Vec::new();
    for (ids, name, f) in sections() {
        if !ids.iter().any(|r| o.wants(r)) {
            continue;
        }
        eprintln!("bench: rows {ids:?}: {name}…");
        match f(&o, &mut notes) {
            Ok(r) => rows.extend(r.into_iter().filter(|r| o.wants(r.id))),
            Err(e) => {
                eprintln!("bench: rows {ids:?} failed: {e}");
                failures.push(format!("rows {ids:?} ({name}): {e}"));
            }
        }
    }
    println!();
    table::print_table(&rows, o.smoke);
    println!();
    println!("{}", table::machine_line());
    println!(
        "binary: {} (release); {} run, {:.0} s",
        o.bin.display(),
        o.kind(),
        started.elapsed().as_secs_f64()
    );
    for n in &notes {
        println!("  {n}");
    }
    if !failures.is_empty() {
        println!();
        for f in &failures {
            println!("FAILED {f}");
        }
        std::process::exit(1);
    }
}
