//! Issue 6, cases 1–4: races and identity. Exactly one worker however many callers race; a PID
//! file is trusted only when it names the process that was recorded; nothing else is signalled.

#[allow(unused_imports)]
use crate::common;

use std::time::Duration;

use crate::common::{alive, spawn, wait_until, Env, CALL};

/// The end state is consistent: either one healthy worker named by the PID file, or none and no
/// PID file.
fn assert_consistent(env: &Env) {
    let st = env.run(&["status"]);
    let workers = env.workers();
    match st.code {
        0 => {
            assert_eq!(workers, vec![env.pid().expect("pid file")], "{}", st.both());
        }
        3 => {
            assert!(
                workers.is_empty(),
                "orphan workers {workers:?}: {}",
                st.both()
            );
            assert!(!env.exists(".worker.pid") && !env.exists(".worker.port"));
        }
        _ => panic!("inconsistent end state: {}", st.both()),
    }
}

// ---- case 1 -------------------------------------------------------------------------------

#[test]
fn case01_twenty_concurrent_ensure_twenty_rounds_start_exactly_one_worker() {
    let env = Env::new();
    for round in 0..20 {
        let calls: Vec<_> = (0..20)
            .map(|_| spawn(env.cmd(&["ensure", "--timeout", "10s"])))
            .collect();
        for c in calls {
            let out = c.wait(CALL);
            out.code(0);
            assert_eq!(out.stdout, "", "ensure printed on stdout: {}", out.both());
        }
        let workers = env.workers();
        assert_eq!(
            workers.len(),
            1,
            "round {round}: workers {workers:?}, pid file {:?}",
            env.pid()
        );
        assert_eq!(Some(workers[0]), env.pid(), "round {round}");
        env.run(&["stop", "--grace", "2s"]).code(0);
        assert!(
            env.workers().is_empty(),
            "round {round}: worker survived stop"
        );
    }
}

/// Is the data dir's lock held by someone (a running start/stop)?
fn lock_held(env: &Env) -> bool {
    let Ok(f) = std::fs::File::open(env.path(".claude-mem-top.lock")) else {
        return false;
    };
    // Taken and released right away: held only if someone else has it.
    match f.try_lock() {
        Ok(()) => {
            let _ = f.unlock();
            false
        }
        Err(_) => true,
    }
}

#[test]
fn case01_start_during_stop_ends_consistent_without_orphans() {
    // The worker ignores SIGTERM, so `stop` holds the lock for its whole grace period.
    let env = Env::new().with_args("--ignore-sigterm --spawn-child");
    env.run(&["start"]).code(0);
    let old = env.pid().expect("pid");
    let stop = spawn(env.cmd(&["stop", "--grace", "700ms"]));
    wait_until(Duration::from_secs(10), "stop to take the lock", || {
        lock_held(&env)
    });
    let start = spawn(env.cmd(&["start"]));
    let stopped = stop.wait(CALL);
    let started = start.wait(CALL);
    stopped.code(0);
    started.code(0);
    assert!(stopped
        .stdout
        .contains(&format!("Worker stopped (PID {old})")));
    assert!(
        started.stdout.contains("Worker started") || started.stdout.contains("already running"),
        "{}",
        started.both()
    );
    assert!(!alive(old));
    assert_consistent(&env);
    assert_eq!(env.workers().len(), 1, "start after stop: one new worker");
}

#[test]
fn case01_stop_during_start_ends_consistent_without_orphans() {
    // The worker takes a while to listen, so `start` holds the lock while it waits for health.
    let env = Env::new().with_args("--slow-start 600 --spawn-child");
    let start = spawn(env.cmd(&["start"]));
    wait_until(
        Duration::from_secs(10),
        "start to write the PID file",
        || env.pid().is_some(),
    );
    let stop = spawn(env.cmd(&["stop", "--grace", "2s"]));
    let started = start.wait(CALL);
    let stopped = stop.wait(CALL);
    started.code(0);
    stopped.code(0);
    assert!(
        stopped.stdout.contains("Worker stopped"),
        "{}",
        stopped.both()
    );
    assert_consistent(&env);
    wait_until(
        Duration::from_secs(5),
        "no process of the worker left",
        || env.ours().is_empty(),
    );
}

