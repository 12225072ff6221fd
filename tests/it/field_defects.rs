//! Defects found by trying claude-mem-top as a user would on a real 13.x install (issue 15), one
//! regression test each, named after the defect's number.

#[allow(unused_imports)]
use crate::common;

use std::time::Duration;

use crate::common::{run, Env};

/// A bound for a call that must not hang (not a timing assertion: it only stops a hung test).
const HANG: Duration = Duration::from_secs(10);
/// The faults' own timing (not waits for a condition): how late init reaps an orphan here, and
/// how long after the supervisor's line the worker writes its next one.
#[cfg(unix)] // defect 5 is Unix-only (zombies)
const LATE_REAP: Duration = Duration::from_secs(1);
const WRITER_GAP: Duration = Duration::from_millis(300);
/// A bound for a start or stop.
const CALL_LIMIT: Duration = common::CALL;

/// One check of `doctor --json` by its id (`Null` when absent).
fn doctor_check(env: &Env, id: &str) -> serde_json::Value {
    let doctor = env.run(&["doctor", "--json"]).json();
    doctor["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|x| x["id"] == id))
        .cloned()
        .unwrap_or_default()
}

/// claude-mem's default worker script under the temp HOME, created so only bun can be missing.
fn plugin_script(env: &Env) -> std::path::PathBuf {
    let dir = env
        .home
        .join(".claude/plugins/marketplaces/thedotmack/plugin/scripts");
    std::fs::create_dir_all(&dir).expect("plugin dir");
    let script = dir.join("worker-service.cjs");
    std::fs::write(&script, "// stand-in for the real worker script\n").expect("script");
    script
}

// A fake bun is a shell script.
#[cfg(unix)]
#[test]
fn defect07_bun_in_the_bun_installers_dir_is_found_without_it_on_path() {
    use std::os::unix::fs::PermissionsExt;
    let mut env = Env::default_worker();
    env.stop_on_drop = true;
    plugin_script(&env);
    // Where the bun installer puts it; PATH (bin/, /usr/bin, /bin) does not have it.
    let bun_dir = env.home.join(".bun/bin");
    std::fs::create_dir_all(&bun_dir).expect("bun dir");
    let bun = bun_dir.join("bun");
    // It runs the stand-in worker with the script path in its argv, as bun would carry it.
    std::fs::write(
        &bun,
        format!(
            "#!/bin/sh\nexec '{}' stand-in-worker --log-rate 1 --version \"$1\"\n",
            common::BIN
        ),
    )
    .expect("fake bun");
    std::fs::set_permissions(&bun, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let start = env.run(&["start"]);
    start.code(0);
    assert!(
        !start.text().contains("Bun is required"),
        "{}",
        start.both()
    );
    env.run(&["status"]).code(0);
    let bun_check = doctor_check(&env, "bun");
    assert_eq!(bun_check["status"], "ok", "{bun_check:#}");
    env.run(&["stop", "--grace", "2s"]).code(0);
    env.run(&["status"]).code(3);
}

// mkfifo: a Unix file type.
#[cfg(unix)]
#[test]
fn defect08_a_fifo_settings_json_is_refused_at_once_naming_the_file() {
    let env = Env::new();
    env.make_dir();
    let fifo = env.path("settings.json");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("mkfifo");
    assert!(made.success());
    for args in [&["status"][..], &["doctor"][..]] {
        let out = run(env.cmd(args), HANG);
        if args[0] == "status" {
            out.code(2);
            let line = out.stderr.trim();
            assert_eq!(line.lines().count(), 1, "{}", out.both());
            assert!(
                line.contains("settings.json") && line.contains("FIFO"),
                "{}",
                out.both()
            );
        } else {
            assert!(out.text().contains("FIFO"), "{}", out.both());
        }
    }
}

#[test]
fn defect09_a_start_that_cannot_run_the_worker_leaves_no_trace() {
    // claude-mem's default command with neither bun nor the script under the temp HOME.
    let env = Env::default_worker();
    for args in [&["start"][..], &["ensure"][..], &["restart"][..]] {
        let out = env.run(args);
        out.code(5);
        assert!(
            !env.dir.exists(),
            "`{}` created {} though it could not start anything",
            args[0],
            env.dir.display()
        );
    }
    // Also with the script present and only bun missing.
    plugin_script(&env);
    let out = env.run(&["start"]);
    out.code(5);
    assert!(out.stderr.contains("Bun is required"), "{}", out.both());
    assert!(!env.dir.exists());
}

#[test]
fn defect01_a_data_dir_with_umlauts_kana_and_emoji_reads_the_database() {
    // `?` cannot be in a Windows file name.
    let odd = if cfg!(windows) {
        "mix ü#%"
    } else {
        "mix ü#?%"
    };
    for name in ["qa-jürgen", "データ", "emoji-🦀", odd] {
        let mut env = Env::new();
        env.dir = env.root.path().join(name).join(".claude-mem");
        env.make_dir();
        let db = env.path("claude-mem.db");
        let c = rusqlite::Connection::open(&db).expect("create the test DB");
        c.execute_batch(
            "CREATE TABLE observations (id INTEGER PRIMARY KEY);
             INSERT INTO observations DEFAULT VALUES; INSERT INTO observations DEFAULT VALUES;",
        )
        .expect("schema");
        drop(c);
        let check = doctor_check(&env, "database");
        assert_eq!(check["status"], "ok", "{name}: {check:#}");
        assert!(
            check["message"]
                .as_str()
                .unwrap_or("")
                .contains("2 observations"),
            "{name}: {check:#}"
        );
        // The metric agrees.
        let metrics = env.run(&["--once", "--format", "prometheus"]);
        assert!(
            metrics.stdout.contains("claude_mem_db_readable 1"),
            "{name}: {}",
            metrics.both()
        );
    }
}

#[test]
fn defect10_logs_follow_with_no_log_says_what_it_waits_for() {
    let env = Env::new();
    env.make_dir();
    let mut c = env.cmd(&["logs", "-f", "-n", "0"]);
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().expect("logs -f");
    let mut err = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        let mut line = String::new();
        let _ = std::io::BufReader::new(&mut err).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(HANG);
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("a line on stderr");
    assert!(
        line.contains("waiting for") && line.contains("logs"),
        "{line:?}"
    );
}

#[test]
fn defect12_options_a_command_does_not_use_are_refused() {
    let env = Env::new();
    env.run(&["--once", "--json", "--format", "text"]).code(2);
    env.run(&["status", "--json", "--format", "text"]).code(2);
    let demo = env.run(&["demo", "--data-dir", "/tmp/somewhere"]);
    demo.code(2);
    assert!(
        demo.stderr.contains("demo makes its own"),
        "{}",
        demo.both()
    );
    env.run(&["demo", "--port", "40000"]).code(2);
    env.run(&["--interval", "2s", "status"]).code(2);
}

#[test]
fn defect13_every_option_has_help_and_interval_only_where_it_is_used() {
    let env = Env::new();
    for (cmd, opts) in [
        ("restart", &["--timeout", "--grace"][..]),
        ("ensure", &["--timeout"][..]),
    ] {
        let help = env.run(&[cmd, "--help"]).code(0).stdout.clone();
        for o in opts {
            let line = help
                .lines()
                .find(|l| l.trim_start().starts_with(o))
                .unwrap_or_else(|| panic!("{cmd} {o} missing:\n{help}"));
            let described = line.split_once('>').map_or("", |(_, d)| d.trim());
            assert!(
                described.len() > 12,
                "{cmd} {o} has no description: {line:?}"
            );
        }
    }
    for cmd in ["status", "start", "stop", "logs", "doctor"] {
        let help = env.run(&[cmd, "--help"]).code(0).stdout.clone();
        assert!(
            !help.contains("--interval"),
            "{cmd} lists --interval:\n{help}"
        );
    }
    assert!(env.run(&["--help"]).stdout.contains("--interval"));
    assert!(env.run(&["demo", "--help"]).stdout.contains("--interval"));
}

/// A command without the port variable (and, with `no_dir`, without the data dir variable), as a
/// user's shell has them.
fn bare(env: &Env, args: &[&str], no_dir: bool) -> std::process::Command {
    let mut c = env.cmd(args);
    c.env_remove("CLAUDE_MEM_WORKER_PORT");
    if no_dir {
        c.env_remove("CLAUDE_MEM_DATA_DIR");
    }
    c
}

#[test]
fn defect02_a_fresh_13x_install_uses_the_13x_default_port() {
    // The worker writes its own 13.x worker.pid, as the real one does.
    let env = Env::new().with_args("--mode 13.x");
    let plugin = env
        .home
        .join(".claude/plugins/marketplaces/thedotmack/plugin");
    std::fs::create_dir_all(&plugin).expect("plugin dir");
    std::fs::write(plugin.join("package.json"), r#"{"version":"13.25.3"}"#).expect("package");
    let uid = claude_mem_top::platform::current_uid();
    let want = uid.map_or(37777, |u| 37700 + (u % 100) as u16);
    let json = run(bare(&env, &["status", "--json"], false), HANG).json();
    assert_eq!(json["port"], want, "{json:#}");
    // `start` gives the worker that port (when it is free on this machine). Never 37777 (the
    // user's own worker): that is the answer where the 13.x formula does not apply (Windows).
    if want == 37777 {
        eprintln!("SKIPPED start part: no uid-based 13.x port on this OS");
        return;
    }
    if std::net::TcpListener::bind(("127.0.0.1", want)).is_err() {
        eprintln!("SKIPPED start part: port {want} is in use on this machine");
        return;
    }
    run(bare(&env, &["start"], false), CALL_LIMIT).code(0);
    let st = run(bare(&env, &["status", "--json"], false), HANG);
    st.code(0);
    assert_eq!(st.json()["port"], want);
    assert!(std::net::TcpStream::connect(("127.0.0.1", want)).is_ok());
    run(bare(&env, &["stop", "--grace", "2s"], false), CALL_LIMIT).code(0);
}

#[test]
fn defect06_the_data_dir_named_in_the_default_settings_is_followed() {
    let env = Env::new();
    let default = env.home.join(".claude-mem");
    std::fs::create_dir_all(&default).expect("default dir");
    let elsewhere = env.root.path().join("elsewhere");
    std::fs::write(
        default.join("settings.json"),
        serde_json::json!({ "CLAUDE_MEM_DATA_DIR": elsewhere }).to_string(),
    )
    .expect("settings");
    let json = run(bare(&env, &["status", "--json"], true), HANG).json();
    assert_eq!(
        json["data_dir"].as_str().map(std::path::PathBuf::from),
        Some(elsewhere.clone()),
        "{json:#}"
    );
}

// A zombie: a Unix process that exited and waits for its parent to reap it.
#[cfg(unix)]
#[test]
fn defect05_a_start_right_after_a_kill_waits_for_the_zombie_to_be_reaped() {
    let env = Env::new().with_args("--mode 13.x --log-rate 5 --exit-if-pid-alive");
    env.make_dir();
    // Worker A, as claude-mem's hooks start it: it writes its own worker.pid.
    let mut a = env
        .worker_command(env.port, &[])
        .spawn()
        .expect("spawn worker A");
    let a_pid = a.id() as i32;
    common::wait_listening(env.port, CALL_LIMIT);
    common::wait_until(CALL_LIMIT, "A's worker.pid", || env.exists("worker.pid"));
    // kill -9; its parent (this test, standing in for init) reaps it a second late.
    a.kill().expect("kill A");
    common::wait_until(CALL_LIMIT, "A a zombie", || {
        common::stat(a_pid).is_some_and(|s| s.0)
    });
    let reaper = std::thread::spawn(move || {
        // The fault itself (not a wait for a condition): reaping that lags, as init's does.
        std::thread::sleep(LATE_REAP);
        a.wait().expect("reap A")
    });
    let start = env.run(&["start"]);
    let _ = reaper.join();
    start.code(0);
    let b = env.run(&["status", "--json"]).code(0).json()["pid"]
        .as_i64()
        .expect("worker B") as i32;
    assert_ne!(b, a_pid);
    assert!(common::alive(b), "{}", start.both());
    env.run(&["status"]).code(0);
}

#[test]
fn defect04_after_an_outside_restart_and_our_stop_the_status_is_stopped() {
    let env = Env::stand_in("--mode 13.x");
    env.run(&["start"]).code(0);
    let a = env.pid().expect("worker A");
    // claude-mem restarts its worker by itself: A goes, B (started by its hooks) takes over and
    // writes its own worker.pid; our .worker.pid still names A.
    common::kill(a);
    common::wait_until(CALL_LIMIT, "A gone", || !common::alive(a));
    let b = env.spawn_worker_directly(env.port, &[], true);
    common::wait_until(CALL_LIMIT, "B's worker.pid", || {
        env.read("worker.pid")
            .is_some_and(|t| t.contains(&b.to_string()))
    });
    let stop = env.run(&["stop", "--grace", "2s"]);
    stop.code(0);
    assert!(stop.stdout.contains(&b.to_string()), "{}", stop.both());
    common::wait_until(CALL_LIMIT, "B gone", || !common::alive(b));
    let st = env.run(&["status"]);
    st.code(3);
    let doctor = env.run(&["doctor", "--json"]).json();
    let fails: Vec<_> = doctor["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] == "fail")
        .filter(|c| c["id"].as_str().is_some_and(|i| i.contains("pid")))
        .collect();
    assert!(fails.is_empty(), "{fails:#?}");
}

#[test]
fn defect09_a_13x_data_dir_gets_none_of_the_7_1_0_files() {
    let env = Env::stand_in("--mode 13.x");
    // A 13.x data dir: its supervisor.json is there.
    env.write("supervisor.json", r#"{"processes":{}}"#);
    env.run(&["start"]).code(0);
    for f in [".pm2-migrated", ".worker.pid", ".worker.port"] {
        assert!(!env.exists(f), "{f} written into a 13.x data dir");
    }
    assert!(
        !env.log_path().exists(),
        "logs/worker-*.log created beside the worker's own log"
    );
    let st = env.run(&["status", "--json"]);
    st.code(0);
    assert_eq!(st.json()["layout"], "13.x", "{}", st.both());
    env.run(&["stop", "--grace", "2s"]).code(0);
    env.run(&["status"]).code(3);
}

#[test]
fn defect03_logs_follow_stays_on_one_file_and_prints_each_line_once() {
    let env = Env::new();
    env.write("supervisor.json", r#"{"processes":{}}"#);
    let logs = env.path("logs");
    std::fs::create_dir_all(&logs).expect("logs");
    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let ours = logs.join(format!("claude-mem-{day}.log"));
    let other = logs.join(format!("worker-{day}.log"));
    let append = |p: &std::path::Path, l: &str| {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(p)
            .expect("open log");
        writeln!(f, "{l}").expect("append");
    };
    append(&ours, "[2026-12-01 10:00:00.000] [INFO ] [SYSTEM] old line");
    append(
        &other,
        "[2026-12-01 10:00:00.000] [INFO ] [SUPERVISOR] old supervisor line",
    );
    let mut c = env.cmd(&["logs", "-f", "-n", "0"]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    let mut child = c.spawn().expect("logs -f");
    let out = child.stdout.take().expect("stdout");
    let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let l2 = lines.clone();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            l2.lock().expect("lines").push(l);
        }
    });
    // Until it follows: lines written before it opened the file are backlog (-n 0 shows none).
    common::wait_until(CALL_LIMIT, "logs -f following", || {
        append(&ours, "[2026-12-01 10:00:00.000] [INFO ] [SYSTEM] ready");
        std::thread::sleep(common::POLL);
        !lines.lock().expect("lines").is_empty()
    });
    let count = |lines: &std::sync::Mutex<Vec<String>>| {
        lines
            .lock()
            .expect("lines")
            .iter()
            .filter(|l| !l.ends_with("ready"))
            .count()
    };
    // Each write makes the other file the newer one by modification time.
    for i in 0..3 {
        append(
            &other,
            &format!("[2026-12-01 10:00:0{i}.000] [INFO ] [SUPERVISOR] sup {i}"),
        );
        // The fault's own timing (not a wait for a condition): the worker writes its next line a
        // little after the supervisor, so a follower polling in between sees the other file as
        // the newer one.
        std::thread::sleep(WRITER_GAP);
        append(
            &ours,
            &format!("[2026-12-01 10:00:0{i}.000] [INFO ] [SYSTEM] new {i}"),
        );
        common::wait_until(CALL_LIMIT, "the new line", || count(&lines) > i);
    }
    let _ = child.kill();
    let _ = child.wait();
    let got: Vec<String> = lines
        .lock()
        .expect("lines")
        .iter()
        .filter(|l| !l.ends_with("ready"))
        .cloned()
        .collect();
    assert_eq!(
        got,
        (0..3)
            .map(|i| format!("[2026-12-01 10:00:0{i}.000] [INFO ] [SYSTEM] new {i}"))
            .collect::<Vec<_>>(),
        "logs -f printed old lines again or switched files"
    );
}

#[test]
fn bad_durations_and_levels_are_usage_errors_that_name_the_flag() {
    let env = Env::new();
    for args in [
        &["start", "--timeout", "5x"][..],
        &["stop", "--grace", "1 fortnight"],
        &["supervise", "--window", "soon"],
        &["--once", "--stall-after", "half an hour"],
        &["--interval", "fast"],
    ] {
        let out = env.run(args);
        out.code(2);
        let flag = args[args.len() - 2];
        assert!(
            out.stderr.contains(flag) && out.stderr.contains("500ms, 5s, 1m"),
            "{args:?}: {}",
            out.both()
        );
    }
    let out = env.run(&["logs", "--level", "loud"]);
    out.code(2);
    assert!(
        out.stderr.contains("--level") && out.stderr.contains("warn"),
        "{}",
        out.both()
    );
    // Any case, and `warning` for warn: accepted (exit 1 only for the missing log).
    let out = env.run(&["logs", "--level", "WARNING"]);
    out.code(1);
    assert!(out.stderr.contains("no worker log"), "{}", out.both());
}
