use super::*;

const REAL_13_25_3: &str = r#"{"status":"ok","version":"13.25.3","uptime":8,"pid":9354,
    "initialized":true,"mcpReady":true,"dependencies":{"degraded":true,"statuses":[
    {"dependency":"claude_cli","kind":"setup_required","message":"Claude executable not found",
     "remediation":"Install or update Claude Code CLI, then restart claude-mem.",
     "recordedAtMs":1795600000000}]}}"#;

#[test]
fn the_real_degraded_claude_cli_parses() {
    let v: serde_json::Value = serde_json::from_str(REAL_13_25_3).expect("json");
    let d = parse_dependencies(&v).expect("dependencies");
    assert!(d.degraded);
    assert_eq!(d.statuses.len(), 1);
    let s = &d.statuses[0];
    assert_eq!(s.dependency, Dependency::ClaudeCli);
    assert_eq!(s.kind, "setup_required");
    assert_eq!(s.recorded_at_ms, Some(1_795_600_000_000));
    let mut p = Pipeline {
        dependencies: Some(d),
        ..Pipeline::default()
    };
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert_eq!(p.badges, vec![Signal::Degraded]);
    assert!(p.findings[0].reason.contains("claude_cli setup_required"));
    assert!(p.findings[0]
        .fix
        .starts_with("Install or update Claude Code CLI"));
}

#[test]
fn no_dependencies_or_none_degraded_says_nothing() {
    let v = serde_json::json!({"status":"ok"});
    assert_eq!(parse_dependencies(&v), None);
    let v = serde_json::json!({"dependencies":{"degraded":false,"statuses":[]}});
    let mut p = Pipeline {
        dependencies: parse_dependencies(&v),
        ..Pipeline::default()
    };
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert!(p.findings.is_empty() && p.badges.is_empty());
    // Garbage entries are skipped, unknown names kept.
    let v = serde_json::json!({"dependencies":{"statuses":[1, {"x":1}, {"dependency":"bun"}]}});
    let d = parse_dependencies(&v).expect("dependencies");
    assert_eq!(d.statuses.len(), 1);
    assert_eq!(d.statuses[0].dependency, Dependency::Other("bun".into()));
    assert!(d.degraded);
}

#[test]
fn observer_at_three_failures_carries_its_error() {
    let o = parse_observer(
        r#"{"consecutiveFailures":3,"failingSinceAt":1795600000000,"lastErrorAt":1795600060000,
            "lastErrorMessage":"Claude Code process exited with code 1","lastSuccessAt":null}"#,
    )
    .expect("parses");
    assert_eq!(o.consecutive_failures, 3);
    assert_eq!(o.last_success_at_ms, None);
    let mut p = Pipeline {
        observer: Some(Observer {
            consecutive_failures: 2,
            ..o.clone()
        }),
        ..Pipeline::default()
    };
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert!(p.findings.is_empty(), "2 failures are below the threshold");
    p.observer = Some(o);
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert_eq!(p.findings[0].source, Source::Observer);
    assert!(p.findings[0]
        .reason
        .contains("Claude Code process exited with code 1"));
}

