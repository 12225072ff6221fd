//! `supervise --max-memory` (pm2's max_memory_restart), with the stand-in worker leaking
//! 20 MB a second (`--grow-memory 20`): restarted through the restart policy within 25 s, the
//! log saying it was for memory; a worker under the limit is never restarted for it.

// The supervisor is ended with SIGTERM, and resident memory is read from /proc: Unix.
#![cfg(unix)]

use std::process::Child;
use std::time::{Duration, Instant};

use crate::common::{alive, signal, wait_until, Env};
use crate::supervise::{spawn_supervise, wait_exit};

/// SIGTERM to the supervisor (it stops the worker), then its bounded exit.
fn end(mut sup: Child) {
    signal(sup.id() as i32, libc::SIGTERM);
    wait_exit(&mut sup);
}

fn supervisor_lines(env: &Env) -> Vec<String> {
    env.log()
        .lines()
        .filter(|l| l.contains("[SUPERVISOR]"))
        .map(str::to_string)
        .collect()
}

#[test]
fn a_growing_worker_is_restarted_for_its_memory() {
    let env = Env::stand_in("--grow-memory 20");
    let t0 = Instant::now();
    let sup = spawn_supervise(&env, &["--max-memory", "80M"]);
    wait_until(Duration::from_secs(30), "the supervised worker", || {
        env.supervise_state()["state"] == "running" && env.pid().is_some_and(alive)
    });
    let first = env.pid().expect("worker pid");
    wait_until(Duration::from_secs(25), "a restart for memory", || {
        supervisor_lines(&env)
            .iter()
            .any(|l| l.contains("restarting: memory"))
    });
    let took = t0.elapsed();
    wait_until(Duration::from_secs(30), "the next worker", || {
        env.pid().is_some_and(|p| p != first && alive(p))
    });
    let lines = supervisor_lines(&env);
    let all = lines.join("\n");
    let why = lines
        .iter()
        .find(|l| l.contains("restarting: memory"))
        .expect("the line");
    assert!(
        why.contains("[WARN ]")
            && why.contains("above --max-memory 80.0 MB")
            && why.contains("the worker and 0 child process(es)")
            && why.contains(&format!("pid={first}")),
        "{all}"
    );
    // Through the restart policy: counted, with its backoff.
    assert!(
        lines
            .iter()
            .any(|l| l.contains("memory") && l.contains("restart 1/5 in 1s")),
        "{all}"
    );
    assert!(!alive(first), "the old worker still runs");
    assert!(took < Duration::from_secs(25), "{took:?}");
    end(sup);
}

#[test]
fn a_worker_under_the_limit_is_left_alone() {
    let env = Env::stand_in("");
    let sup = spawn_supervise(
        &env,
        &[
            "--max-memory",
            "1G",
            "--max-memory-of",
            "worker",
            "--max-memory-samples",
            "1",
            "--health-interval",
            "100ms",
        ],
    );
    wait_until(Duration::from_secs(30), "the supervised worker", || {
        env.supervise_state()["state"] == "running" && env.pid().is_some_and(alive)
    });
    let pid = env.pid().expect("worker pid");
    // Ten of its log lines (at 2 a second: ~5 s, some 50 samples) with no restart.
    let before = env.log().lines().count();
    wait_until(Duration::from_secs(30), "ten more log lines", || {
        env.log().lines().count() >= before + 10
    });
    assert_eq!(env.pid(), Some(pid));
    assert!(alive(pid));
    let all = supervisor_lines(&env).join("\n");
    assert!(!all.contains("restarting: memory"), "{all}");
    assert!(!all.contains("restart 1/"), "{all}");
    end(sup);
}

#[test]
fn a_bad_size_is_refused() {
    let env = Env::new();
    let out = env.run(&["supervise", "--max-memory", "80X"]);
    out.code(2);
    assert!(out.stderr.contains("not a size"), "{}", out.both());
}

#[test]
fn doctor_reports_the_worker_and_its_helpers_memory() {
    let env = Env::stand_in("--spawn-helpers");
    env.run(&["start"]).code(0);
    let pid = env.pid().expect("worker pid");
    // The helpers log their PIDs as they start; wait for the census to see all three.
    let mut memory = serde_json::Value::Null;
    wait_until(
        Duration::from_secs(30),
        "the helpers in doctor's census",
        || {
            let v = env.run(&["doctor", "--json"]).json();
            memory = v["checks"]
                .as_array()
                .and_then(|c| c.iter().find(|c| c["id"] == "memory").cloned())
                .unwrap_or_default();
            memory["message"]
                .as_str()
                .is_some_and(|m| m.contains("and 3 live helper(s)"))
        },
    );
    assert_eq!(memory["status"], "ok", "{memory}");
    assert!(
        memory["message"]
            .as_str()
            .is_some_and(|m| m.contains(&format!("the worker PID {pid} and"))),
        "{memory}"
    );
}
