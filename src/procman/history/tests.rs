use super::*;

/// A log line at `hms` on 2026-12-07.
fn l(hms: &str, level: &str, comp: &str, msg: &str) -> String {
    format!("[2026-12-07 {hms}.000] [{level:<5}] [{comp}] {msg}\n")
}

fn start(hms: &str, pid: i32) -> String {
    l(
        hms,
        "INFO",
        "SYSTEM",
        &format!("HTTP server started {{host=127.0.0.1, port=38411, pid={pid}}}"),
    ) + &l(
        hms,
        "INFO",
        "SYSTEM",
        &format!("Worker started {{host=127.0.0.1, port=38411, pid={pid}}}"),
    )
}

fn launch(hms: &str, v: &str) -> String {
    l(
        hms,
        "INFO",
        "SYSTEM",
        &format!(
            "Starting worker daemon {{workerScriptPath=/h/.claude/plugins/cache/thedotmack/claude-mem/{v}/scripts/worker-service.cjs}}"
        ),
    )
}

fn data_dir(files: &[(&str, &str)]) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(d.path().join("logs")).expect("logs");
    for (name, text) in files {
        std::fs::write(d.path().join(name), text).expect("write");
    }
    d
}

/// Stopped cleanly, killed, running: the real 13.25.3 sequence.
fn three_runs() -> String {
    let mut t = launch("10:00:00", "13.25.3");
    t += &start("10:00:01", 100);
    t += &l("10:00:02", "INFO", "WORKER", "busy");
    t += &l(
        "10:05:00",
        "INFO",
        "SYSTEM",
        "Received SIGTERM, shutting down...",
    );
    t += &l("10:05:00", "INFO", "SYSTEM", "Worker shutdown complete");
    t += &launch("10:06:00", "13.25.3");
    t += &start("10:06:01", 200);
    t += &l(
        "10:07:00",
        "WARN",
        "WORKER",
        "the last words\nwith a continuation",
    );
    t += &l(
        "10:08:00",
        "INFO",
        "SYSTEM",
        "Removing stale PID file (worker process is dead or PID has been reused) {pid=200}",
    );
    t += &launch("10:08:01", "13.25.3");
    t += &l(
        "10:08:01",
        "INFO",
        "SYSTEM",
        "Cached SKILL.md at boot {path=/x, bytes=1}",
    );
    t += &start("10:08:02", 300);
    t += &l("10:09:00", "INFO", "WORKER", "still here");
    t
}

#[test]
fn clean_unclean_running_in_order() {
    let d = data_dir(&[("logs/claude-mem-2026-12-07.log", &three_runs())]);
    let live = Live {
        pid: 300,
        version: None,
        started: None,
    };
    let h = read(d.path(), Limits::default(), Some(&live)).expect("history");
    let got: Vec<(i32, End)> = h.runs.iter().map(|r| (r.pid, r.end)).collect();
    assert_eq!(
        got,
        [(100, End::Clean), (200, End::Unclean), (300, End::Running)]
    );
    assert!(h
        .runs
        .iter()
        .all(|r| r.version.as_deref() == Some("13.25.3")));
    assert_eq!(h.runs[0].uptime_seconds, Some(299));
    assert_eq!(h.runs[0].cause, Some(Cause::Signal("SIGTERM".into())));
    let killed = &h.runs[1];
    assert_eq!(
        killed.last_lines.last().map(String::as_str),
        Some("with a continuation"),
        "{:?}",
        killed.last_lines
    );
    assert!(
        !killed
            .last_lines
            .iter()
            .any(|l| l.contains("at boot") || l.contains("stale PID")),
        "the next launcher's lines are not the run's: {:?}",
        killed.last_lines
    );
    // Ended at its last own line.
    assert_eq!(killed.uptime_seconds, Some(59));
    assert_eq!(h.previous().map(|r| r.pid), Some(200));
    assert_eq!(h.summary.runs, 3);
    assert_eq!(h.summary.unclean, 1);
    assert_eq!(h.summary.restarts_per_day, 2.0);
    // The running one counts (it has been up since 10:08 that day).
    assert_eq!(h.summary.longest.map(|l| l.pid), Some(300));
}

