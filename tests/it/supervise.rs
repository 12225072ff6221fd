//! `claude-mem-top supervise`, black-box with the stand-in worker: backoff and FATAL, never two
//! workers, its children reaped, `stop` is not a crash, Ctrl-C stops everything cleanly.

// Helpers and imports used only by this file's Unix-only tests.
#![cfg_attr(windows, allow(unused_imports, dead_code))]

#[allow(unused_imports)]
use crate::common;

use std::process::{Child, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(unix)]
use crate::common::signal;
use crate::common::{alive, live_with, stat, wait_until, Env, POLL};

/// The longest any single wait may take.
const LIMIT: Duration = Duration::from_secs(30);

pub(crate) fn spawn_supervise(env: &Env, args: &[&str]) -> Child {
    let mut full = vec!["supervise"];
    full.extend_from_slice(args);
    env.cmd(&full)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervise")
}

#[track_caller]
pub(crate) fn wait_exit(child: &mut Child) -> ExitStatus {
    let t0 = Instant::now();
    loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            return st;
        }
        if t0.elapsed() > LIMIT * 2 {
            let _ = child.kill();
            let _ = child.wait();
            panic!("supervise did not exit in time");
        }
        std::thread::sleep(POLL);
    }
}

/// Counts the stand-in workers of this test alive at the same time, until stopped.
struct Census {
    stop: Arc<AtomicBool>,
    max: Arc<AtomicUsize>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Census {
    fn start(marker: String) -> Census {
        let stop = Arc::new(AtomicBool::new(false));
        let max = Arc::new(AtomicUsize::new(0));
        let (s, m) = (stop.clone(), max.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let n =
                    live_with(&format!("stand-in-worker --log-rate 2 --version {marker}")).len();
                m.fetch_max(n, Ordering::Relaxed);
                std::thread::sleep(POLL);
            }
        });
        Census {
            stop,
            max,
            thread: Some(thread),
        }
    }

    fn finish(mut self) -> usize {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.max.load(Ordering::Relaxed)
    }
}

/// `[2026-11-25 10:36:39.277] …` → the time of the line.
fn when(line: &str) -> chrono::NaiveDateTime {
    let ts = line
        .strip_prefix('[')
        .and_then(|l| l.split(']').next())
        .expect("timestamped line");
    chrono::NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.3f").expect("timestamp")
}

fn pid_in(line: &str) -> Option<i32> {
    line.split("pid=")
        .nth(1)?
        .split([',', '}'])
        .next()?
        .parse()
        .ok()
}

#[test]
fn crashing_worker_is_restarted_with_growing_delays_then_fatal() {
    let env = Env::stand_in("--die-after 1000");
    let census = Census::start(env.marker());
    let mut sup = spawn_supervise(&env, &["--max-restarts", "3", "--window", "60s"]);
    let sup_pid = sup.id() as i32;

    // Each crashed worker is reaped by the supervisor while it still runs (no zombie child).
    let mut checked = Vec::new();
    let status = loop {
        if let Some(st) = sup.try_wait().expect("try_wait") {
            break st;
        }
        for line in env.log().lines().filter(|l| l.contains("worker exited")) {
            if let Some(pid) = pid_in(line).filter(|p| !checked.contains(p)) {
                wait_until(LIMIT, "the crashed worker to be reaped", || {
                    stat(pid).is_none_or(|(_, ppid, ..)| ppid != sup_pid)
                        || sup.try_wait().ok().flatten().is_some()
                });
                checked.push(pid);
            }
        }
        std::thread::sleep(POLL);
    };
    let most = census.finish();
    assert_eq!(status.code(), Some(1), "FATAL exits 1");
    assert!(most <= 1, "{most} workers ran at once");
    assert!(checked.len() >= 3, "saw {} crashed workers", checked.len());

    let log = env.log();
    let sup_lines: Vec<&str> = log.lines().filter(|l| l.contains("[SUPERVISOR]")).collect();
    let all = sup_lines.join("\n");
    // restart k/3 in 1s, 2s, 4s, each followed by a restart no sooner than its delay.
    for (k, secs) in [(1, 1i64), (2, 2), (3, 4)] {
        let i = sup_lines
            .iter()
            .position(|l| {
                l.contains(&format!(
                    "worker exited with code 1; restart {k}/3 in {secs}s"
                ))
            })
            .unwrap_or_else(|| panic!("no restart {k} in {secs}s:\n{all}"));
        let next = sup_lines[i + 1..]
            .iter()
            .find(|l| l.contains("restarting the worker"))
            .unwrap_or_else(|| panic!("no restart after line {i}:\n{all}"));
        let gap = when(next) - when(sup_lines[i]);
        assert!(
            gap >= chrono::Duration::milliseconds(secs * 1000 - 20),
            "restart {k} came after {gap} instead of {secs}s:\n{all}"
        );
    }
    let fatal = sup_lines
        .iter()
        .find(|l| l.contains("FATAL"))
        .unwrap_or_else(|| panic!("no FATAL:\n{all}"));
    assert!(
        fatal.contains("[ERROR]") && fatal.contains("--max-restarts 3"),
        "{fatal}"
    );
    assert_eq!(env.supervise_state()["state"], "fatal");
    assert_eq!(env.supervise_state()["restarts_total"], 3);
    assert!(
        live_with(&env.marker()).is_empty(),
        "a worker outlived FATAL"
    );
}

