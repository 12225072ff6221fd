//! The rows that time commands: `--once` / `ensure` (1, 2; 1 also against a real release's
//! worker), `start` / `stop` (3, 4), `pm2 jlist` next to `--once` (9), `status` / `--once`
//! against the floor program (11; 11b with a `/health`-only worker, 11c with three other data
//! dirs' workers on the host) and the pipeline's worst case (13).

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

use crate::probe::{file_len, logged_at, ms, round_robin, since, which, Rng};
use claude_mem_top::platform;
use claude_mem_top::procman::health;

use crate::sandbox::{free_port, timed_output, Env};
use crate::table::Target::{AtLeast, AtMost, Info};
use crate::table::{median, summary, Row};
use crate::{Opts, R};

// ---------------------------------------------------------------------------------------------
// Rows 1 and 2: `--once` (text, json) and `ensure`, interleaved, on a healthy worker
// ---------------------------------------------------------------------------------------------

pub fn rows_cli(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let env = Env::new(&o.bin, "")?;
    env.start()?;
    let variants: [&[&str]; 3] = [&["--once"], &["--once", "--json"], &["ensure"]];
    // Warm-up: the binary in the page cache, as for a hook that runs on every event.
    for args in variants {
        env.run(args)?;
    }
    let n = o.pick(60, 3);
    let [t_text, t_json, t_ensure] = round_robin(n, |v| env.run_ok(variants[v]).map(ms))?;
    notes.push(format!(
        "1–2: {n} runs of each command, round-robin with a rotating first; wall time from spawn to exit (stdout piped), healthy stand-in worker"
    ));
    let row = |id, figure, times| Row::new(id, figure, "ms", AtMost(5.0)).with(times);
    Ok(vec![
        row("1", "`--once` (text), healthy worker", t_text),
        row("1", "`--once --json`, healthy worker", t_json),
        row("2", "`ensure`, worker already healthy", t_ensure),
    ])
}

/// Row 1 against a real claude-mem release's worker (`CMT_BENCH_RELEASE`): `--once` and
/// `--once --json`, interleaved. Without a release, a note says why the rows are missing.
pub fn rows_cli_release(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let Some(release) = crate::release::find_or_note("1", notes) else {
        return Ok(Vec::new());
    };
    crate::release::with_worker(release, &o.bin, |run| {
        let sb = &run.sandbox;
        let variants: [&[&str]; 2] = [&["--once"], &["--once", "--json"]];
        let once = |args: &[&str]| -> R<f64> {
            let mut c = sb.cmd(&o.bin, args);
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            time(c)
        };
        for _ in 0..3 {
            for args in variants {
                once(args)?;
            }
        }
        let n = o.pick(60, 3);
        let [t_text, t_json] = round_robin(n, |v| once(variants[v]))?;
        let v = &run.release.version;
        notes.push(format!(
            "1 (claude-mem {v}): {n} runs of each, round-robin, against the release's own worker ({} {} --daemon, a temporary HOME, port {}); wall time from spawn to exit (stdout piped)",
            run.release.bun.display(),
            run.release.script.display(),
            sb.port,
        ));
        let row = |figure: String, times| Row::new("1", figure, "ms", AtMost(5.0)).with(times);
        Ok(vec![
            row(format!("`--once` (text), claude-mem {v} worker"), t_text),
            row(format!("`--once --json`, claude-mem {v} worker"), t_json),
        ])
    })
}

// ---------------------------------------------------------------------------------------------
// Row 13: `--once` with the pipeline's worst case: a degraded worker, both state files, and a
// 20 MB log written within the hour (its restart count reads the most it ever reads)
// ---------------------------------------------------------------------------------------------

