//! Workers that are not ours though a file or a port says so: a `worker.pid` copied from another
//! data dir, and another user's worker on the port our settings name (the 13.x default
//! `37700 + uid % 100` gives root and uid 1000 the same one). Never signalled, always named.

use std::process::Command;

use super::{health, pid_file, same, token, Install, Sandbox, CALL};
use crate::common::{self, run, setpriv_available, BIN};

/// Worker A runs in sandbox A; sandbox B holds a copy of A's `worker.pid` and settings naming
/// `port_b`. B's `status`, `stop` and `restart` must fail, name A's data dir (status), and leave
/// A's worker alone.
fn a_copied_pid_file_names_the_other_data_dir(test: &'static str, same_port: bool) {
    let Some(inst) = Install::find(test) else {
        return;
    };
    let a = Sandbox::new(&inst);
    let pid = a.hook_start();
    let t = token(pid);

    let b = Sandbox::new(&inst);
    let port_b = if same_port { a.port } else { b.port };
    b.write_settings(&b.data, &b.settings(port_b));
    std::fs::copy(a.data.join("worker.pid"), b.data.join("worker.pid")).expect("copy worker.pid");
    let a_dir = a.data.to_string_lossy().into_owned();

    let st = b.top(&["status"]);
    assert_ne!(st.code, 0, "B's status calls A's worker B's: {}", st.both());
    assert!(
        st.text().contains(&a_dir),
        "B's status does not name A's data dir {a_dir}: {}",
        st.both()
    );
    let stop = b.top(&["stop"]);
    assert_ne!(stop.code, 0, "B's stop: {}", stop.both());
    assert!(same(pid, t), "B's stop ended A's worker: {}", stop.both());
    let restart = b.top(&["restart"]);
    assert_ne!(restart.code, 0, "B's restart: {}", restart.both());
    assert!(
        same(pid, t),
        "after B's stop and restart A's worker {pid} is gone\nstop: {}\nrestart: {}",
        stop.both(),
        restart.both()
    );
    assert_eq!(
        health(a.port),
        Some(200),
        "A's worker no longer answers\nstop: {}\nrestart: {}",
        stop.both(),
        restart.both()
    );
    assert_eq!(pid_file(&a.data).map(|(p, _)| p), Some(pid));
    eprintln!(
        "B status: {}\nB stop: {}\nB restart: {}",
        st.both(),
        stop.both(),
        restart.both()
    );
}

#[test]
fn a_worker_pid_copied_from_another_data_dir_on_another_port_is_not_ours() {
    a_copied_pid_file_names_the_other_data_dir(
        "real_worker::ownership::a_worker_pid_copied_from_another_data_dir_on_another_port",
        false,
    );
}

#[test]
fn a_worker_pid_copied_from_another_data_dir_on_the_same_port_is_not_ours() {
    a_copied_pid_file_names_the_other_data_dir(
        "real_worker::ownership::a_worker_pid_copied_from_another_data_dir_on_the_same_port",
        true,
    );
}

/// The unprivileged user of the two-users test.
const UID: u32 = 1000;

#[test]
fn another_users_worker_on_our_port_is_named_and_never_signalled() {
    const TEST: &str = "real_worker::ownership::another_users_worker_on_our_port";
    if !setpriv_available() {
        common::skip(
            TEST,
            "needs root and setpriv to run claude-mem-top as uid 1000 beside root's worker",
        );
        return;
    }
    let Some(inst) = Install::find(TEST) else {
        return;
    };
    let root_sb = Sandbox::new(&inst);
    let pid = root_sb.hook_start();
    let t = token(pid);

    // uid 1000's HOME, plugin files copied (not hard-linked: the chown would reach the install),
    // its settings naming root's port.
    let user = Sandbox::copied(&inst);
    user.write_settings(&user.data, &user.settings(root_sb.port));
    common::open_up(user.root.path(), 0o755);
    let chown = Command::new("chown")
        .args(["-R", &format!("{UID}:{UID}")])
        .arg(&user.home)
        .arg(&user.project)
        .status()
        .expect("run chown");
    assert!(chown.success(), "chown the user's HOME to {UID}");

    let as_user = |args: &[&str]| {
        let mut c = Command::new("setpriv");
        user.setup(&mut c);
        c.args([
            &format!("--reuid={UID}"),
            &format!("--regid={UID}"),
            "--clear-groups",
            BIN,
        ])
        .args(args);
        run(c, CALL)
    };

    let st = as_user(&["status"]);
    assert_ne!(
        st.code,
        0,
        "uid {UID}'s status calls root's worker its own: {}",
        st.both()
    );
    assert!(
        st.text().contains("root"),
        "status does not name root: {}",
        st.both()
    );
    let stop = as_user(&["stop"]);
    assert_ne!(stop.code, 0, "uid {UID}'s stop: {}", stop.both());
    assert!(
        stop.text().contains("root"),
        "stop does not name root: {}",
        stop.both()
    );
    let ps = as_user(&["ps"]);
    assert!(
        ps.text().contains("root"),
        "ps does not name root: {}",
        ps.both()
    );

    assert!(
        same(pid, t),
        "root's worker {pid} was ended: {}",
        stop.both()
    );
    assert_eq!(
        health(root_sb.port),
        Some(200),
        "root's worker no longer answers"
    );
    eprintln!(
        "uid {UID} status: {}\nstop: {}\nps: {}",
        st.both(),
        stop.both(),
        ps.both()
    );
}