#[test]
fn case01_mixed_concurrent_starts_and_stops_end_consistent() {
    let env = Env::new().with_args("--spawn-child");
    for _ in 0..3 {
        let calls: Vec<_> = (0..12)
            .map(|i| {
                let args: &[&str] = match i % 3 {
                    0 => &["stop", "--grace", "2s"],
                    1 => &["start"],
                    _ => &["restart", "--grace", "2s"],
                };
                spawn(env.cmd(args))
            })
            .collect();
        for c in calls {
            c.wait(CALL).code(0);
        }
        assert_consistent(&env);
        // Children of stopped workers are gone too.
        let live = env.workers().len();
        wait_until(
            Duration::from_secs(5),
            "only the live worker's family",
            || env.ours().len() == live * 2,
        );
    }
}

// ---- case 2 -------------------------------------------------------------------------------

#[test]
fn case02_pid_reuse_unrelated_process_started_after_the_file_is_never_signalled() {
    let env = Env::new();
    // A process running the very worker command (so only the start-time rule tells them apart),
    // and a plain unrelated process.
    let other_port = common::free_port();
    let impostor = env.spawn_worker_directly(other_port, &[], true);
    let sleeper = env.spawn_sleep();
    for victim in [impostor, sleeper] {
        // The PID file was "written" 30 s ago; the process started after that.
        env.write(".worker.pid", victim.to_string());
        env.age(".worker.pid", 30);
        let st = env.run(&["status"]);
        st.code(1);
        assert!(st.stdout.contains("stale PID file"), "{}", st.both());
        let json = env.run(&["status", "--json"]).code(1).json();
        assert_eq!(json["state"], "stale");

        let stop = env.run(&["stop", "--grace", "500ms"]);
        stop.code(0);
        assert!(
            stop.stdout.contains("Worker is not running"),
            "{}",
            stop.both()
        );
        assert!(stop.stdout.contains("not signalled"), "{}", stop.both());
        assert!(alive(victim), "stop signalled PID {victim}");

        env.write(".worker.pid", victim.to_string());
        env.age(".worker.pid", 30);
        let start = env.run(&["start"]);
        start.code(0);
        assert!(start.stdout.contains("removed stale"), "{}", start.both());
        assert!(alive(victim), "start signalled PID {victim}");
        let new = env.pid().expect("new pid");
        assert_ne!(new, victim);
        env.run(&["status"]).code(0);
        env.run(&["stop", "--grace", "2s"]).code(0);
        assert!(
            alive(victim),
            "stop of the new worker signalled PID {victim}"
        );
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", other_port)).is_ok(),
        "the impostor still serves"
    );
}

#[test]
fn case02_pid_file_naming_the_test_process_is_stale_and_never_signalled() {
    let env = Env::new();
    let me = std::process::id().to_string();
    env.write(".worker.pid", &me);
    env.write(".worker.port", format!("{}\n{me}", env.port));
    let st = env.run(&["status"]);
    st.code(1);
    assert!(st.stdout.contains("is not the worker"), "{}", st.both());
    // If either of these signalled us, this test would not get to its end.
    env.run(&["stop", "--grace", "300ms"]).code(0);
    env.write(".worker.pid", &me);
    env.run(&["start"]).code(0);
    assert_ne!(env.pid(), Some(std::process::id() as i32));
    env.run(&["status"]).code(0);
}

#[test]
fn case02_pid_file_naming_pid_1_is_stale_and_never_signalled() {
    let env = Env::new();
    let before = common::stat(1);
    env.write(".worker.pid", "1");
    let st = env.run(&["status"]);
    st.code(1);
    assert!(st.stdout.contains("PID 1 is init"), "{}", st.both());
    let stop = env.run(&["stop"]);
    stop.code(0);
    assert!(stop.stdout.contains("not signalled"), "{}", stop.both());
    assert!(
        !env.exists(".worker.pid"),
        "proven-stale regular file removed"
    );
    assert_eq!(common::stat(1).map(|s| s.0), before.map(|s| s.0));
}

// ---- case 3 -------------------------------------------------------------------------------

