//! `history` and `status`'s previous run against the real worker, started by claude-mem's own
//! CLI three times: stopped cleanly, killed with SIGKILL, left running.

use super::{pid_file, wait_health, Install, Sandbox, CALL, UP};
use crate::common::{alive, kill, stat, wait_until};
use crate::support_pty::Pty;

/// `claude-mem start` (its own CLI), the new worker's PID once it answers.
#[track_caller]
fn claude_mem_start(sb: &Sandbox, before: Option<i32>) -> i32 {
    let out = sb.claude_mem("start");
    assert_eq!(out.code, 0, "claude-mem start: {}", out.both());
    let mut pid = None;
    wait_until(UP, "worker.pid naming a new live worker", || {
        pid = pid_file(&sb.data)
            .map(|(p, _)| p)
            .filter(|p| Some(*p) != before && alive(*p));
        pid.is_some()
    });
    let pid = pid.unwrap_or_default();
    sb.record(pid);
    wait_health(sb.port, UP);
    pid
}

#[test]
fn history_lists_clean_killed_and_running_runs_in_order() {
    let Some(inst) = Install::find("real_worker::history::clean_killed_running") else {
        return;
    };
    let sb = Sandbox::new(&inst);

    let first = claude_mem_start(&sb, None);
    let stop = sb.claude_mem("stop");
    assert_eq!(stop.code, 0, "claude-mem stop: {}", stop.both());
    wait_until(CALL, "the first worker gone after claude-mem stop", || {
        !alive(first)
    });

    let second = claude_mem_start(&sb, Some(first));
    kill(second);
    // Gone, not only dead: claude-mem's own start takes a zombie (init reaps it after 1-2 s)
    // for a live worker and waits for it instead of starting one.
    wait_until(CALL, "the killed worker reaped", || stat(second).is_none());

    let third = claude_mem_start(&sb, Some(second));

    let out = sb.top(&["history", "--json"]);
    out.code(0);
    let v = out.json();
    let runs = v["runs"].as_array().expect("runs");
    let got: Vec<(i64, &str)> = runs
        .iter()
        .map(|r| {
            (
                r["pid"].as_i64().unwrap_or(0),
                r["end"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (i64::from(first), "clean"),
            (i64::from(second), "unclean"),
            (i64::from(third), "running")
        ],
        "{}",
        out.both()
    );
    for r in runs {
        assert_eq!(r["version"], super::VERSION, "{r}");
    }
    assert!(
        !runs[1]["last_lines"]
            .as_array()
            .expect("last_lines")
            .is_empty(),
        "the killed run's last lines: {}",
        out.both()
    );
    assert_eq!(v["summary"]["unclean"], 1, "{}", out.both());

    let text = sb.top(&["history"]);
    text.code(0);
    assert!(
        text.stdout
            .contains("3 runs: 1 clean, 1 unclean, 0 replaced, 1 running"),
        "{}",
        text.both()
    );

    let st = sb.top(&["status"]);
    st.code(0);
    assert!(
        st.stdout
            .contains(&format!("Previous run: PID {second}, unclean end")),
        "{}",
        st.both()
    );
    let js = sb.top(&["status", "--json"]);
    assert_eq!(js.json()["previous_run"]["end"], "unclean", "{}", js.both());

    // The dashboard opened afterwards: its timeline starts from the runs, H lists them.
    let t = std::time::Duration::from_secs(30);
    let mut pty = Pty::spawn(sb.top_cmd(&[]), 120, 40);
    pty.wait_for("the killed run's unclean end in the timeline", t, |s| {
        s.contains(&format!("PID {second} unclean end"))
    });
    pty.send(b"H");
    pty.wait_for("the History popup with the three runs", t, |s| {
        s.contains("History")
            && [first, second, third]
                .iter()
                .all(|p| s.contains(&p.to_string()))
    });
    pty.send(b"\x1b");
    // Apart, or the terminal reads Esc q as Alt-q.
    pty.wait_for("the popup closed", t, |s| !s.contains("History ·"));
    pty.send(b"q");
    let st = pty.wait_exit(t);
    assert_eq!(st.code(), Some(0), "screen:\n{}", pty.contents());
    assert!(
        alive(third),
        "quitting the dashboard never stops the worker"
    );
}
