//! A good citizen of the shell (issue 24): a closed pipe ends a printing command quietly, as it
//! does `cat` or `grep`, never with a panic.

#![cfg(unix)]

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;

use crate::common::{Env, CALL};

#[test]
fn a_closed_pipe_ends_printing_commands_quietly() {
    let env = Env::new();
    env.make_dir();
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["--once"],
        &["--once", "--json"],
        &["ps"],
        &["doctor"],
        &["reap", "--dry-run"],
        &["completions", "bash"],
    ] {
        // The reading end is closed before the command writes its first byte.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let mut c = env.cmd(args);
        c.stdout(Stdio::from(writer)).stderr(Stdio::piped());
        let child = c.spawn().expect("spawn");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait_with_output());
        });
        let out = rx
            .recv_timeout(CALL)
            .unwrap_or_else(|_| panic!("{args:?} did not end within {CALL:?}"))
            .expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "{args:?}: {stderr}"
        );
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?} ended with {:?}: {stderr}",
            out.status
        );
    }
}

/// Global options go before or after the command (issue 24); the dashboard's own options are
/// refused where they do nothing (exit 2) and absent from a command's help.
#[test]
fn global_options_go_anywhere_and_dashboard_options_only_where_they_act() {
    let env = Env::new();
    env.make_dir();
    let dir = env.dir.to_string_lossy().into_owned();
    let port = crate::common::free_port().to_string();
    let before = env.run(&[
        "--data-dir",
        &dir,
        "--port",
        &port,
        "--no-color",
        "status",
        "--json",
    ]);
    let after = env.run(&[
        "status",
        "--json",
        "--data-dir",
        &dir,
        "--port",
        &port,
        "--no-color",
    ]);
    assert_eq!(before.code, 3, "{}", before.both());
    assert_eq!(before.code, after.code);
    let (b, a) = (before.json(), after.json());
    for key in ["state", "port", "port_source", "data_dir"] {
        assert_eq!(b[key], a[key], "{key}");
    }
    assert_eq!(b["port"].to_string(), port);
    let help = env.run(&["stop", "--help"]);
    help.code(0);
    assert!(
        !help.stdout.contains("--no-mouse") && !help.stdout.contains("--config"),
        "{}",
        help.stdout
    );
    for args in [
        &["stop", "--no-mouse"][..],
        &["status", "--config", "/nonexistent"],
        &["--once", "--interval", "2s"],
        &["--interval", "2s", "status"],
        &["--once", "ps"],
        &["completions", "bash", "--data-dir", "/x", "--port", "2000"],
        &["man", "--port", "2000"],
    ] {
        let out = env.run(args);
        assert_eq!(out.code, 2, "{args:?}: {}", out.both());
    }
}

/// The stand-in's `--port` is the global option (it panicked on a clap type mismatch).
#[test]
fn the_stand_in_worker_listens_on_its_port_option() {
    let env = Env::new();
    let port = crate::common::free_port();
    let mut c = std::process::Command::new(crate::common::BIN);
    c.args(["stand-in-worker", "--port", &port.to_string()])
        .env_remove("CLAUDE_MEM_WORKER_PORT")
        .env("CLAUDE_MEM_DATA_DIR", &env.dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let pid = env.own(c.spawn().expect("stand-in"));
    crate::common::wait_listening(port, CALL);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    use std::io::{Read, Write};
    s.write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut body = String::new();
    s.read_to_string(&mut body).expect("read");
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    assert!(body.contains(&format!("\"pid\":{pid}")), "{body}");
}