pub fn rows_pipeline(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let quiet = Env::new(&o.bin, "")?;
    let busy = Env::new(
        &o.bin,
        "--degraded claude_cli --observer-failures 3 --hook-failures 3",
    )?;
    // Local stamps, as the worker writes them; the log's name is the UTC date.
    let stamp = claude_mem_top::platform::local_now().format("[%Y-%m-%d %H:%M:%S%.3f] ");
    let line = format!(
        "{stamp}[INFO ] [DB    ] Query executed {{table=observations, rows=12, ms=3}} {}\n",
        "x".repeat(60)
    );
    let mb = o.pick(20, 1);
    let log = busy.data().join(format!(
        "logs/worker-{}.log",
        chrono::Utc::now().format("%Y-%m-%d")
    ));
    fs::write(&log, line.repeat(mb * 1024 * 1024 / line.len()))
        .map_err(|e| format!("{}: {e}", log.display()))?;
    quiet.start()?;
    busy.start()?;
    let (_, out) = busy.run(&["--once"])?;
    if !String::from_utf8_lossy(&out.stdout).contains("DEGRADED:") {
        return Err("row 13: the degraded stand-in does not show DEGRADED".into());
    }
    for e in [&quiet, &busy] {
        e.run(&["--once"])?;
    }
    let n = o.pick(30, 3);
    let envs = [&quiet, &busy];
    let [t_quiet, t_busy] = round_robin(n, |v| envs[v].run_ok(&["--once"]).map(ms))?;
    notes.push(format!(
        "13: {n} runs of each, interleaved: a healthy stand-in with a small log, and a degraded one with observer-health.json, state/hook-failures.json and a {mb} MB log written within the hour"
    ));
    Ok(vec![
        Row::new("13", "`--once`, healthy worker, small log", "ms", Info).with(t_quiet),
        Row::new(
            "13",
            "`--once`, degraded worker, state files, 20 MB log of the last hour",
            "ms",
            AtMost(50.0),
        )
        .with(t_busy),
    ])
}

// ---------------------------------------------------------------------------------------------
// Rows 3 and 4: start → healthy, SIGTERM → stop returns (alternating cycles)
// ---------------------------------------------------------------------------------------------

pub fn rows_start_stop(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let mut env = Env::new(&o.bin, "--log-rate 0")?;
    let mut rng = Rng::new();
    let (mut listen, mut start_wall, mut exit, mut stop_wall) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let n = o.pick(20, 2);
    for _ in 0..n {
        // A different slow start each cycle, so the worker's listen time falls at every phase of
        // `start`'s retry schedule.
        let s = 150 + rng.below(150);
        env.set_worker(&format!("--log-rate 0 --slow-start {s}"));

        let before = file_len(env.worker_log().as_ref());
        let d = env.start()?;
        let returned = SystemTime::now();
        let pid = env.worker_pid().ok_or("start left no .worker.pid")?;
        let log = env.worker_log().ok_or("the worker wrote no log")?;
        let port = env.spec.port;
        let needle = format!("HTTP server started {{host=127.0.0.1, port={port}, pid={pid}}}");
        let what = format!("'HTTP server started' line for PID {pid}");
        listen.push(since(returned, logged_at(&log, before, &needle, &what)?));
        start_wall.push(ms(d));

        std::thread::sleep(Duration::from_millis(50 + rng.below(100)));

        let before = file_len(Some(&log));
        let d = env.stop()?;
        let returned = SystemTime::now();
        let needle = "Worker shutdown complete";
        let what = "'Worker shutdown complete' line";
        exit.push(since(returned, logged_at(&log, before, needle, what)?));
        stop_wall.push(ms(d));
    }
    notes.push(format!(
        "3: {n} start/stop cycles; stand-in --slow-start 150–300 ms (random per cycle); figure = `start` exits − the worker's \"HTTP server started\" log line (logged right after bind; ms timestamps, so up to +1 ms). `start` wall time, median: {:.1} ms",
        median(&start_wall)
    ));
    notes.push(format!(
        "4: figure = `stop` exits − the worker's \"Worker shutdown complete\" line (logged just before it exits on SIGTERM). `stop` wall time incl. process start and the SIGTERM, median: {:.1} ms",
        median(&stop_wall)
    ));
    Ok(vec![
        Row::new(
            "3",
            "worker listening → `start` reports healthy",
            "ms",
            AtMost(20.0),
        )
        .with(listen),
        Row::new(
            "4",
            "worker exits on SIGTERM → `stop` returns",
            "ms",
            AtMost(10.0),
        )
        .with(exit),
    ])
}

