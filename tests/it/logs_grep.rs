//! `logs --grep`: every day's log searched on disk, both layouts, oldest first; entries whole;
//! a big file in bounded memory; odd bytes passed through; a closed pipe ends it quietly.

// The closed-pipe test (and what it reads with) is Unix-only.
#![cfg_attr(windows, allow(unused_imports, dead_code))]

use std::io::{Read, Write};
use std::process::Stdio;

use crate::common::Env;

/// `env.write` under `logs/` (which it does not create).
fn log(env: &Env, name: &str, content: impl AsRef<[u8]>) {
    std::fs::create_dir_all(env.path("logs")).expect("logs dir");
    env.write(&format!("logs/{name}"), content);
}

fn line(day: &str, t: &str, level: &str, msg: &str) -> String {
    format!("[{day} {t}.000] [{level:<5}] [WORKER] {msg}\n")
}

/// Three days: the oldest in 7.1.0's name, the others in 13.x's; one with a multi-line entry.
fn three_days(env: &Env) {
    log(
        env,
        "worker-2026-12-01.log",
        line("2026-12-01", "08:00:00", "INFO", "Worker started {pid=11}")
            + &line("2026-12-01", "09:00:00", "ERROR", "the oldest needle")
            + "  at stack frame one\n  at stack frame two\n"
            + &line("2026-12-01", "10:00:00", "INFO", "after"),
    );
    log(
        env,
        "claude-mem-2026-12-02.log",
        line("2026-12-02", "08:00:00", "INFO", "Worker started {pid=12}")
            + &line(
                "2026-12-02",
                "09:00:00",
                "WARN",
                "a needle in the middle day",
            ),
    );
    log(
        env,
        "claude-mem-2026-12-03.log",
        line("2026-12-03", "08:00:00", "DEBUG", "newest needle, debug"),
    );
    // Not a dated log: never searched.
    log(env, "silent.log", "needle\n");
}

#[test]
fn every_day_oldest_first_with_file_and_line_and_whole_entries() {
    let env = Env::new();
    three_days(&env);
    let out = env.run(&["logs", "--grep", "needle"]);
    out.code(0);
    assert_eq!(
        out.stdout,
        "worker-2026-12-01.log:2:[2026-12-01 09:00:00.000] [ERROR] [WORKER] the oldest needle\n\
         worker-2026-12-01.log-3-  at stack frame one\n\
         worker-2026-12-01.log-4-  at stack frame two\n\
         claude-mem-2026-12-02.log:2:[2026-12-02 09:00:00.000] [WARN ] [WORKER] a needle in the middle day\n\
         claude-mem-2026-12-03.log:1:[2026-12-03 08:00:00.000] [DEBUG] [WORKER] newest needle, debug\n",
        "{}",
        out.both()
    );

    // A continuation line's match brings its whole entry.
    let out = env.run(&["logs", "--grep", "frame two"]);
    out.code(0);
    assert_eq!(out.stdout.lines().count(), 3, "{}", out.both());
    assert!(out.stdout.contains("log-4-") || out.stdout.contains("log:4:"));

    // --level, --since, --json.
    let out = env.run(&["logs", "--grep", "needle", "--level", "warn"]);
    out.code(0);
    assert!(!out.stdout.contains("debug"), "{}", out.both());
    assert!(out.stdout.contains("oldest") && out.stdout.contains("middle"));
    let out = env.run(&["logs", "--grep", "needle", "--since", "2026-12-02 08:30"]);
    out.code(0);
    assert!(!out.stdout.contains("oldest"), "{}", out.both());
    assert!(out.stdout.contains("middle") && out.stdout.contains("newest"));
    let out = env.run(&["logs", "--grep", "oldest", "--json"]);
    out.code(0);
    let v = out.json();
    assert_eq!(v["file"], "worker-2026-12-01.log");
    assert_eq!(v["date"], "2026-12-01");
    assert_eq!(v["line"], 2);
    assert_eq!(v["level"], "ERROR");
    assert_eq!(v["time"], "2026-12-01T09:00:00.000");
    assert_eq!(v["lines"].as_array().map(Vec::len), Some(3));
    assert_eq!(v["matched"][0], true);

    // Smart case, fixed strings, no match, a bad pattern, no logs.
    env.run(&["logs", "--grep", "NEEDLE"]).code(1);
    env.run(&["logs", "--grep", "pid=1[12]"]).code(0);
    env.run(&["logs", "--grep", "pid=1[12]", "-F"]).code(1);
    let bad = env.run(&["logs", "--grep", "(unclosed"]);
    bad.code(2);
    assert!(bad.stderr.contains("bad pattern"), "{}", bad.both());
    let empty = Env::new();
    empty.write("x", "");
    let none = empty.run(&["logs", "--grep", "x"]);
    none.code(1);
    assert!(none.stderr.contains("no worker log"), "{}", none.both());
}