#[test]
fn gone_without_a_shutdown_is_unclean_and_the_file_makes_it_clean() {
    let text = start("10:00:01", 100) + &l("10:00:09", "INFO", "WORKER", "last");
    let d = data_dir(&[("logs/worker-2026-12-07.log", &text)]);
    let h = read(d.path(), Limits::default(), None).expect("history");
    assert_eq!(h.runs[0].end, End::Unclean);
    assert_eq!(h.runs[0].uptime_seconds, Some(8));
    // Its start lines are its last lines but one: it died soon after it began.
    assert_eq!(h.runs[0].last_lines.len(), 3, "{:?}", h.runs[0].last_lines);
    // 13.x wrote .worker-clean-shutdown after it started (UTC), with no line in the log.
    let local =
        NaiveDateTime::parse_from_str("2026-12-07 10:00:30", "%Y-%m-%d %H:%M:%S").expect("time");
    let off = *crate::platform::local_now().offset();
    let utc = local
        .and_local_timezone(off)
        .single()
        .expect("local")
        .with_timezone(&chrono::Utc);
    std::fs::write(d.path().join(CLEAN_SHUTDOWN_FILE), files::iso(utc)).expect("write");
    let h = read(d.path(), Limits::default(), None).expect("history");
    assert_eq!(h.runs[0].end, End::Clean);
    assert_eq!(h.runs[0].cause, Some(Cause::CleanShutdownFile));
}

#[test]
fn a_mismatch_kill_replaces_and_a_loop_is_flapping_with_its_cause() {
    let mut t = String::new();
    for i in 0..8 {
        let m = 10 + i * 3;
        t += &start(&format!("11:{m:02}:00"), 1000 + i);
        t += &l(
            &format!("11:{:02}:00", m + 2),
            "INFO",
            "SYSTEM",
            "Worker version mismatch \u{2014} killing stale worker {pluginVersion=13.25.3, workerVersion=13.25.2}",
        );
    }
    let d = data_dir(&[("logs/claude-mem-2026-12-07.log", &t)]);
    let h = read(d.path(), Limits::default(), None).expect("history");
    assert_eq!(h.runs.len(), 8);
    assert!(
        h.runs.iter().all(|r| r.end == End::Replaced),
        "{:?}",
        h.runs
    );
    assert_eq!(h.runs[0].version.as_deref(), Some("13.25.2"));
    assert_eq!(h.summary.replaced, 8);
    assert_eq!(h.flapping.len(), 1, "{:?}", h.flapping);
    assert_eq!(h.flapping[0].starts, 8);
    assert!(
        h.flapping[0]
            .cause
            .as_deref()
            .is_some_and(|c| c.contains("version mismatch")),
        "{:?}",
        h.flapping
    );
}

#[test]
fn runs_across_days_and_layouts_and_the_limits() {
    let d = data_dir(&[
        (
            "logs/worker-2026-12-05.log",
            &start("09:00:00", 1).replace("12-07", "12-05"),
        ),
        (
            "logs/claude-mem-2026-12-06.log",
            &(start("09:00:00", 2)
                + &l("09:30:00", "INFO", "SHUTDOWN", "Worker shutdown complete"))
                .replace("12-07", "12-06"),
        ),
        ("logs/claude-mem-2026-12-07.log", &start("09:00:00", 3)),
    ]);
    let h = read(d.path(), Limits::default(), None).expect("history");
    let pids: Vec<i32> = h.runs.iter().map(|r| r.pid).collect();
    assert_eq!(pids, [1, 2, 3]);
    assert_eq!(h.runs[0].end, End::Unclean);
    assert_eq!(h.runs[1].end, End::Clean);
    assert_eq!(h.summary.days.len(), 3);
    let since = Since::parse("2026-12-06")
        .expect("date")
        .resolve(NaiveDateTime::default());
    let h = read(
        d.path(),
        Limits {
            since: Some(since),
            ..Limits::default()
        },
        None,
    )
    .expect("history");
    assert_eq!(h.runs.iter().map(|r| r.pid).collect::<Vec<_>>(), [2, 3]);
    let h = read(
        d.path(),
        Limits {
            max_runs: 1,
            ..Limits::default()
        },
        None,
    )
    .expect("history");
    assert_eq!(h.runs.iter().map(|r| r.pid).collect::<Vec<_>>(), [3]);
    assert!(!h.notes.is_empty());
}

#[test]
fn no_logs_is_an_error_naming_the_dir() {
    let d = data_dir(&[]);
    let e = read(d.path(), Limits::default(), None).expect_err("no logs");
    assert!(e
        .to_string()
        .contains(&d.path().join("logs").display().to_string()));
    assert_eq!(e.exit_code(), 1);
}

#[test]
fn since_parses_durations_and_dates() {
    assert_eq!(
        Since::parse("2d"),
        Ok(Since::Ago(Duration::from_secs(2 * 86_400)))
    );
    assert_eq!(
        Since::parse("90m"),
        Ok(Since::Ago(Duration::from_secs(5400)))
    );
    assert!(matches!(Since::parse("2026-12-01 08:00"), Ok(Since::At(_))));
    assert!(Since::parse("yesterday").is_err());
    assert!(Since::parse("-2d").is_err());
}

#[test]
fn random_bytes_never_panic() {
    use proptest::prelude::*;
    proptest!(|(text in proptest::collection::vec(any::<u8>(), 0..2000))| {
        let mut out = Vec::new();
        scan::scan(&text, 0, 0, &mut out);
        let _ = fold::fold(&out);
    });
}
