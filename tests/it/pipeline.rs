//! Pipeline health through the real binary: a stand-in worker on loopback that reports degraded
//! dependencies and Chroma and writes claude-mem's state files, a real SQLite file whose prompts
//! have no observations, a log with restarts and version-mismatch kills. `status` (text, JSON,
//! Prometheus), `--once --json`, `doctor` and the dashboard must say DEGRADED / STALLED / FLAPPING
//! with the reason and the fix, and a healthy-but-degraded worker still exits 0.

#[allow(unused_imports)]
use crate::common;
#[cfg(unix)]
#[allow(unused_imports)]
use crate::support_pty;
#[allow(unused_imports)]
use crate::support_schema;

use std::io::Write;
use std::time::Duration;

use crate::common::Env;
use serde_json::Value;

const REMEDIATION: &str = "Install or update Claude Code CLI, then restart claude-mem.";

/// A stand-in worker started through `start`, with `extra` switches.
fn started(extra: &str) -> Env {
    let env = Env::stand_in(extra);
    env.make_dir();
    env.run(&["start", "--timeout", "10s"]).code(0);
    env
}

fn badges(v: &Value) -> Vec<String> {
    v["pipeline"]["badges"]
        .as_array()
        .unwrap_or_else(|| panic!("no pipeline.badges in {v:#}"))
        .iter()
        .filter_map(|b| b.as_str().map(str::to_string))
        .collect()
}

fn findings<'a>(v: &'a Value, source: &str) -> Vec<&'a Value> {
    v["pipeline"]["findings"]
        .as_array()
        .map(|a| a.iter().filter(|f| f["source"] == source).collect())
        .unwrap_or_default()
}

fn doctor_check(report: &Value, id: &str) -> Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

/// A sample of a Prometheus exposition (`name{labels} value`), by its line's start.
fn sample(body: &str, start: &str) -> f64 {
    body.lines()
        .find(|l| l.starts_with(start))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no sample {start} in:\n{body}"))
}

#[test]
fn a_degraded_claude_cli_is_degraded_with_its_remediation_and_exit_0() {
    let env = started("--degraded claude_cli");

    let out = env.run(&["status"]);
    out.code(0);
    let text = out.stdout.clone();
    assert!(text.contains("Health: healthy (DEGRADED)"), "{text}");
    let line = text
        .lines()
        .find(|l| {
            l.trim_start()
                .starts_with("DEGRADED: claude_cli setup_required")
        })
        .unwrap_or_else(|| panic!("no DEGRADED line:\n{text}"));
    assert!(line.contains("Claude executable not found"), "{line}");
    assert!(
        text.contains(&format!("fix: {REMEDIATION}")),
        "the remediation is the fix:\n{text}"
    );

    for args in [&["status", "--json"][..], &["--once", "--json"][..]] {
        let out = env.run(args);
        out.code(0);
        let v = out.json();
        support_schema::check("assets/status.schema.json", &v);
        assert_eq!(v["state"], "running", "{args:?}");
        assert_eq!(badges(&v), ["degraded"], "{args:?}");
        let s = &v["pipeline"]["dependencies"]["statuses"][0];
        assert_eq!(s["dependency"], "claude_cli");
        assert_eq!(s["kind"], "setup_required");
        assert!(s["recorded_at_ms"].as_u64().is_some_and(|t| t > 0), "{s}");
        let f = findings(&v, "dependencies");
        assert_eq!(f.len(), 1, "{v:#}");
        assert!(f[0]["fix"]
            .as_str()
            .is_some_and(|x| x.starts_with(REMEDIATION)));
        // Chroma answers healthy: nothing to say about it.
        assert_eq!(v["pipeline"]["chroma"]["status"], "healthy");
        assert!(findings(&v, "chroma").is_empty());
    }

    let prom = env.run(&["status", "--format", "prometheus"]);
    prom.code(0);
    let body = &prom.stdout;
    assert_eq!(
        sample(
            body,
            "claude_mem_dependency_degraded{dependency=\"claude_cli\"}"
        ),
        1.0
    );
    assert_eq!(
        sample(body, "claude_mem_dependency_degraded{dependency=\"uvx\"}"),
        0.0
    );
    assert_eq!(
        sample(body, "claude_mem_pipeline_signal{signal=\"degraded\"}"),
        1.0
    );

    let doc = env.run(&["doctor", "--json"]);
    let report = doc.json();
    support_schema::check("assets/doctor.schema.json", &report);
    let c = doctor_check(&report, "dependencies");
    assert_eq!(c["status"], "warn", "{c}");
    assert!(
        c["fix"].as_str().is_some_and(|f| f.contains(REMEDIATION)),
        "{c}"
    );
}

