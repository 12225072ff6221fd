//! The real binary in a real pseudo-terminal with the stand-in worker under management.

// Pseudo-terminal tests: openpty, a controlling terminal and Unix signals. Windows consoles
// (ConPTY) are not driven by these tests.
#![cfg(unix)]

#[allow(unused_imports)]
use crate::common;
#[cfg(unix)]
#[allow(unused_imports)]
use crate::support_pty;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::common::{alive, wait_until, Env, BIN};
use crate::support_pty::Pty;

const T: Duration = Duration::from_secs(15);

/// A test's world with an existing (empty) data dir and the stand-in, with a child process of
/// its own, as the worker command.
fn new_env() -> Env {
    let env = Env::new().with_args("--log-rate 5 --spawn-child");
    env.make_dir();
    env
}

#[test]
fn keys_stop_and_start_the_worker_and_quit_restores_the_terminal() {
    let env = new_env();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let first = env.pid().expect("pid file");

    let mut pty = Pty::spawn(env.cmd(&[]), 120, 40);
    pty.wait_for("RUNNING", T, |s| {
        s.contains("RUNNING") && s.contains(&format!("PID {first}"))
    });

    pty.send(b"x");
    pty.wait_for("stop confirmation", T, |s| s.contains("Stop the worker"));
    pty.send(b"y");
    pty.wait_for("STOPPED", T, |s| s.contains("STOPPED"));
    wait_until(T, "worker gone", || !alive(first));
    assert!(!env.path(".worker.pid").exists());

    pty.send(b"s");
    let s = pty.wait_for("RUNNING with a new PID", T, |s| {
        let header = s.lines().next().unwrap_or("");
        header.contains("RUNNING")
            && header.contains("start done")
            && !header.contains(&format!("PID {first} "))
    });
    let second = env.pid().expect("new pid file");
    assert_ne!(second, first);
    assert!(s.contains(&format!("PID {second}")), "{s}");

    pty.send(b"q");
    let st = pty.wait_exit(T);
    assert_eq!(st.code(), Some(0));
    assert!(
        pty.restored(),
        "terminal left the alternate screen and shows the cursor"
    );
    assert!(alive(second), "quitting never stops the worker");
    // The dashboard reaped nothing it should not have: the worker it started is not a zombie.
    env.run(&["status"]).code(0);
}

