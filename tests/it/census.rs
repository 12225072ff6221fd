//! Issue 12: every claude-mem process, not only the one a PID file names. Real stand-in workers
//! started by hand (not by us), helpers that outlive their worker, a decoy with a helper's name
//! and no tie, a wedged listener; `status`, `ps`, `adopt` and `reap` against them.

#[allow(unused_imports)]
use crate::common;

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Instant;

use crate::common::{alive, wait_until, Env, BIN, CALL};

/// The members of `ps --json` (or the `processes` of `status --json`).
fn members(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["members"]
        .as_array()
        .or_else(|| v["processes"].as_array())
        .cloned()
        .unwrap_or_default()
}

fn pids_of_class(v: &serde_json::Value, class: &str) -> Vec<i32> {
    let mut p: Vec<i32> = members(v)
        .iter()
        .filter(|m| m["class"] == class)
        .filter_map(|m| m["pid"].as_i64())
        .map(|p| p as i32)
        .collect();
    p.sort_unstable();
    p
}

/// The helpers a stand-in worker spawned, from the census (all three kinds).
fn wait_helpers(env: &Env, worker: i32) -> Vec<i32> {
    let mut helpers = Vec::new();
    wait_until(CALL, "the worker's three helpers in ps", || {
        let v = env.run(&["ps", "--json"]).code(0).json();
        helpers = members(&v)
            .iter()
            .filter(|m| m["worker"].as_i64() == Some(i64::from(worker)) && m["class"] == "helper")
            .filter_map(|m| m["pid"].as_i64().map(|p| p as i32))
            .collect();
        helpers.len() == 3
    });
    helpers.sort_unstable();
    helpers
}

/// A process shaped like the observer's `claude … --output-format stream-json` with no tie to the
/// data dir: another environment, another working directory, not a worker's child.
fn spawn_decoy(env: &Env) -> i32 {
    let elsewhere = env.root.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).expect("decoy dir");
    let mut c = std::process::Command::new(BIN);
    c.env_clear()
        .env("HOME", &env.home)
        .env("PATH", env.path_var())
        .current_dir(&elsewhere)
        .args([
            "stand-in-helper",
            "claude",
            "--output-format",
            "stream-json",
            "--verbose",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(windows)]
    for k in ["SYSTEMROOT", "WINDIR", "TEMP", "TMP"] {
        if let Some(v) = std::env::var_os(k) {
            c.env(k, v);
        }
    }
    env.own(c.spawn().expect("spawn decoy"))
}

#[test]
fn a_stale_pid_file_while_a_worker_answers_is_unmanaged_until_adopted() {
    let env = Env::stand_in("");
    env.make_dir();
    // Started by hand, as claude-mem's hooks would: no PID file of ours names it.
    let worker = env.spawn_worker_directly(env.port, &[], true);
    // A `.worker.pid` naming a dead PID: a process the test ran to its end.
    let mut gone = std::process::Command::new(BIN)
        .arg("--version")
        .stdout(Stdio::null())
        .spawn()
        .expect("spawn");
    let dead = gone.id() as i32;
    gone.wait().expect("reap");
    env.write(".worker.pid", dead.to_string());
    env.write(".worker.port", format!("{}\n{dead}", env.port));

    let st = env.run(&["status"]);
    st.code(151);
    assert!(
        st.stdout.contains(&format!("PID: {worker}")),
        "{}",
        st.both()
    );
    assert!(st.stdout.contains("stale PID file"), "{}", st.both());
    assert!(
        !st.stdout.starts_with("Worker is not running"),
        "{}",
        st.both()
    );
    let j = env.run(&["status", "--json"]).code(151).json();
    assert_eq!(j["state"], "unmanaged");
    assert_eq!(j["pid"].as_i64(), Some(i64::from(worker)));
    assert_eq!(pids_of_class(&j, "unmanaged"), vec![worker], "{j:#}");

    // `stop` refuses: nothing proves it is ours to stop.
    let stop = env.run(&["stop"]);
    stop.code(1);
    assert!(stop.stderr.contains("adopt"), "{}", stop.both());
    assert!(alive(worker));

    let adopt = env.run(&["adopt"]);
    adopt.code(0);
    assert!(
        adopt.stdout.contains(&worker.to_string()),
        "{}",
        adopt.both()
    );
    assert_eq!(env.pid(), Some(worker));
    assert_eq!(
        env.read(".worker.port").map(|t| t.trim().to_string()),
        Some(format!("{}\n{worker}", env.port))
    );
    env.run(&["status"]).code(0);
    // A second adopt has nothing to do.
    env.run(&["adopt"]).code(1);
    // And now our stop sees it.
    env.run(&["stop", "--grace", "2s"]).code(0);
    wait_until(CALL, "the adopted worker gone", || !alive(worker));
}