#[test]
fn malformed_state_files_are_notes() {
    match parse_observer("{") {
        Err(
            e @ ReadError::NotJson {
                file: OBSERVER_HEALTH_FILE,
                ..
            },
        ) => assert!(e
            .to_string()
            .starts_with("observer-health.json is not valid JSON")),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        parse_hooks("[1]", 3),
        Err(ReadError::NotObject {
            file: HOOK_FAILURES_FILE
        })
    );
    // Wrong types count as nothing rather than failing.
    let h = parse_hooks(r#"{"consecutiveFailures":"x","lastFailureAt":0}"#, 3).expect("ok");
    assert_eq!((h.consecutive_failures, h.last_failure_at_ms), (0, None));
}

#[test]
fn hooks_at_the_threshold_lock_out() {
    assert_eq!(parse_threshold(None), 3);
    assert_eq!(parse_threshold(Some("0")), 3);
    assert_eq!(parse_threshold(Some("x")), 3);
    assert_eq!(parse_threshold(Some(" 5 ")), 5);
    let h = parse_hooks(
        r#"{"consecutiveFailures":3,"lastFailureAt":1795600000000}"#,
        3,
    )
    .expect("ok");
    let mut p = Pipeline {
        hooks: Some(Hooks {
            threshold: 4,
            ..h.clone()
        }),
        ..Pipeline::default()
    };
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert!(p.findings.is_empty());
    p.hooks = Some(h);
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert_eq!(p.badges, vec![Signal::Degraded]);
    assert!(p.findings[0]
        .reason
        .contains("3 times in a row (threshold 3)"));
}

#[test]
fn stalled_only_after_stall_after_since_the_first_unobserved_prompt() {
    let min = 60_000;
    let now = 1_795_600_000_000;
    let mut p = Pipeline {
        activity: Some(PromptFlow {
            newest_prompt_ms: Some(now - min),
            newest_observation_ms: Some(now - 120 * min),
            prompts_since_observation: 4,
            oldest_unobserved_prompt_ms: Some(now - 29 * min),
        }),
        observer: Some(Observer {
            last_error_message: Some("quota exceeded".into()),
            ..Observer::default()
        }),
        ..Pipeline::default()
    };
    evaluate(&mut p, DEFAULT_STALL_AFTER, now);
    assert!(p.findings.is_empty(), "29 min < 30 min");
    if let Some(a) = p.activity.as_mut() {
        a.oldest_unobserved_prompt_ms = Some(now - 31 * min);
    }
    evaluate(&mut p, DEFAULT_STALL_AFTER, now);
    assert_eq!(p.badges, vec![Signal::Stalled]);
    assert!(p.findings[0].reason.contains("4 prompt(s)"));
    assert!(p.findings[0].reason.contains("quota exceeded"));
}

#[test]
fn restarts_count_within_the_hour() {
    let since = chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date");
    let lines = [
        "[2026-11-24 09:59:59.999] [INFO ] [SYSTEM] HTTP server started {port=1}",
        "[2026-11-24 10:00:00.000] [INFO ] [SYSTEM] HTTP server started {port=1}",
        "[2026-11-24 10:10:00.000] [INFO ] [SYSTEM] Worker version mismatch — killing stale worker {pluginVersion=13.25.3}",
        "HTTP server started (a continuation line)",
        "[SessionStore] Migration004 applied successfully",
        "[garbage",
    ];
    let r = count_restarts(lines.join("\n").as_bytes(), since);
    assert_eq!(
        r,
        Restarts {
            starts_last_hour: 1,
            version_mismatches_last_hour: 1
        }
    );
    let mut p = Pipeline {
        restarts: Some(Restarts {
            starts_last_hour: 5,
            version_mismatches_last_hour: 5,
        }),
        ..Pipeline::default()
    };
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert!(p.findings.is_empty(), "5 an hour is the limit, not past it");
    p.restarts = Some(Restarts {
        starts_last_hour: 6,
        version_mismatches_last_hour: 6,
    });
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert_eq!(p.badges, vec![Signal::Flapping]);
    assert!(p.findings[0].fix.contains("version"), "{:?}", p.findings);
    // Ordinary restarts, no mismatch kill: the fix is about why the worker exits.
    p.restarts = Some(Restarts {
        starts_last_hour: 7,
        version_mismatches_last_hour: 0,
    });
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert_eq!(p.badges, vec![Signal::Flapping]);
    assert!(
        !p.findings[0].fix.contains("version") && p.findings[0].fix.contains("logs"),
        "{:?}",
        p.findings
    );
}

#[test]
fn restarts_are_counted_in_a_log_that_is_not_utf8() {
    let since = chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date");
    // A cut multi-byte character at the start (the tail was read from the middle of one), a
    // Latin-1 byte in a line: neither hides the lines around them.
    let mut log = vec![0x9c, b'\n'];
    log.extend_from_slice(
        b"[2026-11-24 10:01:00.000] [INFO ] [SYSTEM] caf\xe9 HTTP server started\n",
    );
    log.extend_from_slice(
        b"[2026-11-24 10:02:00.000] [INFO ] [SYSTEM] Worker version mismatch \xff\n",
    );
    assert_eq!(
        count_restarts(&log, since),
        Restarts {
            starts_last_hour: 1,
            version_mismatches_last_hour: 1
        }
    );
    assert_eq!(
        first_time(&log, 10).map(|t| t.to_string()),
        Some("2026-11-24 10:01:00".to_string())
    );
}

#[test]
fn chroma_and_versions() {
    let c = parse_chroma(&serde_json::json!({"status":"unhealthy","connected":false,
        "details":"chroma-mcp health check failed"}))
    .expect("chroma");
    let mut p = Pipeline {
        chroma: Some(c),
        versions: Versions {
            running: Some("13.25.3".into()),
            installed: Some("v13.25.3".into()),
        },
        ..Pipeline::default()
    };
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert_eq!(p.findings.len(), 1);
    assert!(p.findings[0]
        .reason
        .contains("chroma-mcp health check failed"));
    p.chroma = parse_chroma(&serde_json::json!({"status":"disabled"}));
    p.versions.installed = Some("13.26.0".into());
    evaluate(&mut p, DEFAULT_STALL_AFTER, 0);
    assert_eq!(p.findings.len(), 1);
    assert_eq!(p.findings[0].signal, Signal::VersionMismatch);
    assert!(
        p.badges.is_empty(),
        "a version mismatch is a warning, no badge"
    );
}

#[test]
fn random_text_never_panics() {
    for raw in [
        "",
        "null",
        "{\"consecutiveFailures\":1e400}",
        "\u{0}",
        "{\"failingSinceAt\":\"not a date\"}",
    ] {
        let _ = parse_observer(raw);
        let _ = parse_hooks(raw, 3);
    }
    assert!(line_time("[2026-11-24 10:53:24.194] x").is_some());
    assert_eq!(line_time("[2026-11-24 10:53"), None);
    assert_eq!(line_time("[2026-11-24 10:5é:24.194]"), None);
}

#[test]
fn a_big_log_is_read_back_only_as_far_as_the_hour() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("claude-mem-2026-11-24.log");
    let since = chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date");
    let mut text = String::new();
    // 2 MB of old lines with starts in them, then the hour: 7 starts, 6 kills, among noise.
    for i in 0..20_000 {
        text.push_str(&format!(
            "[2026-11-24 09:{:02}:00.000] [INFO ] [SYSTEM] HTTP server started {{i={i}}} {}\n",
            i % 60,
            "x".repeat(40)
        ));
    }
    for i in 0..3000 {
        let m = i / 60 + 1;
        let msg = match i % 400 {
            0..=6 => "HTTP server started {port=37777}",
            7..=12 => "Worker version mismatch \u{2014} killing stale worker",
            _ => "Query executed {table=observations}",
        };
        text.push_str(&format!(
            "[2026-11-24 10:{m:02}:00.000] [INFO ] [SYSTEM] {msg}\n"
        ));
    }
    std::fs::write(&path, text).expect("write log");
    let r = super::read::count_in(&path, since);
    assert_eq!(r.starts_last_hour, 8 * 7);
    assert_eq!(r.version_mismatches_last_hour, 8 * 6);
}