#[test]
fn file_changes_reach_the_screen_without_a_key() {
    let env = new_env();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let mut pty = Pty::spawn(env.cmd(&["--interval", "5s"]), 120, 40);
    pty.wait_for("RUNNING", T, |s| s.contains("RUNNING"));

    // A line appended to the log shows up.
    let marker = "MARKER-LINE-FROM-THE-TEST 4711";
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(env.log_path())
        .expect("log");
    use std::io::Write;
    writeln!(f, "[2026-11-25 10:00:00.000] [ERROR] [TEST  ] {marker}").expect("append");
    drop(f);
    // (The Activity panel beside the logs leaves room for most of the line.)
    pty.wait_for("the appended line", Duration::from_secs(3), |s| {
        s.contains(&marker[..25])
    });

    // Deleting .worker.pid changes the state (the sampling interval is 5 s: only the file
    // watcher can make this fast).
    std::fs::remove_file(env.path(".worker.pid")).expect("rm pid");
    pty.wait_for("state change", Duration::from_secs(3), |s| {
        !s.contains(" RUNNING ")
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
    assert!(pty.restored());
}

#[test]
fn signals_restore_the_terminal_and_leave_the_worker() {
    let env = new_env();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let pid = env.pid().expect("pid");
    for (sig, code) in [(libc::SIGTERM, 143), (libc::SIGHUP, 129)] {
        let mut pty = Pty::spawn(env.cmd(&[]), 100, 30);
        pty.wait_for("RUNNING", T, |s| s.contains("RUNNING"));
        // SAFETY: signalling the dashboard process this test spawned.
        unsafe { libc::kill(pty.child.id() as i32, sig) };
        let st = pty.wait_exit(T);
        assert_eq!(st.code(), Some(code), "exit status after signal {sig}");
        assert!(pty.restored(), "terminal restored after signal {sig}");
        assert!(alive(pid), "worker untouched by signal {sig}");
    }
}

#[test]
fn panic_in_draw_restores_terminal_and_prints_message() {
    let env = new_env();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let pid = env.pid().expect("pid");
    let mut cmd = env.cmd(&[]);
    cmd.env("CLAUDE_MEM_TOP_PANIC_IN_DRAW", "1");
    let mut pty = Pty::spawn(cmd, 100, 30);
    let st = pty.wait_exit(T);
    assert!(!st.success());
    assert!(pty.restored(), "terminal restored after a panic");
    let text = pty.raw_text();
    let restore_at = text
        .find("\u{1b}[?1049l")
        .expect("left the alternate screen");
    let msg_at = text
        .rfind("asked the dashboard to panic")
        .expect("panic message printed");
    assert!(
        msg_at > restore_at,
        "the message comes after the restore, so it stays readable"
    );
    assert!(alive(pid), "worker still running");
}

#[test]
fn tiny_terminals_and_resizes_do_not_crash() {
    let env = new_env();
    let mut pty = Pty::spawn(env.cmd(&[]), 20, 5);
    pty.wait_for("too-small notice", T, |s| s.contains("too small"));
    for i in 0..100u16 {
        pty.resize(1 + (i * 7) % 130, 1 + i % 40);
    }
    pty.resize(1, 1);
    pty.resize(80, 24);
    // Still alive and drawing at the final size after 100 resizes and a 1×1 terminal.
    pty.wait_for("a full redraw at 80x24", T, |s| {
        s.contains("q quit") && s.contains("Logs")
    });
    assert!(pty.child.try_wait().expect("try_wait").is_none());
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
}

#[test]
fn no_terminal_is_a_clear_error() {
    let env = new_env();
    let out = env
        .cmd(&[])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("not a terminal: use --once for a status snapshot"));
    let once = env
        .cmd(&["--once"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("once");
    assert_eq!(
        once.status.code(),
        Some(3),
        "--once works without a terminal"
    );
}

/// The demo's data dir and worker PID, read off its header.
fn demo_info(screen: &str) -> (PathBuf, i32) {
    let header = screen.lines().next().unwrap_or("");
    let pid = header
        .split("PID ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|p| p.parse().ok())
        .expect("PID in header");
    let dir = screen
        .lines()
        .nth(1)
        .and_then(|l| l.split_whitespace().nth(1))
        .map(PathBuf::from)
        .expect("data dir in header");
    (dir, pid)
}

#[test]
fn demo_cleans_up_on_q_and_on_hang_up() {
    for hang_up in [false, true] {
        let mut demo = Command::new(BIN);
        demo.arg("demo").env_remove("PM2_HOME");
        let mut pty = Pty::spawn(demo, 120, 40);
        let s = pty.wait_for("the demo running", T, |s| {
            s.contains("RUNNING")
                && s.contains("DEMO")
                && s.contains("observations 317")
                && s.contains("Logs: worker-")
        });
        let (dir, pid) = demo_info(&s);
        assert!(
            dir.starts_with(std::env::temp_dir()) && dir.exists(),
            "{dir:?}"
        );
        assert!(alive(pid));
        if hang_up {
            pty.hang_up();
        } else {
            pty.send(b"q");
        }
        let st = pty.wait_exit(T);
        if !hang_up {
            assert_eq!(st.code(), Some(0));
            assert!(pty.restored());
        }
        wait_until(T, "the demo's worker gone", || !alive(pid));
        assert!(!dir.exists(), "temporary dir removed (hang_up={hang_up})");
    }
}

#[test]
fn auto_restart_key_restarts_a_dead_worker() {
    let env = new_env();
    let crashy = format!("{BIN} stand-in-worker --log-rate 5 --die-after 1500");
    let with = |mut c: Command| {
        c.env("CLAUDE_MEM_TOP_WORKER_CMD", &crashy);
        c
    };
    assert!(with(env.cmd(&["start", "--timeout", "5s"]))
        .status()
        .expect("start")
        .success());
    let first = env.pid().expect("pid");
    let mut pty = Pty::spawn(with(env.cmd(&["--interval", "200ms"])), 120, 40);
    pty.wait_for("RUNNING", T, |s| s.contains("RUNNING"));
    pty.send(b"a");
    pty.wait_for("auto-restart on", T, |s| s.contains("auto-restart on"));
    // The worker crashes after 1.5 s; the dashboard restarts it after its backoff.
    pty.wait_for("an auto-restart", T, |s| s.contains("auto-restart #1"));
    pty.wait_for("a new worker", T, |_| {
        env.pid().is_some_and(|p| p != first && alive(p))
    });
    // A stop on purpose is not a crash.
    pty.wait_for("RUNNING again", T, |s| {
        s.lines().next().unwrap_or("").contains("RUNNING")
    });
    pty.send(b"a");
    pty.wait_for("auto-restart off", T, |s| s.contains("auto-restart off"));
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
}

/// The state letter of `/proc/PID/stat` (`T`: stopped).
#[cfg(target_os = "linux")]
fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(") ")?.1.chars().next()
}

/// Job control (issue 24): Ctrl-Z gives the terminal back and stops the dashboard; on SIGCONT
/// (`fg`) it is drawn again whole and takes keys at once; the same for SIGTSTP from outside.
#[cfg(target_os = "linux")]
#[test]
fn ctrl_z_and_sigtstp_suspend_and_fg_redraws() {
    let env = new_env();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let mut pty = Pty::spawn(env.cmd(&[]), 100, 30);
    pty.wait_for("RUNNING", T, |s| s.contains("RUNNING"));
    let pid = pty.child.id() as i32;
    for how in ["Ctrl-Z", "SIGTSTP"] {
        if how == "Ctrl-Z" {
            pty.send(b"\x1a");
        } else {
            common::signal(pid, libc::SIGTSTP);
        }
        wait_until(T, &format!("stopped by {how}"), || {
            proc_state(pid) == Some('T')
        });
        // The reader thread may not have taken the last bytes the dashboard wrote yet.
        wait_until(
            T,
            &format!("{how}: the terminal is the shell's again"),
            || pty.restored(),
        );
        common::signal(pid, libc::SIGCONT);
        pty.wait_for("the dashboard drawn again", T, |s| {
            s.contains("RUNNING")
                && pty
                    .screen
                    .lock()
                    .map(|p| p.screen().alternate_screen())
                    .unwrap_or(false)
        });
    }
    // Raw mode is back: `q` alone quits (no Enter needed).
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
    assert!(pty.restored());
}

/// `TERM=dumb` cannot show the dashboard (issue 24): one line naming what works, exit 2, and the
/// terminal untouched (no alternate screen, no colour codes).
#[test]
fn a_dumb_terminal_gets_one_line_and_exit_2() {
    let env = new_env();
    let mut c = env.cmd(&[]);
    c.env("TERM", "dumb");
    let mut pty = Pty::spawn(c, 80, 24);
    let st = pty.wait_exit(T);
    assert_eq!(st.code(), Some(2));
    let raw = pty.raw_text();
    assert!(
        raw.contains("TERM=dumb") && raw.contains("--once"),
        "{raw:?}"
    );
    assert!(
        !raw.contains("\x1b["),
        "escape codes on a dumb terminal: {raw:?}"
    );
}

/// One restart policy (issue 23): the dashboard's auto-restart gives up as `supervise` does,
/// FATAL after its default 5 restarts within 60 s, and starts nothing after that.
#[test]
fn auto_restart_of_a_worker_that_keeps_dying_goes_fatal_after_five_restarts() {
    let env = new_env();
    let crashy = format!("{BIN} stand-in-worker --log-rate 5 --die-after 300");
    let with = |mut c: Command| {
        c.env("CLAUDE_MEM_TOP_WORKER_CMD", &crashy);
        c
    };
    let mut pty = Pty::spawn(with(env.cmd(&["--interval", "200ms"])), 120, 40);
    pty.wait_for("the dashboard", T, |s| s.contains("STOPPED"));
    pty.send(b"a");
    pty.wait_for("auto-restart on", T, |s| s.contains("auto-restart on"));
    pty.send(b"s");
    // Backoff 1+2+4+8+16 s between the five restarts.
    let screen = pty.wait_for("FATAL", Duration::from_secs(90), |s| s.contains("FATAL"));
    assert!(!screen.contains("auto-restart #6"), "{screen}");
    let log = env.log();
    let starts = log.matches("HTTP server started").count();
    assert!(
        (1..=6).contains(&starts),
        "one start by `s` and at most five restarts, saw {starts}:\n{log}"
    );
    // Nothing is started after FATAL.
    let after = env.log().len();
    assert!(
        !common::holds_within(Duration::from_secs(3), || env.log().len() > after
            && env.log()[after..].contains("HTTP server started")),
        "a worker was started after FATAL"
    );
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
}

/// Issue 12 through the keys: the header counts orphans, `X` lists exactly the orphans and ends
/// them (the decoy, the worker and its own helpers live on), `K` on a selected helper asks with
/// its PID, and `A` adopts an unmanaged worker.
#[test]
fn processes_panel_keys_reap_kill_and_adopt_only_what_they_list() {
    let env = Env::new().with_args("--log-rate 2 --spawn-helpers");
    env.make_dir();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let a = env.pid().expect("worker A");
    let ps = |env: &Env| env.run(&["ps", "--json"]).code(0).json();
    let pids = |v: &serde_json::Value, class: &str| -> Vec<i32> {
        let mut p: Vec<i32> = v["members"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["class"] == class)
            .filter_map(|m| m["pid"].as_i64().map(|p| p as i32))
            .collect();
        p.sort_unstable();
        p
    };
    let mut orphans = Vec::new();
    wait_until(T, "A's helpers", || {
        orphans = pids(&ps(&env), "helper");
        orphans.len() == 3
    });
    // A decoy with a helper's shape but no tie: another environment, another directory.
    let decoy = {
        let dir = env.root.path().join("elsewhere");
        std::fs::create_dir_all(&dir).expect("dir");
        let child = Command::new(BIN)
            .env_clear()
            .env("HOME", &env.home)
            .current_dir(&dir)
            .args([
                "stand-in-helper",
                "claude",
                "--output-format",
                "stream-json",
            ])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("decoy");
        env.own(child)
    };
    common::kill(a);
    wait_until(T, "A gone", || !alive(a));
    env.run(&["start", "--timeout", "5s"]).code(0);
    let b = env.pid().expect("worker B");

    let mut pty = Pty::spawn(env.cmd(&["--interval", "200ms"]), 120, 40);
    pty.wait_for("the header counting 3 orphans", T, |s| {
        s.lines().next().is_some_and(|h| h.contains("3 orphans"))
    });
    pty.send(b"X");
    let s = pty.wait_for("the reap confirmation", T, |s| {
        s.contains("End these 3 orphaned helpers")
    });
    for p in &orphans {
        assert!(s.contains(&format!("PID {p} ")), "{p} not listed:\n{s}");
    }
    assert!(
        !s.contains(&format!("PID {decoy} ")),
        "the decoy is listed:\n{s}"
    );
    pty.send(b"y");
    for p in &orphans {
        wait_until(T, "an orphan ended", || !alive(*p));
    }
    pty.wait_for("the reap result", T, |s| s.contains("reap: ended PID"));
    assert!(alive(decoy), "X signalled the decoy");
    assert!(alive(b), "X signalled the worker");

    // K on a selected helper of B: Tab to Processes (Logs → Activity → Events → Processes),
    // down to it.
    let helpers_b = pids(&ps(&env), "helper");
    assert_eq!(helpers_b.len(), 3, "B's own helpers");
    pty.send(b"\t");
    pty.send(b"\t");
    pty.send(b"\t");
    pty.wait_for("Processes focused", T, |s| s.contains("[Processes"));
    pty.send(b"j");
    pty.send(b"K");
    let s = pty.wait_for("K's confirmation", T, |s| s.contains("Stop this process"));
    let chosen = helpers_b
        .iter()
        .copied()
        .find(|p| s.contains(&format!("PID {p} ")))
        .unwrap_or_else(|| panic!("K does not name one of B's helpers {helpers_b:?}:\n{s}"));
    pty.send(b"n");
    pty.wait_for("the question gone", T, |s| !s.contains("Stop this process"));
    assert!(alive(chosen), "n still signalled");
    pty.send(b"K");
    pty.wait_for("K's confirmation again", T, |s| {
        s.contains("Stop this process")
    });
    pty.send(b"y");
    wait_until(T, "the chosen helper ended", || !alive(chosen));
    for p in helpers_b.iter().filter(|p| **p != chosen) {
        assert!(alive(*p), "K ended {p} too");
    }
    assert!(alive(b) && alive(decoy));

    // A: the PID file goes stale (a dead PID) while B answers; A adopts B again.
    let mut gone = Command::new(BIN)
        .arg("--version")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("spawn");
    let dead = gone.id() as i32;
    gone.wait().expect("reap");
    env.write(".worker.pid", dead.to_string());
    pty.wait_for("UNMANAGED with B's PID", T, |s| {
        s.lines()
            .next()
            .is_some_and(|h| h.contains("UNMANAGED") && h.contains(&format!("PID {b}")))
    });
    pty.send(b"A");
    pty.wait_for("A's confirmation", T, |s| s.contains("Record this worker"));
    pty.send(b"y");
    pty.wait_for("RUNNING again", T, |s| {
        s.lines().next().is_some_and(|h| h.contains("RUNNING"))
    });
    assert_eq!(env.pid(), Some(b));
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
}

/// The Logs panel's keys on the real binary: `t` hides timestamps, `y` sends the selected entry
/// to the terminal as OSC 52, →/← scroll a long line, `S` saves the filtered view, `o` hands the
/// log to `$PAGER` and the dashboard comes back whole, and the mouse wheel scrolls the log.
#[test]
fn log_keys_timestamps_copy_scroll_save_pager_and_the_wheel() {
    let env = Env::new().with_args("--log-rate 0");
    env.make_dir();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let work = env.root.path().join("cwd");
    std::fs::create_dir_all(&work).expect("cwd");
    // A pager that records its arguments and exits.
    let record = env.root.path().join("pager-args");
    let pager = env.bin.join("fake-pager");
    std::fs::write(
        &pager,
        format!("#!/bin/sh\necho \"$@\" > '{}'\n", record.display()),
    )
    .expect("pager");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&pager, std::fs::Permissions::from_mode(0o755)).expect("chmod");

    let line = format!(
        "[2026-11-25 10:00:00.000] [ERROR] [TEST  ] MARKER-LINE {} TAIL-END",
        "lorem ipsum ".repeat(12)
    );
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(env.log_path())
            .expect("log");
        writeln!(f, "{line}").expect("append");
    }
    let mut cmd = env.cmd(&["--interval", "5s"]);
    cmd.current_dir(&work)
        .env("PAGER", format!("{} --flag", pager.display()));
    let mut pty = Pty::spawn(cmd, 100, 30);
    pty.wait_for("the marker line, cut with …", T, |s| {
        s.lines()
            // The log panel's part of the row (the Activity panel may follow it).
            .filter_map(|l| l.split("││").next())
            .any(|l| l.contains("MARKER-LINE") && l.trim_end().trim_end_matches('│').ends_with('…'))
    });

    // t hides the timestamps, t shows them again.
    pty.send(b"t");
    pty.wait_for("no timestamps", T, |s| {
        s.contains("[no time]")
            && s.contains("[ERROR] [TEST  ] MARKER-LINE")
            && !s.contains("[2026-11-25 10:00:00.000] [ERROR]")
    });
    pty.send(b"t");
    pty.wait_for("timestamps back", T, |s| {
        s.contains("[2026-11-25 10:00:00.000] [ERROR] [TEST  ] MARKER-LINE")
    });

    // y: the selected entry (the newest line) arrives at the terminal as OSC 52.
    pty.send(b"y");
    let want = claude_mem_top::app::osc52(&line);
    wait_until(T, "the OSC 52 sequence", || pty.raw_text().contains(&want));
    pty.wait_for("the copy notice", T, |s| s.contains("copied 1 line"));

    // → scrolls right until the end of the line shows; ← goes back to the start (the log
    // panel is 60 columns wide here, beside Activity).
    for _ in 0..24 {
        pty.send(b"\x1b[C");
    }
    pty.wait_for("the line's tail", T, |s| {
        s.contains("TAIL-END") && s.contains("[→")
    });
    for _ in 0..24 {
        pty.send(b"\x1b[D");
    }
    pty.wait_for("back to the start", T, |s| {
        !s.contains("TAIL-END") && s.contains("[2026-11-25 10:00:00.000] [ERROR]")
    });

    // S saves the filtered view next to us and says where.
    pty.send(b"S");
    let s = pty.wait_for("the saved path", T, |s| s.contains("saved "));
    let saved: Vec<PathBuf> = std::fs::read_dir(&work)
        .expect("cwd")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    assert_eq!(saved.len(), 1, "{saved:?}\n{s}");
    let text = std::fs::read_to_string(&saved[0]).expect("saved file");
    assert!(text.contains(&line), "{text}");

    // o: $PAGER gets the log file; afterwards the dashboard is back, whole.
    pty.send(b"o");
    wait_until(T, "the pager ran", || {
        std::fs::read_to_string(&record).is_ok_and(|a| a.contains("--flag"))
    });
    let args = std::fs::read_to_string(&record).expect("pager args");
    assert_eq!(
        args.trim(),
        format!("--flag {}", env.log_path().display()),
        "the pager's arguments"
    );
    pty.wait_for("the dashboard back", T, |s| {
        s.contains("back from") && s.contains("RUNNING") && s.contains("MARKER-LINE")
    });
    assert!(
        pty.screen
            .lock()
            .map(|p| p.screen().alternate_screen())
            .unwrap_or(false),
        "back in the full-screen view"
    );

    // The mouse wheel over the log scrolls it (SGR reports: 64 up, 65 down).
    pty.send(b"\x1b[<64;20;25M");
    pty.wait_for("the log scrolled up", T, |s| s.contains("[paused"));
    pty.send(b"\x1b[<65;20;25M");
    pty.wait_for("the log back at the end", T, |s| s.contains("[follow]"));

    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
    assert!(pty.restored());
}

/// `config.toml` `[keys]` rebinds by name: `Z` asks to stop and `x` no longer does; the help
/// shows the key as configured. A bad file exits 2 naming `FILE:LINE`.
#[test]
fn config_file_rebinds_keys_and_a_bad_one_exits_2_with_its_line() {
    let env = new_env();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let conf = env.root.path().join("config.toml");
    std::fs::write(&conf, "# mine\n[keys]\nstop = \"Z\"\n").expect("config");
    let conf_s = conf.display().to_string();
    let mut pty = Pty::spawn(env.cmd(&["--config", &conf_s]), 100, 30);
    pty.wait_for("RUNNING", T, |s| s.contains("RUNNING"));
    // x does nothing now: the help that follows opens (a question would swallow the `?`).
    pty.send(b"x?");
    pty.wait_for("help with Z", T, |s| {
        s.contains("Z  stop the worker (asks first)")
    });
    assert!(!pty.contents().contains("Stop the worker"));
    pty.send(b"\x1b");
    pty.wait_for("help closed", T, |s| !s.contains("┌ Keys"));
    pty.send(b"Z");
    pty.wait_for("stop question", T, |s| s.contains("Stop the worker"));
    pty.send(b"n");
    pty.wait_for("question gone", T, |s| !s.contains("Stop the worker"));
    pty.wait_for("footer shows Z", T, |s| {
        s.lines().last().is_some_and(|l| l.contains("Z stop"))
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));

    // An unknown command: exit 2, one line naming config.toml:3.
    std::fs::write(&conf, "[keys]\nstop = \"Z\"\nfly = \"q\"\n").expect("config");
    let out = env.run(&["--config", &conf_s]);
    out.code(2);
    let err = out.both();
    assert!(
        err.contains(&format!("{conf_s}:3: unknown command `fly`")),
        "{err}"
    );
    // The default place is read too ($XDG_CONFIG_HOME unset: ~/.config).
    let dir = env.home.join(".config").join("claude-mem-top");
    std::fs::create_dir_all(&dir).expect("config dir");
    std::fs::write(dir.join("config.toml"), "[dashboard]\nmouse = \"yes\"\n").expect("config");
    let err = env.run(&[]).code(2).both();
    assert!(
        err.contains("config.toml:2: mouse: expected true or false"),
        "{err}"
    );
    // `config --default` prints a file that `config` accepts.
    let default = env.run(&["config", "--default"]).code(0).text();
    std::fs::write(dir.join("config.toml"), &default).expect("config");
    assert!(env
        .run(&["config"])
        .code(0)
        .text()
        .contains("config.toml: OK"));
}

/// The dashboard turns mouse reporting on by default; `--no-mouse` and `mouse = false` in the
/// config leave the mouse to the terminal (text selection keeps working).
#[test]
fn no_mouse_and_the_config_leave_the_mouse_to_the_terminal() {
    let env = new_env();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let conf = env.root.path().join("config.toml");
    std::fs::write(&conf, "[dashboard]\nmouse = false\n").expect("config");
    let conf_s = conf.display().to_string();
    let cases: [(&[&str], bool); 3] = [
        (&[], true),
        (&["--no-mouse"], false),
        (&["--config", &conf_s], false),
    ];
    for (args, on) in cases {
        let mut pty = Pty::spawn(env.cmd(args), 100, 30);
        pty.wait_for("RUNNING", T, |s| s.contains("RUNNING"));
        assert_eq!(
            pty.raw_text().contains("\x1b[?1000h"),
            on,
            "mouse reporting with {args:?}"
        );
        pty.send(b"q");
        assert_eq!(pty.wait_exit(T).code(), Some(0));
        assert!(pty.restored());
    }
}

/// Issue 26 in the dashboard, against a real SQLite file of claude-mem 13.x's schema and no
/// worker: `/` with Activity focused finds the memory by a word of its text (FTS5), Enter opens
/// it, Esc goes back to the live list; `Q` and `C` show the queue and the settings; `v` names the
/// viewer's URL; the database files are byte-identical afterwards.
#[test]
fn slash_in_activity_searches_the_memories_queue_settings_and_viewer() {
    let env = new_env();
    crate::memory::db_13x(&env.dir, true);
    let before = crate::memory::db_files(&env.dir);
    let mut pty = Pty::spawn(env.cmd(&[]), 120, 40);
    pty.wait_for("the live Activity list", T, |s| {
        s.contains("Activity (5)") && s.contains("Deploy marmot plan")
    });
    pty.send(b"\t");
    pty.wait_for("Activity focused", T, |s| s.contains("[Activity (5)"));
    pty.send(b"/zebrafish");
    pty.wait_for("the query line", T, |s| {
        s.contains("search memories: zebrafish")
    });
    pty.send(b"\r");
    let s = pty.wait_for("the search results", T, |s| {
        s.contains("Search \"zebrafish\" (1) · FTS5") && s.contains("Parser alpha notes")
    });
    assert!(!s.contains("Deploy marmot plan"), "{s}");
    pty.send(b"\r");
    pty.wait_for("the item's full text", T, |s| {
        s.contains("The zebrafish parser handles nested brackets")
    });
    pty.send(b"\x1b");
    pty.wait_for("the results again", T, |s| {
        s.contains("Search \"zebrafish\"") && !s.contains("handles nested brackets")
    });
    pty.send(b"\x1b");
    pty.wait_for("the live list again", T, |s| {
        s.contains("Activity (5)") && s.contains("Deploy marmot plan")
    });

    pty.send(b"Q");
    pty.wait_for("the queue popup", T, |s| {
        s.contains("Queue · oldest first") && s.contains("0 pending, 0 processing")
    });
    // Each Esc alone: an Esc followed at once by a key reads as Alt and that key.
    pty.send(b"\x1b");
    pty.wait_for("the queue closed", T, |s| {
        !s.contains("Queue · oldest first")
    });
    pty.send(b"C");
    let port = env.port.to_string();
    pty.wait_for("the settings popup", T, |s| {
        s.contains("Settings · claude-mem")
            && s.lines().any(|l| {
                l.contains("CLAUDE_MEM_WORKER_PORT") && l.contains(&port) && l.contains(" env")
            })
    });
    pty.send(b"\x1b");
    pty.wait_for("the settings closed", T, |s| {
        !s.contains("Settings · claude-mem")
    });
    pty.send(b"v");
    pty.wait_for("the viewer's URL", T, |s| {
        s.contains(&format!("its viewer is http://127.0.0.1:{port}/"))
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
    assert!(pty.restored());
    assert_eq!(
        crate::memory::db_files(&env.dir),
        before,
        "the database files changed"
    );
}

/// `v` with a worker running opens `http://127.0.0.1:PORT/` through the platform's opener (a
/// fake one on PATH that writes down its argument), without blocking the dashboard.
#[test]
fn v_opens_the_workers_web_viewer_through_the_opener() {
    use std::os::unix::fs::PermissionsExt;
    let env = new_env();
    env.run(&["start", "--timeout", "5s"]).code(0);
    let name = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let out = env.root.path().join("opened.txt");
    let opener = env.bin.join(name);
    std::fs::write(
        &opener,
        format!("#!/bin/sh\necho \"$@\" > '{}'\n", out.display()),
    )
    .expect("fake opener");
    std::fs::set_permissions(&opener, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut pty = Pty::spawn(env.cmd(&[]), 120, 40);
    pty.wait_for("RUNNING", T, |s| s.contains("RUNNING"));
    pty.send(b"v");
    let url = format!("http://127.0.0.1:{}/", env.port);
    wait_until(T, "the opener called with the URL", || {
        std::fs::read_to_string(&out).is_ok_and(|t| t.trim() == url)
    });
    pty.wait_for("the result line", T, |s| {
        s.contains(&format!("viewer: {name} opened {url}"))
    });
    pty.send(b"q");
    assert_eq!(pty.wait_exit(T).code(), Some(0));
}