#[test]
fn case03_invalid_pid_file_contents_are_stale_with_a_clear_message() {
    let env = Env::new();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", b"".to_vec()),
        ("whitespace", b" \n\t ".to_vec()),
        ("abc", b"abc".to_vec()),
        ("-1", b"-1".to_vec()),
        ("0", b"0".to_vec()),
        ("1", b"1".to_vec()),
        ("4294967296", b"4294967296".to_vec()),
        ("37777abc", b"37777abc".to_vec()),
        ("NUL bytes", b"12\0\0".to_vec()),
        ("not UTF-8", b"12\xff".to_vec()),
        ("10 MB of digits", vec![b'7'; 10 * 1024 * 1024]),
    ];
    let file = env.path(".worker.pid").display().to_string();
    for (what, content) in &cases {
        env.write(".worker.pid", content);
        let st = env.run(&["status"]);
        assert_eq!(st.code, 1, "{what}: {}", st.both());
        assert!(
            st.stdout.contains(&file) || st.stdout.contains("PID file  .worker.pid: PID 1"),
            "{what}: names the file: {}",
            st.both()
        );
        assert!(!st.stderr.contains("panicked"), "{what}: {}", st.both());
        assert!(
            st.elapsed < Duration::from_secs(5),
            "{what}: took {:?}",
            st.elapsed
        );
        assert_eq!(
            env.run(&["status", "--json"]).json()["state"],
            "stale",
            "{what}"
        );

        // stop removes it (a proven-stale regular file) and signals nothing.
        let stop = env.run(&["stop", "--grace", "300ms"]);
        assert_eq!(stop.code, 0, "{what}: {}", stop.both());
        assert!(!env.exists(".worker.pid"), "{what}: not removed");
    }
    // start replaces an invalid file and starts the worker.
    for (what, content) in cases.iter().take(3) {
        env.write(".worker.pid", content);
        let start = env.run(&["start"]);
        assert_eq!(start.code, 0, "{what}: {}", start.both());
        assert!(env.pid().is_some(), "{what}");
        env.run(&["stop", "--grace", "2s"]).code(0);
    }
}

// Symlinks, FIFOs and other owners' files: Unix file types and uids.
#[cfg(unix)]
#[test]
fn case03_untrusted_pid_files_are_unknown_and_left_untouched() {
    use std::os::unix::fs::symlink;
    let env = Env::new();
    std::fs::create_dir_all(&env.dir).expect("data dir");
    let path = env.path(".worker.pid");
    let target = env.root.path().join("elsewhere.pid");
    std::fs::write(&target, std::process::id().to_string()).expect("target");
    type Make = Box<dyn Fn(&std::path::Path)>;
    let makers: Vec<(&str, Make)> = vec![
        (
            "a directory",
            Box::new(|p| std::fs::create_dir(p).expect("mkdir")),
        ),
        (
            "a FIFO",
            Box::new(|p| {
                let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).expect("path");
                // SAFETY: a valid C string.
                assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
            }),
        ),
        (
            "a symlink",
            Box::new(move |p| symlink(&target, p).expect("symlink")),
        ),
        (
            "owned by another user",
            Box::new(|p| {
                std::fs::write(p, "4242").expect("write");
                std::os::unix::fs::chown(p, Some(65534), Some(65534)).expect("chown");
            }),
        ),
    ];
    let file = path.display().to_string();
    for (what, make) in &makers {
        if *what == "owned by another user" && !common::is_root() {
            common::skip(
                "a PID file owned by another user",
                "needs root to chown the file to another user",
            );
            continue;
        }
        make(&path);
        let meta = std::fs::symlink_metadata(&path).expect("made");
        for args in [&["status"][..], &["stop", "--grace", "300ms"], &["start"]] {
            let out = env.run(args);
            assert_eq!(out.code, 4, "{what} / {args:?}: {}", out.both());
            let text = format!("{}{}", out.stdout, out.stderr);
            assert!(
                text.contains(&file),
                "{what} / {args:?}: names the file: {}",
                out.both()
            );
            assert!(
                out.elapsed < Duration::from_secs(5),
                "{what}: hung {:?}",
                out.elapsed
            );
        }
        let after = std::fs::symlink_metadata(&path).expect("still there");
        assert_eq!(
            (
                after.file_type(),
                std::os::unix::fs::MetadataExt::ino(&after)
            ),
            (meta.file_type(), std::os::unix::fs::MetadataExt::ino(&meta)),
            "{what}: touched"
        );
        assert!(env.workers().is_empty(), "{what}: started a worker anyway");
        if meta.is_dir() {
            std::fs::remove_dir(&path).expect("cleanup");
        } else {
            std::fs::remove_file(&path).expect("cleanup");
        }
    }
}

