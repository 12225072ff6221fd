//! Ownership is part of the proof (issue 22): a PID file copied from another data dir, or a port
//! shared with another data dir's or another user's worker, never makes that worker this data
//! dir's. Every action refuses and signals nothing; every surface names whose worker it is.
//! (The same cases against the real claude-mem worker are in `real_worker`.)

#![cfg(unix)]

use std::time::Duration;

use crate::common::{self, alive, wait_until, Env, CALL};

/// A stand-in worker started by `start` for data dir A (so its environment names A), and a
/// second data dir B (its own HOME and port) holding a copy of A's PID file.
fn copied(same_port: bool) -> (Env, Env, i32) {
    let a = Env::stand_in("");
    a.run(&["start"]).code(0);
    let pid = a.pid().expect("A's PID file");
    // The same worker command (a real install runs one script for every data dir).
    let mut b = Env::new().with_args(&a.worker_args);
    if same_port {
        b.port = a.port;
    }
    // B's PID file is a copy: never stop on drop through it.
    b.stop_on_drop = false;
    b.make_dir();
    b.write(
        ".worker.pid",
        a.read(".worker.pid").expect("A's .worker.pid"),
    );
    b.write(
        ".worker.port",
        a.read(".worker.port").expect("A's .worker.port"),
    );
    (a, b, pid)
}

fn a_still_serves(a: &Env, pid: i32) {
    assert!(alive(pid), "A's worker {pid} was signalled");
    let out = a.run(&["status"]);
    out.code(0);
    assert!(
        out.stdout.contains(&format!("PID: {pid}")),
        "{}",
        out.both()
    );
}

fn names_a(text: &str, a: &Env) {
    let dir = std::fs::canonicalize(&a.dir).expect("A's dir");
    assert!(
        text.contains(&dir.display().to_string()),
        "does not name A's data dir {}:\n{text}",
        dir.display()
    );
}

#[test]
fn a_copied_pid_file_names_the_other_data_dir_and_every_action_refuses() {
    for same_port in [false, true] {
        let (a, b, pid) = copied(same_port);
        let st = b.run(&["status"]);
        // Another port: the file is stale (1); the same port: the port is taken (152).
        let want = if same_port { 152 } else { 1 };
        st.code(want);
        names_a(&st.both(), &a);
        let js = b.run(&["status", "--json"]);
        let v = js.json();
        assert_eq!(v["elsewhere"]["owner"], "other-data-dir", "{}", js.stdout);
        assert_eq!(v["elsewhere"]["pid"], pid, "{}", js.stdout);
        crate::support_schema::check("assets/status.schema.json", &v);
        for action in [
            &["stop"][..],
            &["restart"],
            &["ensure"],
            &["start"],
            &["adopt"],
        ] {
            let out = b.run(action);
            assert_eq!(
                out.status.code(),
                Some(1),
                "{action:?} (same port: {same_port}): {}",
                out.both()
            );
            names_a(&out.both(), &a);
            a_still_serves(&a, pid);
        }
        // The copy is not ours to remove, and the refusals wrote nothing (not even a lock file).
        assert!(b.exists(".worker.pid"));
        assert!(
            !b.exists(".claude-mem-top.lock"),
            "a refused action left a lock file"
        );
        // B's own port stays free: nothing was started for B.
        if !same_port {
            assert!(std::net::TcpStream::connect(("127.0.0.1", b.port)).is_err());
        }
        let doc = b.run(&["doctor"]);
        names_a(&doc.both(), &a);
    }
}

#[test]
fn supervise_in_a_data_dir_with_a_copied_pid_file_never_signals_the_other_worker() {
    let (a, b, pid) = copied(true);
    let sup = common::spawn(b.cmd(&["supervise", "--max-restarts", "1", "--window", "1m"]));
    // It gives up (the port is another data dir's worker's) or keeps refusing; either way A's
    // worker is never signalled. Wait for it to end, bounded.
    let out = sup.wait(Duration::from_secs(30));
    assert_ne!(out.status.code(), Some(0), "{}", out.both());
    a_still_serves(&a, pid);
}

