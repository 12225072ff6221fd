//! Property tests (issue 6): the parsers of PID, port, marker timestamps, worker.pid JSON,
//! settings.json, durations and log lines never panic on random input, and valid input
//! round-trips.

use std::path::Path;
use std::time::Duration;

use claude_mem_top::config::{
    fmt_duration, parse_duration, read_settings, resolve_port, settings_port, PortSource, WorkerCmd,
};
use claude_mem_top::logs;
#[cfg(target_os = "linux")]
use claude_mem_top::platform::linux::{parse_net_tcp, parse_stat};
use claude_mem_top::platform::StartToken;
use claude_mem_top::procman::files::{
    self, parse_json_pid, parse_marker, parse_pid, parse_pid_file, parse_port, parse_port_file,
};
use proptest::prelude::*;

const P: &str = "/data/.worker.pid";

/// Strings that look a bit like what the parsers expect, plus anything at all.
fn texty() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9]{0,12}",
        "[ \t\r\n+-]?[0-9]{1,6}[ \t\r\n.a-z]?",
        "[0-9]{1,5}(\r?\n[0-9]{1,10}){0,3}\r?\n?",
        "\\PC{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    // ---- PID ------------------------------------------------------------------------------

    #[test]
    fn pid_parser_never_panics_and_accepts_only_plain_positive_decimals(s in texty()) {
        if let Ok(n) = parse_pid(&s) {
            prop_assert!(n >= 1);
            prop_assert!(!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
            prop_assert_eq!(s.trim_start_matches('0'), n.to_string());
        }
        let _ = parse_pid_file(Path::new(P), &s);
    }

    #[test]
    fn pid_round_trips(n in 1..=i32::MAX) {
        prop_assert_eq!(parse_pid(&n.to_string()), Ok(n));
        for text in [n.to_string(), format!("{n}\n"), format!("{n}\r\n")] {
            prop_assert_eq!(parse_pid_file(Path::new(P), &text), Ok(n));
        }
    }

    #[test]
    fn pid_out_of_range_is_rejected(n in prop_oneof![i64::MIN..=0i64, (i32::MAX as i64 + 1)..=i64::MAX]) {
        prop_assert!(parse_pid(&n.to_string()).is_err());
    }

    // ---- port -----------------------------------------------------------------------------

    #[test]
    fn port_parser_never_panics_and_accepts_only_1024_to_65535(s in texty()) {
        if let Ok(p) = parse_port(&s) {
            prop_assert!(p >= 1024);
            prop_assert!(s.bytes().all(|b| b.is_ascii_digit()));
        }
        let _ = parse_port_file(Path::new("/d/.worker.port"), &s);
    }

    #[test]
    fn port_round_trips(p in 1024u16..=65535) {
        prop_assert_eq!(parse_port(&p.to_string()), Ok(p));
    }

    #[test]
    fn port_out_of_range_is_rejected(n in prop_oneof![0u64..1024, 65536u64..=u64::MAX]) {
        prop_assert!(parse_port(&n.to_string()).is_err());
    }

    #[test]
    fn port_file_round_trips(p in 1024u16..=65535, pid in 1..=i32::MAX, eol in prop_oneof![Just(""), Just("\n"), Just("\r\n")]) {
        let text = format!("{p}\n{pid}{eol}");
        prop_assert_eq!(parse_port_file(Path::new("/d/.worker.port"), &text), Ok((p, pid)));
    }

    // ---- marker timestamps ----------------------------------------------------------------

    #[test]
    fn marker_parser_never_panics(s in prop_oneof![any::<String>(), "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]{0,14}Z?"]) {
        let _ = parse_marker(&s);
    }

    #[test]
    fn marker_round_trips(ms in 0i64..4_102_444_800_000) {
        let t = chrono::DateTime::from_timestamp_millis(ms).expect("in range");
        let text = files::iso(t);
        prop_assert_eq!(text.len(), 24);
        prop_assert_eq!(parse_marker(&text), Some(t));
        prop_assert_eq!(parse_marker(&format!("{text}\n")), Some(t));
    }

    // ---- worker.pid JSON ------------------------------------------------------------------

    #[test]
    fn json_pid_parser_never_panics(s in prop_oneof![
        any::<String>(),
        r#"\{"pid": ?-?[0-9]{0,12}(, ?"port": ?"?[0-9]{0,6}"?)?(, ?"startToken": ?"?[0-9a-z]{0,20}"?)?\}"#,
    ]) {
        let _ = parse_json_pid(Path::new("/d/worker.pid"), &s);
    }

    #[test]
    fn json_pid_round_trips(
        pid in 1..=i32::MAX,
        port in 1024u16..=65535,
        token in any::<u64>(),
        ms in 0i64..4_102_444_800_000,
        as_strings in any::<bool>(),
    ) {
        let started = files::iso(chrono::DateTime::from_timestamp_millis(ms).expect("ms"));
        let doc = if as_strings {
            serde_json::json!({"pid": pid.to_string(), "port": port.to_string(), "startedAt": started, "startToken": token.to_string()})
        } else {
            serde_json::json!({"pid": pid, "port": port, "startedAt": started, "startToken": token})
        };
        let j = parse_json_pid(Path::new("/d/worker.pid"), &serde_json::to_string_pretty(&doc).expect("json"))
            .expect("valid");
        prop_assert_eq!(j.pid, pid);
        prop_assert_eq!(j.port, Some(port));
        prop_assert_eq!(j.start_token, Some(StartToken::from_raw(token)));
        prop_assert_eq!(j.started_at.map(files::iso), Some(started));
    }

    // ---- small files ----------------------------------------------------------------------

    #[test]
    fn small_file_reader_never_panics_and_returns_text_as_written(bytes in prop::collection::vec(any::<u8>(), 0..6000)) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join(".worker.pid");
        std::fs::write(&path, &bytes).expect("write");
        match files::read_small(&path) {
            Ok(Some(f)) => prop_assert_eq!(f.text.as_bytes(), &bytes[..]),
            Ok(None) => prop_assert!(false, "file exists"),
            Err(e) => prop_assert!(!e.is_untrusted() && (bytes.len() > 4096 || std::str::from_utf8(&bytes).is_err()), "{}", e),
        }
    }

    #[test]
    fn atomic_write_round_trips(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join(".worker.port");
        std::fs::write(&path, b"old").expect("old");
        files::write_atomic(&path, &bytes).expect("write");
        prop_assert_eq!(std::fs::read(&path).expect("read"), bytes);
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").flatten().map(|e| e.file_name()).collect();
        prop_assert_eq!(names.len(), 1, "temp files left: {:?}", names);
    }

    // ---- settings.json and the port's sources ---------------------------------------------

    #[test]
    fn settings_reader_never_panics(bytes in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        r#"\{("env": ?)?\{?"CLAUDE_MEM_WORKER_PORT": ?("[^"]{0,8}"|-?[0-9.e]{1,8}|null|true|\[\]|\{\})\}?\}"#.prop_map(String::into_bytes),
    ]) {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("settings.json");
        std::fs::write(&path, &bytes).expect("write");
        let _ = read_settings(&path);
        if let Ok(Some(v)) = settings_port(&path) {
            // Whatever the file holds, the port is then checked strictly.
            let checked = resolve_port(None, dir.path());
            if std::env::var_os("CLAUDE_MEM_WORKER_PORT").is_none() {
                prop_assert_eq!(checked.is_ok(), parse_port(&v).is_ok());
            }
        }
    }

    #[test]
    fn settings_port_round_trips(p in 1024u16..=65535, nested in any::<bool>(), as_number in any::<bool>(), filler in prop::collection::btree_map("[A-Z_]{1,20}", "\\PC{0,20}", 0..20)) {
        let value = if as_number { serde_json::json!(p) } else { serde_json::json!(p.to_string()) };
        let mut obj: serde_json::Map<String, serde_json::Value> =
            filler.into_iter().filter(|(k, _)| k != "CLAUDE_MEM_WORKER_PORT" && k != "env").map(|(k, v)| (k, v.into())).collect();
        let doc = if nested {
            serde_json::json!({ "env": { "CLAUDE_MEM_WORKER_PORT": value } })
        } else {
            obj.insert("CLAUDE_MEM_WORKER_PORT".into(), value);
            serde_json::Value::Object(obj)
        };
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("settings.json");
        std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("json")).expect("write");
        prop_assert_eq!(settings_port(&path).map_err(|e| e.to_string()), Ok(Some(p.to_string())));
    }

    #[test]
    fn port_flag_is_strict(s in texty()) {
        let dir = tempfile::tempdir().expect("tmp");
        match resolve_port(Some(&s), dir.path()) {
            Ok((p, src)) => {
                prop_assert_eq!(src, PortSource::Flag);
                prop_assert_eq!(parse_port(&s), Ok(p));
            }
            Err(e) => {
                let msg = e.to_string();
                prop_assert!(msg.starts_with("Invalid port ") && msg.contains("--port"), "{}", msg);
            }
        }
    }

    // ---- durations and the worker command -------------------------------------------------

    #[test]
    fn duration_parser_never_panics(s in prop_oneof![any::<String>(), "[0-9.]{0,25}(ms|s|m|h)?"]) {
        let _ = parse_duration(&s);
    }

    #[test]
    fn durations_round_trip(ms in 0u64..100_000_000) {
        prop_assert_eq!(parse_duration(&format!("{ms}ms")), Some(Duration::from_millis(ms)));
        let d = Duration::from_millis(ms);
        prop_assert_eq!(parse_duration(&fmt_duration(d)), Some(d));
    }

    #[test]
    fn worker_cmd_parser_never_panics(s in any::<String>()) {
        if let Ok(c) = WorkerCmd::parse(&s, "test") {
            prop_assert!(!c.argv.is_empty());
        }
    }

    // ---- log lines ------------------------------------------------------------------------

    #[test]
    fn log_parsers_never_panic_and_sanitize_leaves_no_control_characters(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        name in prop_oneof![any::<String>(), "(worker|claude-mem)-[0-9-]{8,12}\\.log"],
    ) {
        let _ = logs::log_date(&name);
        let lines = logs::split_lines(&bytes);
        for l in &lines {
            prop_assert!(!l.contains('\n') && !l.contains('\r'));
            let _ = logs::line_level(l);
            let clean = logs::sanitize(l);
            prop_assert!(
                !clean.chars().any(|c| c.is_control()),
                "control character left in {:?}", clean
            );
        }
        let n = lines.len();
        let entries = logs::group(lines);
        prop_assert_eq!(entries.iter().map(|e| e.lines.len()).sum::<usize>(), n);
    }

    #[test]
    fn formatted_log_lines_keep_their_level(
        lvl in prop_oneof![Just("DEBUG"), Just("INFO "), Just("WARN "), Just("ERROR")],
        comp in "[A-Z_]{2,12}",
        msg in "\\PC{0,60}",
    ) {
        let line = format!("[2026-11-24 10:53:24.194] [{lvl}] [{comp:<6}] {msg}");
        let got = logs::line_level(&line).map(|l| l.label());
        prop_assert_eq!(got, Some(lvl.trim()));
        prop_assert!(logs::starts_entry(&line));
    }
}

// procfs text exists on Linux only.
#[cfg(target_os = "linux")]
proptest! {
    #[test]
    fn proc_parsers_never_panic(s in prop_oneof![
        any::<String>(),
        "[0-9]{1,7} \\([^\n]{0,20}\\)( [A-Z0-9-]{1,5}){0,30}",
    ], port in any::<u16>()) {
        let _ = parse_stat(&s);
        let _ = parse_net_tcp(&s, port);
    }
}