// ---- case 4 -------------------------------------------------------------------------------

#[test]
fn case04_port_file_disagreeing_with_pid_file_or_settings_is_reported() {
    let env = Env::new();
    env.run(&["start"]).code(0);
    let pid = env.pid().expect("pid");

    // .worker.port names another PID: still our worker (proven by the PID file), with a warning.
    env.write(".worker.port", format!("{}\n{}", env.port, pid + 1));
    let st = env.run(&["status"]);
    st.code(0);
    assert!(
        st.stdout.contains(&format!("names PID {}", pid + 1)),
        "{}",
        st.both()
    );

    // .worker.port records the port the worker listens on; the environment says another.
    env.write(".worker.port", format!("{}\n{pid}", env.port));
    let other = common::free_port();
    let mut c = env.cmd(&["status"]);
    c.env("CLAUDE_MEM_WORKER_PORT", other.to_string());
    let st = common::run(c, CALL);
    st.code(0);
    assert!(
        st.stdout.contains(&format!("  Port: {}", env.port)),
        "{}",
        st.both()
    );
    assert!(
        st.stdout.contains(&format!("records port {}", env.port))
            && st.stdout.contains(&other.to_string()),
        "{}",
        st.both()
    );
    // …and settings.json says another (no env port).
    env.write(
        "settings.json",
        format!(r#"{{"CLAUDE_MEM_WORKER_PORT": "{other}"}}"#),
    );
    let mut c = env.cmd(&["status"]);
    c.env_remove("CLAUDE_MEM_WORKER_PORT");
    let st = common::run(c, CALL);
    st.code(0);
    assert!(st.stdout.contains("settings.json says"), "{}", st.both());
    // start with the other port configured: the recorded worker is already running there.
    let mut c = env.cmd(&["start"]);
    c.env_remove("CLAUDE_MEM_WORKER_PORT");
    let again = common::run(c, CALL);
    again.code(0);
    assert!(
        again
            .stdout
            .contains(&format!("already running (PID {pid}, port {})", env.port)),
        "{}",
        again.both()
    );
    assert_eq!(env.workers(), vec![pid]);
}

// Zombies exist on Unix only: a Windows process that exits is gone.
#[cfg(unix)]
#[test]
fn case04_zombie_worker_counts_as_dead() {
    let env = Env::new();
    // A worker that is our own child: once killed and not reaped, it is a zombie.
    let pid = env.spawn_worker_directly(env.port, &[], true);
    env.write(".worker.pid", pid.to_string());
    env.write(".worker.port", format!("{}\n{pid}", env.port));
    env.run(&["status"]).code(0);
    common::signal(pid, libc::SIGKILL);
    wait_until(Duration::from_secs(5), "the zombie", || {
        common::stat(pid).is_some_and(|s| s.0)
    });
    let st = env.run(&["status"]);
    st.code(1);
    assert!(st.stdout.contains("zombie"), "{}", st.both());
    let stop = env.run(&["stop"]);
    stop.code(0);
    assert!(stop.stdout.contains("not signalled"), "{}", stop.both());
    env.write(".worker.pid", pid.to_string());
    let start = env.run(&["start"]);
    start.code(0);
    assert_ne!(env.pid(), Some(pid));
    env.run(&["status"]).code(0);
}

#[test]
fn case04_worker_killed_with_sigkill_is_stale_and_start_recovers() {
    let env = Env::new().with_args("--spawn-child");
    env.run(&["start"]).code(0);
    let pid = env.pid().expect("pid");
    common::kill(pid);
    wait_until(Duration::from_secs(5), "the worker to die", || !alive(pid));
    let st = env.run(&["status"]);
    st.code(1);
    assert!(st.stdout.contains("stale PID file"), "{}", st.both());
    let start = env.run(&["start"]);
    start.code(0);
    assert!(start.stdout.contains("removed stale"), "{}", start.both());
    let new = env.pid().expect("new pid");
    assert_ne!(new, pid);
    env.run(&["status"]).code(0);
}