#[test]
fn another_data_dirs_worker_on_the_port_is_taken_not_unmanaged() {
    // A worker started directly for another data dir (its CLAUDE_MEM_DATA_DIR), on B's port,
    // with no PID file in B.
    let b = Env::stand_in("");
    b.make_dir();
    let other = b.root.path().join("other-data");
    std::fs::create_dir_all(&other).expect("dir");
    let mut c = b.worker_command(b.port, &[]);
    c.env("CLAUDE_MEM_DATA_DIR", &other);
    let pid = b.own(c.spawn().expect("spawn"));
    common::wait_listening(b.port, CALL);
    let st = b.run(&["status"]);
    st.code(152);
    assert!(st.stdout.contains("other-data"), "{}", st.both());
    for action in [&["stop"][..], &["adopt"], &["ensure"]] {
        let out = b.run(action);
        assert_eq!(out.status.code(), Some(1), "{action:?}: {}", out.both());
        assert!(
            alive(pid),
            "{action:?} signalled the other data dir's worker"
        );
    }
    let ps = b.run(&["ps"]);
    assert!(ps.stdout.contains("other-data-dir"), "{}", ps.both());
    let once = b.run(&["--once", "--json"]);
    assert_eq!(once.json()["state"], "taken", "{}", once.stdout);
    assert!(!b.exists(".worker.pid"));
}

#[test]
fn another_users_worker_on_the_port_is_named_and_never_signalled() {
    if !common::is_root() || !common::setpriv_available() {
        common::skip(
            "ownership::another_users_worker_on_the_port_is_named_and_never_signalled",
            "needs root and setpriv to run a worker as another user",
        );
        return;
    }
    let b = Env::stand_in("");
    b.make_dir();
    let mut worker = std::process::Command::new("setpriv");
    // This data dir's own worker command, run by another user.
    let argv = shlex::split(&b.worker_cmd()).expect("worker command");
    worker
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(&argv)
        .env_clear()
        .env("HOME", "/nonexistent")
        .env("CLAUDE_MEM_WORKER_PORT", b.port.to_string())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let pid = b.own(worker.spawn().expect("worker as nobody"));
    common::wait_listening(b.port, CALL);
    let who = claude_mem_top::platform::user_name(65534).unwrap_or_else(|| "uid 65534".into());
    let st = b.run(&["status"]);
    st.code(152);
    assert!(st.both().contains(&who), "{}", st.both());
    let stop = b.run(&["stop"]);
    stop.code(1);
    assert!(stop.both().contains(&who), "{}", stop.both());
    let ps = b.run(&["ps"]);
    assert!(
        ps.stdout.contains("other-user") && ps.stdout.contains(&who),
        "{}",
        ps.both()
    );
    wait_until(CALL, "the worker still runs", || alive(pid));
}

/// `reap` (and the dashboard's `X`, which uses the same list) ends only this data dir's orphans:
/// another data dir's leaked helpers are its own to reap.
#[test]
fn another_data_dirs_orphans_are_not_reaped_here() {
    let a = Env::stand_in("--spawn-helpers");
    a.run(&["start"]).code(0);
    let worker = a.pid().expect("A's worker");
    let mut helpers: Vec<i64> = Vec::new();
    wait_until(CALL, "A's three helpers in ps", || {
        let v = a.run(&["ps", "--json"]).code(0).json();
        helpers = v["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["worker"].as_i64() == Some(i64::from(worker)) && m["class"] == "helper")
            .filter_map(|m| m["pid"].as_i64())
            .collect();
        helpers.len() == 3
    });
    let helpers: Vec<i32> = helpers.into_iter().map(|p| p as i32).collect();
    // A's worker dies alone: its helpers leak, orphaned, tied to A.
    common::kill(worker);
    wait_until(CALL, "A's worker gone", || !alive(worker));
    let b = Env::new().with_args(&a.worker_args);
    b.make_dir();
    let dry = b.run(&["reap", "--dry-run", "--json"]);
    dry.code(0);
    assert_eq!(
        dry.json().as_array().map(Vec::len),
        Some(0),
        "{}",
        dry.stdout
    );
    b.run(&["reap"]).code(0);
    assert!(helpers.iter().all(|p| alive(*p)), "B reaped A's helpers");
    // A reaps its own.
    let out = a.run(&["reap"]);
    out.code(0);
    wait_until(CALL, "A's orphans ended by A's reap", || {
        helpers.iter().all(|p| !alive(*p))
    });
}