#[test]
fn a_healthy_worker_says_nothing_and_chroma_unhealthy_is_degraded() {
    let env = started("");
    let v = env.run(&["status", "--json"]).json();
    support_schema::check("assets/status.schema.json", &v);
    assert!(badges(&v).is_empty(), "{v:#}");
    assert_eq!(v["pipeline"]["dependencies"]["degraded"], false);
    let text = env.run(&["status"]).stdout;
    assert!(text.contains("Health: healthy\n"), "{text}");
    assert!(!text.contains("DEGRADED"), "{text}");
    let report = env.run(&["doctor", "--json"]).json();
    for id in [
        "dependencies",
        "chroma",
        "observer",
        "hooks",
        "stall",
        "flapping",
    ] {
        assert_eq!(doctor_check(&report, id)["status"], "ok", "{id}");
    }
    drop(env);

    let env = started("--chroma unhealthy");
    let out = env.run(&["status"]);
    out.code(0);
    assert!(
        out.stdout
            .contains("DEGRADED: Chroma is unhealthy (chroma-mcp health check failed)"),
        "{}",
        out.stdout
    );
}

#[test]
fn a_7_1_0_worker_without_the_endpoints_is_not_degraded() {
    // Only /health answers; /api/health, /api/chroma/status, … are 404.
    let env = started("--bare");
    let out = env.run(&["status", "--json"]);
    out.code(0);
    let v = out.json();
    support_schema::check("assets/status.schema.json", &v);
    let p = &v["pipeline"];
    assert!(badges(&v).is_empty(), "{v:#}");
    assert!(
        p["dependencies"].is_null() && p["chroma"].is_null(),
        "{p:#}"
    );
    assert_eq!(
        p["notes"],
        serde_json::json!([]),
        "a 404 is not a problem: {p:#}"
    );
    let text = env.run(&["status"]).stdout;
    assert!(
        !text.contains("DEGRADED") && !text.contains("Note:"),
        "{text}"
    );
    let report = env.run(&["doctor", "--json"]).json();
    for id in ["dependencies", "chroma"] {
        let c = doctor_check(&report, id);
        assert_eq!(c["status"], "ok", "{c}");
        assert!(
            c["message"]
                .as_str()
                .is_some_and(|m| m.contains("not reported by this worker")),
            "{c}"
        );
    }
}

#[test]
fn observer_failures_and_hook_lockout_from_the_stand_ins_state_files() {
    let error = "Claude Code process exited with code 1: quota exhausted";
    let env = started(&format!(
        "--observer-failures 3 --observer-error '{error}' --hook-failures 3"
    ));
    // The stand-in wrote them, with claude-mem's field names.
    let observer: Value = serde_json::from_str(
        &env.read("observer-health.json")
            .expect("observer-health.json"),
    )
    .expect("json");
    assert_eq!(observer["consecutiveFailures"], 3);
    assert!(env.exists("state/hook-failures.json"));

    let out = env.run(&["status"]);
    out.code(0);
    let text = &out.stdout;
    let obs = text
        .lines()
        .find(|l| l.contains("the observer failed 3 times in a row"))
        .unwrap_or_else(|| panic!("no observer warning:\n{text}"));
    assert!(obs.trim_start().starts_with("DEGRADED:"), "{obs}");
    assert!(
        obs.contains(error),
        "the warning carries lastErrorMessage: {obs}"
    );
    assert!(
        text.contains("the hooks could not reach the worker 3 times in a row (threshold 3)"),
        "{text}"
    );

    let v = env.run(&["--once", "--json"]).json();
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(v["pipeline"]["observer"]["last_error_message"], error);
    assert_eq!(v["pipeline"]["hooks"]["threshold"], 3);
    assert_eq!(findings(&v, "observer").len(), 1);
    assert_eq!(findings(&v, "hooks").len(), 1);

    let body = env.run(&["--once", "--format", "prometheus"]).stdout;
    assert_eq!(
        sample(&body, "claude_mem_observer_consecutive_failures "),
        3.0
    );
    assert_eq!(sample(&body, "claude_mem_hook_consecutive_failures "), 3.0);

    let report = env.run(&["doctor", "--json"]).json();
    let c = doctor_check(&report, "observer");
    assert_eq!(c["status"], "warn");
    assert!(
        c["message"].as_str().is_some_and(|m| m.contains(error)),
        "{c}"
    );
    assert_eq!(doctor_check(&report, "hooks")["status"], "warn");
}