// ---------------------------------------------------------------------------------------------
// Row 9: pm2 jlist vs --once
// ---------------------------------------------------------------------------------------------

/// Wall time of `cmd` in ms, an error unless it exits 0.
fn time(cmd: Command) -> R<f64> {
    let (d, out) = timed_output(cmd).map_err(|e| format!("run: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "exited {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(ms(d))
}

pub fn rows_pm2(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let Some(pm2) = which("pm2") else {
        return Ok(vec![Row::text(
            "9",
            "`pm2 jlist` vs `--once`",
            "pm2 is not installed (not on PATH): not measured",
        )]);
    };
    let env = Env::new(&o.bin, "")?;
    env.start()?;
    let pm2_home = env.spec.root.join("pm2-home");
    fs::create_dir_all(&pm2_home).map_err(|e| format!("mkdir: {e}"))?;
    let pm2_cmd = |args: &[&str]| {
        let mut c = Command::new(&pm2);
        c.args(args)
            .env("PM2_HOME", &pm2_home)
            .env("HOME", env.spec.home())
            .stdin(Stdio::null());
        c
    };
    let port = free_port()?;
    // One app under pm2: a second stand-in worker on its own port.
    let st = pm2_cmd(&["start"])
        .arg(&o.bin)
        .args([
            "--name",
            "bench-app",
            "--interpreter",
            "none",
            "--",
            "stand-in-worker",
            "--log-rate",
            "0",
            "--port",
        ])
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let result = (|| -> R<Vec<Row>> {
        if !st.as_ref().is_ok_and(|s| s.success()) {
            return Err(format!("pm2 start failed: {st:?}"));
        }
        // 0: `pm2 jlist`, 1: `--once`.
        let cmd = |v: usize| {
            if v == 0 {
                pm2_cmd(&["jlist"])
            } else {
                env.cmd(&["--once"])
            }
        };
        time(cmd(0))?;
        time(cmd(1))?;
        let n = o.pick(30, 2);
        let [p, c] = round_robin(n, |v| time(cmd(v)))?;
        let ratio = median(&p) / summary(&c).map_or(f64::NAN, |s| s.0);
        notes.push(format!(
            "9: {n} interleaved pairs; pm2 {} with a temporary PM2_HOME holding one app (a stand-in), its daemon killed afterwards",
            pm2.display()
        ));
        Ok(vec![
            Row::new("9", "`pm2 jlist` (one app)", "ms", Info).with(p),
            Row::new("9", "`--once` in the same runs", "ms", Info).with(c),
            Row::new(
                "9",
                "ratio of medians: pm2 jlist / --once",
                "×",
                // Issue 25's bar (it was 20× before the real worker's rows).
                AtLeast(40.0),
            )
            .with(vec![ratio]),
        ])
    })();
    let _ = pm2_cmd(&["kill"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    result
}

// ---------------------------------------------------------------------------------------------
// Row 11: `status` and `--once` against the floor program, side by side
// ---------------------------------------------------------------------------------------------

/// Wall time of the floor program (`bench --floor DATA_DIR`, this executable) on `data`.
fn floor(data: &Path) -> R<f64> {
    let me = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut c = Command::new(&me);
    c.arg("--floor")
        .arg(data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    time(c)
}

/// Each run / `base`.
fn ratios(t: &[f64], base: f64) -> Vec<f64> {
    t.iter().map(|x| x / base).collect()
}

pub fn rows_floor(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let env = Env::new(&o.bin, "")?;
    env.start()?;
    for _ in 0..3 {
        floor(&env.data())?;
        env.run(&["status"])?;
        env.run(&["--once"])?;
        env.run(&["ps"])?;
    }
    let n = o.pick(60, 3);
    let [t_floor, t_status, t_once, t_ps] = round_robin(n, |v| match v {
        0 => floor(&env.data()),
        1 => env.run_ok(&["status"]).map(ms),
        2 => env.run_ok(&["--once"]).map(ms),
        _ => env.run_ok(&["ps"]).map(ms),
    })?;
    let base = median(&t_floor);
    notes.push(format!(
        "11: {n} runs of each, round-robin; floor = `bench --floor` (reads .worker.pid/.worker.port, one GET /health on a std TcpStream, prints), median {base:.2} ms; `status` median {:.2} ms, `--once` median {:.2} ms, `ps` (the census both include) median {:.2} ms; ratios are each run / the floor's median",
        median(&t_status),
        median(&t_once),
        median(&t_ps)
    ));
    let mut rows = vec![
        Row::new(
            "11",
            "floor program (PID+port files, one GET /health)",
            "ms",
            Info,
        )
        .with(t_floor),
        Row::new("11", "`status` / floor", "×", AtMost(2.0)).with(ratios(&t_status, base)),
        Row::new("11", "`--once` / floor", "×", AtMost(2.0)).with(ratios(&t_once, base)),
        Row::new("11", "`ps` / floor (the census in both)", "×", Info).with(ratios(&t_ps, base)),
    ];
    drop(env);

    // The same against a real release's worker, with that release's own `status` beside.
    let release = match crate::release::find() {
        Ok(r) => r,
        Err(why) => {
            let line = format!("11: no row against a real claude-mem release: {why}");
            eprintln!("bench: {line}");
            notes.push(line);
            return Ok(rows);
        }
    };
    let run = crate::release::start(release)?;
    let result = (|| -> R<Vec<Row>> {
        let sb = &run.sandbox;
        let ours = |args: &[&str]| -> R<f64> {
            let mut c = sb.cmd(&o.bin, args);
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            time(c)
        };
        let theirs = || -> R<f64> {
            let mut c = run.own_status();
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            time(c)
        };
        for _ in 0..3 {
            floor(&sb.data())?;
            ours(&["status"])?;
            ours(&["--once"])?;
            theirs()?;
        }
        let n = o.pick(30, 2);
        let [f, st, once, own] = round_robin(n, |v| match v {
            0 => floor(&sb.data()),
            1 => ours(&["status"]),
            2 => ours(&["--once"]),
            _ => theirs(),
        })?;
        let base = median(&f);
        let v = &run.release.version;
        notes.push(format!(
            "11 (claude-mem {v}): {n} runs of each, round-robin, against the release's own worker ({} {} --daemon, a temporary HOME, port {}); floor median {base:.2} ms, `status` {:.2} ms, `--once` {:.2} ms, the release's own `status` {:.2} ms",
            run.release.bun.display(),
            run.release.script.display(),
            sb.port,
            median(&st),
            median(&once),
            median(&own),
        ));
        Ok(vec![
            Row::new("11", format!("floor, claude-mem {v} worker"), "ms", Info).with(f),
            Row::new(
                "11",
                format!("`status` / floor, claude-mem {v}"),
                "×",
                AtMost(2.0),
            )
            .with(ratios(&st, base)),
            Row::new(
                "11",
                format!("`--once` / floor, claude-mem {v}"),
                "×",
                AtMost(2.0),
            )
            .with(ratios(&once, base)),
            Row::new(
                "11",
                format!("claude-mem {v}'s own `status` / floor"),
                "×",
                Info,
            )
            .with(ratios(&own, base)),
        ])
    })();
    crate::release::stop(run, Some(&o.bin));
    rows.extend(result?);
    Ok(rows)
}

// ---------------------------------------------------------------------------------------------
// Rows 11b and 11c: the floor comparison with a `/health`-only worker, and with three other data
// dirs' workers running on the host
// ---------------------------------------------------------------------------------------------

/// `n` rounds of the floor, `status` and `--once` against `env`'s worker, round-robin (after
/// three warm-ups of each): their wall times in ms.
fn vs_floor(env: &Env, n: usize) -> R<[Vec<f64>; 3]> {
    for _ in 0..3 {
        floor(&env.data())?;
        env.run_ok(&["status"])?;
        env.run_ok(&["--once"])?;
    }
    round_robin(n, |v| match v {
        0 => floor(&env.data()),
        1 => env.run_ok(&["status"]).map(ms),
        _ => env.run_ok(&["--once"]).map(ms),
    })
}

/// The three rows of a floor comparison: the floor (ms), `status` / floor, `--once` / floor.
fn floor_rows(id: &'static str, what: &str, [f, st, once]: [Vec<f64>; 3]) -> Vec<Row> {
    let base = median(&f);
    vec![
        Row::new(id, format!("floor program, {what}"), "ms", Info).with(f),
        Row::new(id, format!("`status` / floor, {what}"), "×", AtMost(2.0)).with(ratios(&st, base)),
        Row::new(id, format!("`--once` / floor, {what}"), "×", AtMost(2.0))
            .with(ratios(&once, base)),
    ]
}

/// "floor median 1.35 ms, `status` 2.70 ms, `--once` 2.78 ms".
fn floor_medians([f, st, once]: &[Vec<f64>; 3]) -> String {
    format!(
        "floor median {:.2} ms, `status` {:.2} ms, `--once` {:.2} ms",
        median(f),
        median(st),
        median(once)
    )
}

/// Row 11b: the stand-in with `--bare` (GET /health only, 404 elsewhere, as the released 7.1.0).
pub fn rows_floor_bare(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let env = Env::new(&o.bin, "--bare")?;
    env.start()?;
    // It must be the /health-only worker the row says it is.
    let api = health::get(
        health::loopback(),
        env.spec.port,
        "/api/health",
        Duration::from_secs(1),
    );
    let code = api.result.as_ref().map(|r| r.status).ok();
    if code != Some(404) {
        return Err(format!(
            "11b: the --bare stand-in answered GET /api/health with {code:?}, not 404"
        ));
    }
    let n = o.pick(60, 3);
    let t = vs_floor(&env, n)?;
    notes.push(format!(
        "11b: {n} runs of each, round-robin, stand-in --bare (answers GET /health only, 404 elsewhere, as the released 7.1.0); {}; ratios are each run / the floor's median",
        floor_medians(&t)
    ));
    Ok(floor_rows("11b", "/health-only worker", t))
}

/// Row 11c: row 11b's `/health`-only worker with three more stand-ins (the full API), each in
/// its own data dir on its own port, running beside it: what other workers on the host add,
/// with nothing else changed from 11b.
pub fn rows_floor_crowd(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    // Each Env stops its worker when dropped (also when a later start fails).
    let mut others = Vec::new();
    for _ in 0..3 {
        let e = Env::new(&o.bin, "")?;
        e.start()?;
        others.push(e);
    }
    let env = Env::new(&o.bin, "--bare")?;
    env.start()?;
    let mut workers = Vec::new();
    for e in others.iter().chain([&env]) {
        let pid = e.worker_pid().ok_or("a stand-in left no .worker.pid")?;
        let token = platform::start_token(pid).ok_or("a stand-in is not running")?;
        workers.push((pid, token, e.spec.port));
    }
    let n = o.pick(60, 3);
    let t = vs_floor(&env, n)?;
    let ports: Vec<String> = workers.iter().map(|w| w.2.to_string()).collect();
    drop(env);
    drop(others);
    // Every worker this row started must be gone now.
    let left: Vec<String> = workers
        .iter()
        .filter(|(pid, token, _)| platform::is_same(*pid, *token))
        .map(|(pid, _, _)| pid.to_string())
        .collect();
    if !left.is_empty() {
        return Err(format!(
            "11c: stand-in workers still running after their stop: PIDs {}",
            left.join(", ")
        ));
    }
    notes.push(format!(
        "11c: {n} runs of each, round-robin, against 11b's stand-in --bare while three other stand-ins (the full API) run, each in its own temporary data dir (ports {}; ours last); {}; all four stopped afterwards",
        ports.join(", "),
        floor_medians(&t)
    ));
    Ok(floor_rows("11c", "3 other data dirs' workers running", t))
}
