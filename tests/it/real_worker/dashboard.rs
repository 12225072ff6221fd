//! The dashboard in a real pseudo-terminal, on the real worker.

use std::time::Duration;

use super::{Install, Sandbox, VERSION};
use crate::common::alive;
use crate::support_pty::Pty;

const T: Duration = Duration::from_secs(30);

#[test]
fn the_dashboard_shows_the_real_worker_running_and_q_restores_the_terminal() {
    let Some(inst) = Install::find("real_worker::dashboard::the_dashboard_shows_the_real_worker")
    else {
        return;
    };
    let sb = Sandbox::new(&inst);
    let pid = sb.hook_start();

    let mut pty = Pty::spawn(sb.top_cmd(&[]), 120, 40);
    pty.wait_for("RUNNING, the PID and 13.25.3", T, |s| {
        s.contains("RUNNING") && s.contains(&format!("PID {pid}")) && s.contains(VERSION)
    });
    pty.send(b"q");
    let st = pty.wait_exit(T);
    assert_eq!(st.code(), Some(0), "screen:\n{}", pty.contents());
    assert!(
        pty.restored(),
        "the terminal is back from the alternate screen with the cursor shown"
    );
    assert!(alive(pid), "quitting the dashboard never stops the worker");
}