#[test]
fn the_hook_threshold_comes_from_settings_and_malformed_files_are_notes() {
    let env = started("");
    // Two failures: below claude-mem's default threshold of 3.
    std::fs::create_dir_all(env.path("state")).expect("state dir");
    env.write(
        "state/hook-failures.json",
        r#"{"consecutiveFailures":2,"lastFailureAt":1795600000000,"thresholdTripped":false}"#,
    );
    let v = env.run(&["status", "--json"]).json();
    assert_eq!(v["pipeline"]["hooks"]["consecutive_failures"], 2);
    assert!(findings(&v, "hooks").is_empty(), "{v:#}");
    // At a threshold of 2 from settings.json, they have locked out.
    env.write(
        "settings.json",
        format!(
            r#"{{"CLAUDE_MEM_WORKER_PORT":"{}","CLAUDE_MEM_HOOK_FAIL_LOUD_THRESHOLD":"2"}}"#,
            env.port
        ),
    );
    let v = env.run(&["status", "--json"]).json();
    assert_eq!(v["pipeline"]["hooks"]["threshold"], 2);
    assert_eq!(findings(&v, "hooks").len(), 1, "{v:#}");

    // A broken observer-health.json: one note naming it, no panic, exit 0.
    env.write("observer-health.json", "{\"consecutiveFailures\": 3,");
    let out = env.run(&["status"]);
    out.code(0);
    let note = line_starting(&out.stdout, "Note:", "no note");
    assert!(
        note.contains("observer-health.json is not valid JSON"),
        "{note}"
    );
    assert!(out.stderr.is_empty(), "{}", out.stderr);
}

/// A claude-mem.db with 13.x's user_prompts and observations: one observation `obs_ago` ago,
/// prompts at each of `prompts_ago`.
fn write_db(env: &Env, obs_ago: Duration, prompts_ago: &[Duration]) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64;
    let c = rusqlite::Connection::open(env.path("claude-mem.db")).expect("create the test DB");
    c.execute_batch(
        "CREATE TABLE observations (id INTEGER PRIMARY KEY AUTOINCREMENT,
            memory_session_id TEXT NOT NULL, project TEXT NOT NULL, text TEXT NOT NULL,
            type TEXT NOT NULL, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);
         CREATE TABLE user_prompts (id INTEGER PRIMARY KEY AUTOINCREMENT, session_db_id INTEGER,
            content_session_id TEXT NOT NULL, prompt_number INTEGER NOT NULL,
            prompt_text TEXT NOT NULL, created_at TEXT NOT NULL,
            created_at_epoch INTEGER NOT NULL);",
    )
    .expect("schema");
    let at = |d: &Duration| now - d.as_millis() as i64;
    c.execute(
        "INSERT INTO observations (memory_session_id, project, text, type, created_at, created_at_epoch)
         VALUES ('m1', 'p', 'an observation', 'discovery', 'x', ?1)",
        [at(&obs_ago)],
    )
    .expect("observation");
    for (i, d) in prompts_ago.iter().enumerate() {
        c.execute(
            "INSERT INTO user_prompts (content_session_id, prompt_number, prompt_text, created_at, created_at_epoch)
             VALUES ('s1', ?1, 'a prompt', 'x', ?2)",
            rusqlite::params![i as i64 + 1, at(d)],
        )
        .expect("prompt");
    }
}

#[test]
fn prompts_without_observations_past_stall_after_are_stalled_with_the_observers_error() {
    let env = started("--observer-failures 1 --observer-error 'spawn claude ENOENT'");
    let min = |m: u64| Duration::from_secs(m * 60);
    write_db(&env, min(120), &[min(130), min(40), min(35)]);

    let out = env.run(&["status"]);
    out.code(0);
    let text = &out.stdout;
    let line = line_starting(text, "STALLED:", "no STALLED line");
    assert!(line.contains("2 prompt(s) since"), "{line}");
    assert!(
        line.contains("spawn claude ENOENT"),
        "the observer's last error: {line}"
    );
    assert!(text.contains("Health: healthy (STALLED)"), "{text}");

    let v = env.run(&["--once", "--json"]).json();
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(badges(&v), ["stalled"]);
    assert_eq!(v["pipeline"]["activity"]["prompts_since_observation"], 2);
    assert_eq!(v["pipeline"]["stall_after_seconds"], 1800);

    // Within a longer --stall-after it is not stalled (yet).
    let v = env.run(&["status", "--json", "--stall-after", "1h"]).json();
    assert!(badges(&v).is_empty(), "{v:#}");
    assert_eq!(v["pipeline"]["stall_after_seconds"], 3600);
    let report = env.run(&["doctor", "--json"]).json();
    assert_eq!(doctor_check(&report, "stall")["status"], "warn");
    let report = env.run(&["doctor", "--json", "--stall-after", "1h"]).json();
    assert_eq!(doctor_check(&report, "stall")["status"], "ok");

    // A bad value is exit 2 with the flag named.
    let bad = env.run(&["status", "--stall-after", "soon"]);
    bad.code(2);
    assert!(bad.stderr.contains("--stall-after"), "{}", bad.stderr);
}

