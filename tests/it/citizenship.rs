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