#[test]
fn adopt_refuses_a_listener_that_is_not_a_claude_mem_worker() {
    let env = Env::stand_in("");
    env.make_dir();
    // This test's own process answers /health: healthy, but no claude-mem worker.
    let _server = common::FakeServer::serve(
        std::net::TcpListener::bind(("127.0.0.1", env.port)).expect("bind"),
        common::Reply::Status(200, br#"{"status":"ok"}"#.to_vec()),
    );
    env.run(&["status"]).code(151);
    let adopt = env.run(&["adopt"]);
    adopt.code(1);
    assert!(
        adopt.stderr.contains("not a claude-mem worker"),
        "{}",
        adopt.both()
    );
    assert!(!env.exists(".worker.pid"));
}

#[test]
fn a_worker_of_another_version_on_another_port_is_listed_and_warned_about() {
    let env = Env::new().with_args("--log-rate 2");
    env.run(&["start"]).code(0);
    let main = env.pid().expect("worker");
    let old: PathBuf = env
        .root
        .path()
        .join("old/.claude/plugins/cache/thedotmack/claude-mem/12.4.7/scripts/worker-service.cjs");
    std::fs::create_dir_all(old.parent().expect("dir")).expect("mkdir");
    std::fs::write(&old, "// claude-mem 12.4.7").expect("script");
    let port2 = common::free_port();
    let old_s = old.to_string_lossy().into_owned();
    let other = env.spawn_worker_directly(port2, &["--script", &old_s], true);

    let v = env.run(&["ps", "--json"]).code(0).json();
    let by_pid = |pid: i32| {
        members(&v)
            .into_iter()
            .find(|m| m["pid"].as_i64() == Some(i64::from(pid)))
            .unwrap_or_else(|| panic!("PID {pid} not in ps: {v:#}"))
    };
    let (a, b) = (by_pid(main), by_pid(other));
    assert_eq!(a["class"], "worker");
    assert_eq!(a["version"], "13.25.3");
    assert_eq!(a["ports"], serde_json::json!([env.port]));
    assert_eq!(b["class"], "other-version");
    assert_eq!(b["version"], "12.4.7");
    assert_eq!(b["ports"], serde_json::json!([port2]));
    let text = env.run(&["ps"]).code(0).stdout.clone();
    assert!(
        text.contains("other-version") && text.contains("12.4.7"),
        "{text}"
    );

    let doctor = env.run(&["doctor", "--json"]).json();
    let check = doctor["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["id"] == "other_workers")
        .cloned()
        .unwrap_or_else(|| panic!("no other_workers check: {doctor:#}"));
    assert_eq!(check["status"], "warn", "{check:#}");
    assert!(
        check["message"]
            .as_str()
            .unwrap_or("")
            .contains(&other.to_string()),
        "{check:#}"
    );
}

#[test]
fn orphaned_helpers_are_reaped_exactly_and_the_decoy_and_worker_live_on() {
    let env = Env::stand_in("--spawn-helpers");
    env.run(&["start"]).code(0);
    let a = env.pid().expect("worker A");
    let helpers = wait_helpers(&env, a);
    let decoy = spawn_decoy(&env);
    // The worker alone is killed (as the hooks' version check does): its helpers leak.
    common::kill(a);
    wait_until(CALL, "A gone", || !alive(a));
    // A new worker takes over (the stale PID file of A is cleared by `start`).
    env.run(&["start"]).code(0);
    let b = env.pid().expect("worker B");
    assert_ne!(a, b);
    wait_until(CALL, "the three orphans in ps", || {
        let v = env.run(&["ps", "--json"]).code(0).json();
        pids_of_class(&v, "orphaned") == helpers
    });
    // The metrics count them, by kind, and B's own three helpers as live ones.
    let prom = env
        .run(&["status", "--format", "prometheus"])
        .code(0)
        .stdout
        .clone();
    for kind in ["claude", "chroma-mcp", "mcp-server"] {
        for (orphaned, n) in [("true", 1), ("false", 1)] {
            let line = format!(
                "claude_mem_helper_processes{{kind=\"{kind}\",orphaned=\"{orphaned}\"}} {n}\n"
            );
            assert!(prom.contains(&line), "no {line:?} in:\n{prom}");
        }
    }
    assert!(
        prom.contains("claude_mem_worker_processes{class=\"worker\"} 1\n"),
        "{prom}"
    );
    assert!(
        prom.contains(
            "claude_mem_helper_resident_memory_bytes{kind=\"claude\",orphaned=\"true\"} "
        ),
        "{prom}"
    );
    // B's own helpers (it spawns them too) are not orphans.
    let dry = env.run(&["reap", "--dry-run", "--json"]).code(0).json();
    let mut listed: Vec<i32> = dry
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["pid"].as_i64().map(|p| p as i32))
        .collect();
    listed.sort_unstable();
    assert_eq!(listed, helpers, "{dry:#}");
    for h in &helpers {
        assert!(alive(*h), "dry run signalled {h}");
    }
    let reap = env.run(&["reap", "--grace", "2s"]);
    reap.code(0);
    for h in &helpers {
        wait_until(CALL, "an orphan ended", || !alive(*h));
    }
    assert!(alive(decoy), "the decoy was signalled: {}", reap.both());
    assert!(alive(b), "the worker was signalled: {}", reap.both());
    env.run(&["status"]).code(0);
    let again = env.run(&["reap", "--dry-run"]);
    assert!(
        again.stdout.contains("No orphaned helpers"),
        "{}",
        again.both()
    );
}

#[test]
fn a_listener_that_accepts_and_never_answers_is_wedged() {
    let env = Env::stand_in("--wedged");
    env.make_dir();
    let pid = env.spawn_worker_directly(env.port, &[], true);
    let t0 = Instant::now();
    let st = env.run(&["status"]);
    let took = t0.elapsed();
    st.code(150);
    assert!(st.stdout.contains("wedged"), "{}", st.both());
    assert!(
        st.stdout
            .contains("accepts connections but does not answer HTTP"),
        "{}",
        st.both()
    );
    eprintln!(
        "status against a wedged listener took {} ms",
        took.as_millis()
    );
    let v = env.run(&["ps", "--json"]).code(0).json();
    assert_eq!(pids_of_class(&v, "wedged"), vec![pid], "{v:#}");
    // Not ours: start and stop refuse and signal nothing.
    env.run(&["start", "--timeout", "2s"]).code(1);
    env.run(&["stop"]).code(1);
    assert!(alive(pid));
}

#[test]
fn on_a_13x_install_the_worker_runs_from_the_script_the_hooks_use() {
    let env = Env::default_worker();
    env.make_dir();
    let cache = env.home.join(".claude/plugins/cache/thedotmack/claude-mem");
    for v in ["13.24.0", "13.25.3", "13.26.1"] {
        std::fs::create_dir_all(cache.join(v).join("scripts")).expect("mkdir");
        std::fs::write(cache.join(v).join("scripts/worker-service.cjs"), "//").expect("script");
    }
    // The newest was orphaned by an update that was rolled back: the hooks skip it.
    std::fs::write(cache.join("13.26.1/.orphaned_at"), "2026-11-30T00:00:00Z").expect("orphan");
    let report = env.run(&["doctor", "--json"]).json();
    let cmd = report["worker_command"].as_str().unwrap_or("");
    let want = cache
        .join("13.25.3")
        .join("scripts")
        .join("worker-service.cjs");
    assert!(cmd.contains(&*want.to_string_lossy()), "{cmd}");
}

/// The last-moment proof: a census member whose process is not the one seen (same PID, another
/// start: the PID was reused) is never signalled, by `reap`, `K` or `X` alike (they all end
/// through `census::end`).
#[test]
fn a_member_whose_pid_now_names_another_process_is_never_signalled() {
    use claude_mem_top::platform::{self, StartToken};
    use claude_mem_top::procman::census::{self, Class, HelperKind, Member, ReapOutcome};
    let env = Env::new();
    let other = env.spawn_sleep();
    let real = platform::start_token(other).expect("token");
    let seen = Member {
        pid: other,
        ppid: 1,
        class: Class::OrphanedHelper,
        kind: Some(HelperKind::Claude),
        version: None,
        data_dir: Some(env.dir.clone()),
        ports: Vec::new(),
        started_at: None,
        age_seconds: None,
        owner: platform::current_uid(),
        user: None,
        cpu_percent: 0.0,
        cpu_seconds: 0.0,
        rss_bytes: 0,
        command: "claude --output-format stream-json".into(),
        worker: None,
        tie: Some(census::Tie::Environment),
        helpers: 0,
        answer: None,
        // What the census saw: an earlier process of this PID.
        start: StartToken::from_raw(real.raw().wrapping_sub(1)),
    };
    let done = census::end(&[&seen], std::time::Duration::from_millis(200), false);
    assert_eq!(done[0].outcome, ReapOutcome::Changed, "{done:?}");
    assert!(alive(other), "a reused PID was signalled");
    // The same member with the right token is ended: the check is what stopped it above.
    let right = Member {
        start: real,
        ..seen
    };
    let done = census::end(&[&right], std::time::Duration::from_secs(2), false);
    assert!(
        matches!(done[0].outcome, ReapOutcome::Ended | ReapOutcome::Killed),
        "{done:?}"
    );
    wait_until(CALL, "the sleep ended", || !alive(other));
}

#[test]
fn adopt_refuses_a_worker_of_another_data_dir() {
    let env = Env::stand_in("");
    env.make_dir();
    let elsewhere = env.root.path().join("other-data");
    std::fs::create_dir_all(&elsewhere).expect("dir");
    let mut c = env.worker_command(env.port, &[]);
    c.env("CLAUDE_MEM_DATA_DIR", &elsewhere);
    let pid = env.own(c.spawn().expect("spawn"));
    common::wait_listening(env.port, CALL);
    let adopt = env.run(&["adopt"]);
    adopt.code(1);
    assert!(
        adopt.stderr.contains("the worker of data dir") && adopt.stderr.contains("other-data"),
        "{}",
        adopt.both()
    );
    assert!(!env.exists(".worker.pid"));
    assert!(alive(pid));
}

/// Issue 24: every descendant of the proven worker is in the tree, not only the named helpers
/// (a child of no helper's shape is listed as a plain child under its worker), in `ps` and on
/// the dashboard's Processes panel.
#[test]
fn a_workers_plain_child_is_listed_under_it() {
    let env = Env::stand_in("--spawn-child");
    env.run(&["start"]).code(0);
    let worker = env.pid().expect("worker");
    let mut child = None;
    wait_until(CALL, "the worker's child in ps --json", || {
        let v = env.run(&["ps", "--json"]).code(0).json();
        child = members(&v)
            .iter()
            .find(|m| m["worker"].as_i64() == Some(i64::from(worker)) && m["kind"].is_null())
            .and_then(|m| m["pid"].as_i64());
        child.is_some()
    });
    let child = child.expect("child") as i32;
    assert!(alive(child));
    let text = env.run(&["ps"]).code(0).stdout.clone();
    assert!(
        text.lines()
            .any(|l| l.starts_with(&child.to_string()) && l.contains("└ child")),
        "{text}"
    );
}