// Ends the supervisor with SIGINT/SIGTERM: Unix signals.
#[cfg(unix)]
#[test]
fn sigint_stops_the_supervisor_and_its_worker() {
    let env = Env::stand_in("");
    let mut sup = spawn_supervise(&env, &[]);
    wait_until(LIMIT, "the supervised worker", || {
        env.supervise_state()["state"] == "running" && env.pid().is_some_and(alive)
    });
    let worker = env.pid().expect("worker pid");
    assert_eq!(
        stat(worker).map(|(_, ppid, ..)| ppid),
        Some(sup.id() as i32)
    );

    signal(sup.id() as i32, libc::SIGINT);
    let st = wait_exit(&mut sup);
    assert_eq!(st.code(), Some(0), "{st:?}");
    assert!(!alive(worker), "the worker survived Ctrl-C");
    assert!(!env.path(".worker.pid").exists());
    assert_eq!(env.supervise_state()["state"], "exited");
    let log = env.log();
    assert!(
        log.contains("received SIGINT: stopping the worker"),
        "{log}"
    );
    assert!(!log.contains("restart 1/"), "{log}");
}

// Ends the supervisor with SIGINT/SIGTERM: Unix signals.
#[cfg(unix)]
#[test]
fn a_stop_is_not_a_crash_and_one_supervisor_per_data_dir() {
    let env = Env::stand_in("");
    let mut sup = spawn_supervise(&env, &["--health-interval", "100ms"]);
    wait_until(LIMIT, "the supervised worker", || {
        env.supervise_state()["state"] == "running" && env.pid().is_some_and(alive)
    });

    let second = env.run(&["supervise"]);
    second.code(1);
    assert!(second.stderr.contains("already supervises"));

    let first = env.pid().expect("worker pid");
    env.run(&["stop"]).code(0);
    wait_until(LIMIT, "the supervisor to see the stop", || {
        env.supervise_state()["state"] == "stopped"
    });
    assert!(env.log().contains("stopped on purpose"));

    // Started again by hand: the supervisor takes it over instead of having restarted it.
    env.run(&["start"]).code(0);
    wait_until(LIMIT, "the supervisor to adopt the new worker", || {
        env.log().contains("the worker was started again")
    });
    let log = env.log();
    assert!(
        !log.contains("restart 1/"),
        "a stop was taken for a crash:\n{log}"
    );
    let second_worker = env.pid().expect("new worker");
    assert_ne!(second_worker, first);

    signal(sup.id() as i32, libc::SIGTERM);
    let st = wait_exit(&mut sup);
    assert_eq!(st.code(), Some(0));
    wait_until(LIMIT, "the adopted worker to stop", || {
        !alive(second_worker)
    });
}