#[test]
fn a_line_cut_by_a_block_boundary_still_counts() {
    use super::read::{count_in, LOG_BLOCK};
    let dir = tempfile::tempdir().expect("tempdir");
    let since = chrono::NaiveDate::from_ymd_opt(2026, 11, 24)
        .and_then(|d| d.and_hms_opt(10, 0, 0))
        .expect("date");
    let filler = "[2026-11-24 10:31:00.000] [INFO ] [SYSTEM] Query executed {table=observations}\n";
    for (msg, cut_at) in [
        (START_LINE, "server"),
        (MISMATCH_LINE, "version"),
        (START_LINE, "[2026"),
    ] {
        let line = format!("[2026-11-24 10:30:00.000] [INFO ] [SYSTEM] {msg} {{port=1}}\n");
        let off = line.find(cut_at).expect("cut point");
        // From the cut point on, exactly one block: the boundary falls at `cut_at`.
        let mut after = line.len() - off;
        let mut tail = String::new();
        while after + filler.len() < LOG_BLOCK - 200 {
            tail.push_str(filler);
            after += filler.len();
        }
        let pad = LOG_BLOCK - after - "[2026-11-24 10:32:00.000] \n".len();
        tail.push_str(&format!("[2026-11-24 10:32:00.000] {}\n", "x".repeat(pad)));
        let text = format!(
            "[2026-11-24 09:00:00.000] [INFO ] [SYSTEM] {START_LINE} (old)\n{}{line}{tail}",
            filler.repeat(3000)
        );
        assert_eq!(
            text.len() - LOG_BLOCK,
            text.find(&line).expect("line") + off
        );
        let path = dir.path().join("claude-mem-2026-11-24.log");
        std::fs::write(&path, &text).expect("write log");
        let r = count_in(&path, since);
        let want = if msg == START_LINE { (1, 0) } else { (0, 1) };
        assert_eq!(
            (r.starts_last_hour, r.version_mismatches_last_hour),
            want,
            "{msg} cut at {cut_at:?}"
        );
    }
}