#[test]
fn odd_bytes_pass_through_a_pipe_untouched() {
    let env = Env::new();
    log(
        &env,
        "worker-2026-12-01.log",
        b"[2026-12-01 09:00:00.000] [INFO ] [W] caf\xe9 needle \x1b[31m\n[x] other\n".as_slice(),
    );
    let o = env
        .cmd(&["logs", "--grep", "needle"])
        .output()
        .expect("run");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        o.stdout,
        b"worker-2026-12-01.log:1:[2026-12-01 09:00:00.000] [INFO ] [W] caf\xe9 needle \x1b[31m\n"
    );
}

/// A log of about `mb` MiB: dated lines, a multi-line entry now and then, `needle` in the
/// first entry only.
fn big_log(path: &std::path::Path, mb: usize, every_line_hits: bool) {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path).expect("create"));
    f.write_all(&line("2026-12-04", "00:00:00", "INFO", "needle at the start").into_bytes())
        .expect("write");
    let mut written = 0;
    let mut i = 0u64;
    while written < mb << 20 {
        let word = if every_line_hits { "haystack" } else { "hay" };
        let l = line(
            "2026-12-04",
            "01:02:03",
            "INFO",
            &format!("[SESSION] observation {i} stored in the {word} database after 12ms"),
        );
        written += l.len();
        f.write_all(l.as_bytes()).expect("write");
        if i.is_multiple_of(1000) {
            f.write_all(b"  continuation of the entry\n")
                .expect("write");
        }
        i += 1;
    }
    f.flush().expect("flush");
}

#[test]
fn a_big_file_in_bounded_memory_and_the_oldest_day_found() {
    let env = Env::new();
    three_days(&env);
    // 64 MiB: big enough that reading it whole would show in the peak, small enough for CI.
    std::fs::create_dir_all(env.path("logs")).expect("logs dir");
    big_log(&env.path("logs/claude-mem-2026-12-04.log"), 64, false);
    // Stdout to a file, and the peak read from the running process (VmHWM): the rusage of a
    // child carries the test harness's own peak across exec.
    let out_path = env.root.path().join("grep.out");
    let mut child = env
        .cmd(&["logs", "--grep", "oldest needle|needle at the start"])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("out file"))
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as i32;
    let t0 = std::time::Instant::now();
    let mut peak_kb = 0;
    let status = loop {
        if let Some(st) = child.try_wait().expect("try_wait") {
            break st;
        }
        if let Some(b) = claude_mem_top::platform::peak_rss_bytes(pid) {
            peak_kb = peak_kb.max(b / 1024);
        }
        assert!(
            t0.elapsed() < std::time::Duration::from_secs(60),
            "grep took too long"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    assert_eq!(status.code(), Some(0));
    let stdout = std::fs::read_to_string(&out_path).expect("output");
    let got: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_once(".log:").map(|(f, _)| f))
        .collect();
    assert_eq!(
        got,
        ["worker-2026-12-01", "claude-mem-2026-12-04"],
        "{stdout}"
    );
    // The binary alone is ~10 MB resident; the 64 MiB file must not be (Linux tracks it; the
    // last sample before the exit holds the peak so far, as the peak only grows).
    #[cfg(target_os = "linux")]
    assert!(
        peak_kb < 40 * 1024,
        "peak RSS {peak_kb} KiB for a 64 MiB log"
    );
}

#[cfg(unix)]
#[test]
fn a_closed_pipe_ends_it_quietly() {
    let env = Env::new();
    std::fs::create_dir_all(env.path("logs")).expect("logs dir");
    big_log(&env.path("logs/worker-2026-12-04.log"), 16, true);
    let mut c = env.cmd(&["logs", "--grep", "haystack"]);
    c.stdout(Stdio::piped());
    // Read a little by hand, then close the pipe.
    let mut child = c
        .stderr(Stdio::piped())
        .stdin(Stdio::null())
        .spawn()
        .expect("spawn");
    let mut so = child.stdout.take().expect("stdout");
    let mut first = [0u8; 4096];
    so.read_exact(&mut first).expect("some output");
    drop(so);
    let mut se = child.stderr.take().expect("stderr");
    let mut err = String::new();
    se.read_to_string(&mut err).expect("stderr");
    let status = child.wait().expect("wait");
    // As `grep | head`: SIGPIPE's default ends it (main restores it for printing commands).
    use std::os::unix::process::ExitStatusExt;
    assert!(
        status.code() == Some(0) || status.signal() == Some(libc::SIGPIPE),
        "{status:?}, stderr: {err}"
    );
    assert!(err.is_empty(), "stderr: {err}");
}