fn append_mismatch_lines(env: &Env, n: usize) {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(env.log_path())
        .expect("open the worker's log");
    for _ in 0..n {
        let stamp = claude_mem_top::platform::local_now().format("%Y-%m-%d %H:%M:%S%.3f");
        writeln!(
            f,
            "[{stamp}] [INFO ] [SYSTEM] Worker version mismatch \u{2014} killing stale worker {{pluginVersion=13.25.3, workerVersion=13.24.0}}"
        )
        .expect("append");
    }
}

#[test]
fn six_starts_and_mismatch_kills_within_an_hour_are_flapping() {
    let env = started("");
    // Real restarts: each new stand-in logs `HTTP server started`. Five starts and five
    // mismatch kills an hour are at the limit, not past it.
    for _ in 0..4 {
        env.run(&["restart", "--timeout", "10s"]).code(0);
    }
    append_mismatch_lines(&env, 5);
    common::wait_until(Duration::from_secs(10), "five starts in the log", || {
        env.log().matches("HTTP server started").count() == 5
    });
    let v = env.run(&["status", "--json"]).json();
    assert_eq!(v["pipeline"]["restarts"]["starts_last_hour"], 5, "{v:#}");
    assert_eq!(v["pipeline"]["restarts"]["version_mismatches_last_hour"], 5);
    assert!(badges(&v).is_empty(), "{v:#}");

    env.run(&["restart", "--timeout", "10s"]).code(0);
    append_mismatch_lines(&env, 1);
    common::wait_until(Duration::from_secs(10), "six starts in the log", || {
        env.log().matches("HTTP server started").count() == 6
    });
    let out = env.run(&["status"]);
    out.code(0);
    let line = line_starting(&out.stdout, "FLAPPING:", "no FLAPPING line:");
    assert!(
        line.contains("6 worker starts and 6 `Worker version mismatch` kills"),
        "{line}"
    );
    let v = env.run(&["--once", "--json"]).json();
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(badges(&v), ["flapping"]);
    let report = env.run(&["doctor", "--json"]).json();
    assert_eq!(doctor_check(&report, "flapping")["status"], "warn");
    let body = env.run(&["status", "--format", "prometheus"]).stdout;
    assert_eq!(
        sample(&body, "claude_mem_pipeline_signal{signal=\"flapping\"}"),
        1.0
    );
}

#[test]
fn the_installed_plugin_version_shows_next_to_the_running_one() {
    let env = Env::stand_in("");
    let plugin = env
        .home
        .join(".claude/plugins/marketplaces/thedotmack/plugin");
    std::fs::create_dir_all(&plugin).expect("plugin dir");
    std::fs::write(plugin.join("package.json"), r#"{"version":"7.1.1"}"#).expect("package");
    env.make_dir();
    env.run(&["start"]).code(0);
    let out = env.run(&["status"]);
    out.code(0);
    let running = env.marker();
    assert!(
        out.stdout
            .contains(&format!("API: version {running} (installed 7.1.1)")),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(&format!(
            "Warning: the worker runs {running}, but 7.1.1 is installed"
        )),
        "{}",
        out.stdout
    );
    let v = env.run(&["status", "--json"]).json();
    assert_eq!(v["pipeline"]["versions"]["installed"], "7.1.1");
    assert_eq!(v["pipeline"]["versions"]["running"], running.as_str());
    assert!(
        badges(&v).is_empty(),
        "a mismatch alone is a warning, no badge"
    );
    let report = env.run(&["doctor", "--json"]).json();
    assert_eq!(doctor_check(&report, "plugin_version")["status"], "warn");
}

/// The dashboard, in a real terminal, against the degraded stand-in (pseudo-terminals: Unix only).
#[cfg(unix)]
#[test]
fn the_dashboard_header_shows_degraded_and_the_health_panel_the_remediation() {
    let env = started("--degraded claude_cli");
    let mut pty = support_pty::Pty::spawn(env.cmd(&[]), 160, 50);
    let screen = pty.wait_for("DEGRADED in the header", Duration::from_secs(20), |s| {
        s.lines().next().is_some_and(|h| h.contains("DEGRADED"))
            && s.contains("claude_cli setup_required")
    });
    assert!(
        screen.contains("fix Install or update Claude Code CLI"),
        "{screen}"
    );
    pty.send(b"q");
    assert_eq!(pty.wait_exit(Duration::from_secs(10)).code(), Some(0));
}

/// The first line of `text` that starts (after its indent) with `head`; panics naming `what`.
fn line_starting<'a>(text: &'a str, head: &str, what: &str) -> &'a str {
    text.lines()
        .find(|l| l.trim_start().starts_with(head))
        .unwrap_or_else(|| panic!("{what}:\n{text}"))
}