#[test]
fn restart_never_exits_with_the_worker() {
    let env = Env::stand_in("--die-after 300");
    let mut sup = spawn_supervise(&env, &["--restart", "never"]);
    let st = wait_exit(&mut sup);
    assert_eq!(st.code(), Some(1));
    let log = env.log();
    assert!(
        log.contains("--restart never: the supervisor exits"),
        "{log}"
    );
    assert!(!log.contains("restarting the worker"), "{log}");
    assert!(live_with(&env.marker()).is_empty());
}

/// `supervise` with a 300 ms unhealthy limit, one restart allowed and a 100 ms first backoff,
/// over a stand-in with `switches`, run to its end: the exit, the most workers seen at once,
/// the log, and the world (to look for leftovers).
fn supervise_until_it_gives_up(switches: &str) -> (ExitStatus, usize, String, Env) {
    let env = Env::stand_in(switches);
    let census = Census::start(env.marker());
    let mut sup = env
        .cmd(&[
            "supervise",
            "--unhealthy-after",
            "300ms",
            "--health-interval",
            "50ms",
            "--max-restarts",
            "1",
        ])
        // Hidden, for tests: a shorter first backoff (the default stays 1 s).
        .env("CLAUDE_MEM_TOP_SUPERVISE_BACKOFF", "100ms")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervise");
    let st = wait_exit(&mut sup);
    let most = census.finish();
    let log = env.log();
    (st, most, log, env)
}

#[test]
fn a_worker_that_stays_unhealthy_is_stopped_and_restarted() {
    let (st, most, log, env) = supervise_until_it_gives_up("--health-fail-after 400");
    assert_eq!(st.code(), Some(1), "FATAL after the second unhealthy spell");
    assert!(most <= 1, "{most} workers ran at once");
    let spells = log
        .matches("worker unhealthy for 300ms (GET /health: HTTP 500): stopping it")
        .count();
    assert_eq!(spells, 2, "{log}");
    assert!(log.contains("restart 1/1 in 100ms"), "{log}");
    assert!(log.contains("FATAL"), "{log}");
    assert!(
        live_with(&env.marker()).is_empty(),
        "an unhealthy worker was left running"
    );
}

#[test]
fn a_wedged_worker_is_restarted_like_an_unhealthy_one() {
    // Healthy at first, then it accepts connections and never answers.
    let (st, most, log, env) = supervise_until_it_gives_up("--wedged-after 400");
    assert_eq!(st.code(), Some(1), "FATAL after the second wedged spell");
    assert!(most <= 1, "{most} workers ran at once");
    let spells = log
        .matches(
            "worker wedged for 300ms: it accepts connections but does not answer HTTP \
             (GET /health: no answer within 1000 ms): stopping it",
        )
        .count();
    assert_eq!(spells, 2, "{log}");
    assert!(log.contains("restart 1/1 in 100ms"), "{log}");
    assert!(
        live_with(&env.marker()).is_empty(),
        "a wedged worker was left running"
    );
}

#[test]
fn an_unmanaged_worker_on_the_port_is_named_and_never_killed() {
    let env = Env::stand_in("");
    env.make_dir();
    // Started by hand: no PID file names it.
    let unmanaged = env.spawn_worker_directly(env.port, &[], true);
    let mut sup = env
        .cmd(&["supervise", "--max-restarts", "1"])
        .env("CLAUDE_MEM_TOP_SUPERVISE_BACKOFF", "100ms")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn supervise");
    let st = wait_exit(&mut sup);
    assert_eq!(
        st.code(),
        Some(1),
        "FATAL: it cannot start a worker of its own"
    );
    let log = env.log();
    assert!(
        log.contains(&format!(
            "the claude-mem worker PID {unmanaged} (unmanaged, vtest-{}) holds port {}",
            env.port, env.port
        )),
        "{log}"
    );
    assert!(alive(unmanaged), "supervise killed the unmanaged worker");
}
