//! `history`: the worker's runs from its own logs, with the stand-in worker (spec layout, the
//! one claude-mem-top manages): stopped, killed, running; and the refusals.

// Helpers used only by the Unix-only test.
#![cfg_attr(windows, allow(unused_imports, dead_code))]

use std::time::Duration;

use crate::common::{alive, kill, stat, wait_until, Env};

const T: Duration = Duration::from_secs(20);

/// `start`, and the new worker's PID.
#[track_caller]
fn start(env: &Env) -> i32 {
    env.run(&["start"]).code(0);
    env.pid().expect("a PID file after start")
}

// A clean end is the worker logging its shutdown on SIGTERM; on Windows `stop` ends the
// stand-in with CTRL_BREAK/TerminateProcess, which it cannot log, so the run reads unclean there.
#[cfg(unix)]
#[test]
fn stopped_killed_and_running_runs_in_order_and_the_previous_run() {
    let env = Env::stand_in("");
    let first = start(&env);
    env.run(&["stop"]).code(0);
    let second = start(&env);
    kill(second);
    wait_until(T, "the killed worker reaped", || stat(second).is_none());
    let third = start(&env);
    assert!(alive(third));

    let out = env.run(&["history", "--json"]);
    out.code(0);
    let v = out.json();
    let got: Vec<(i64, String)> = v["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| {
            (
                r["pid"].as_i64().unwrap_or(0),
                r["end"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    let want: Vec<(i64, String)> = [(first, "clean"), (second, "unclean"), (third, "running")]
        .iter()
        .map(|(p, e)| (i64::from(*p), e.to_string()))
        .collect();
    assert_eq!(got, want, "{}", out.both());
    assert_eq!(v["runs"][0]["cause"], "SIGTERM", "{}", out.both());
    assert_eq!(v["summary"]["runs"], 3);

    let text = env.run(&["history"]);
    text.code(0);
    assert!(
        text.stdout
            .contains("3 runs: 1 clean, 1 unclean, 0 replaced, 1 running"),
        "{}",
        text.both()
    );
    assert!(
        text.stdout.contains("no shutdown logged"),
        "{}",
        text.both()
    );

    let st = env.run(&["status"]);
    st.code(0);
    assert!(
        st.stdout
            .contains(&format!("Previous run: PID {second}, unclean end")),
        "{}",
        st.both()
    );
    let js = env.run(&["status", "--json"]);
    crate::support_schema::check("assets/status.schema.json", &js.json());
    assert_eq!(js.json()["previous_run"]["pid"], second);

    // With the worker stopped, the newest run ended cleanly (SIGTERM and its shutdown line).
    env.run(&["stop"]).code(0);
    let v = env.run(&["history", "--json"]).json();
    assert_eq!(v["runs"][2]["end"], "clean", "{v}");
    // --since in the future: nothing read, still exit 0.
    let later = env.run(&["history", "--since", "2999-01-01", "--json"]);
    later.code(0);
    assert_eq!(later.json()["runs"], serde_json::json!([]));
}

#[test]
fn no_logs_and_a_bad_since_are_one_line_each() {
    let env = Env::stand_in("");
    env.make_dir();
    let out = env.run(&["history"]);
    out.code(1);
    assert!(
        out.stderr.contains("no worker log in") && out.stderr.contains("logs"),
        "{}",
        out.both()
    );
    let bad = env.run(&["history", "--since", "yesterday"]);
    bad.code(2);
    assert!(bad.stderr.contains("yesterday"), "{}", bad.both());
}
