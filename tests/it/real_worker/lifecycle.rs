//! Start, status, restart and stop against the real worker; workers started by the plugin's own
//! hook; settings as users have them (a BOM, a moved data dir).

use super::{get, health, pid_file, same, token, wait_health, Install, Sandbox, CALL, UP};
use crate::common::{alive, wait_until};

/// "Worker is running" and the PID, from claude-mem's own `status`.
#[track_caller]
fn claude_mem_says_running(sb: &Sandbox, pid: i32) {
    let st = sb.claude_mem("status");
    assert!(
        st.stdout.contains("Worker is running") && st.stdout.contains(&format!("PID: {pid}")),
        "claude-mem's own status does not report PID {pid} running: {}",
        st.both()
    );
}

#[test]
fn our_start_status_restart_stop_agree_with_claude_mems_own_status() {
    let Some(inst) = Install::find("real_worker::lifecycle::our_start_status_restart_stop") else {
        return;
    };
    let sb = Sandbox::new(&inst);

    let start = sb.top(&["start"]);
    start.code(0);
    let (first, port) = pid_file(&sb.data).unwrap_or_else(|| {
        panic!(
            "claude-mem wrote no worker.pid after our start: {}",
            start.both()
        )
    });
    sb.record(first);
    assert_eq!(
        port,
        sb.port,
        "the worker took another port: {}",
        start.both()
    );
    wait_health(sb.port, UP);

    let st = sb.top(&["status"]);
    st.code(0);
    assert!(
        st.stdout.contains(&format!("PID: {first}")),
        "{}",
        st.both()
    );
    claude_mem_says_running(&sb, first);

    let restart = sb.top(&["restart"]);
    restart.code(0);
    let mut second = first;
    wait_until(UP, "worker.pid naming a new live worker", || {
        second = pid_file(&sb.data).map_or(first, |(p, _)| p);
        second != first && alive(second)
    });
    sb.record(second);
    wait_until(CALL, "the first worker gone after restart", || {
        !alive(first)
    });
    wait_health(sb.port, UP);
    claude_mem_says_running(&sb, second);
    let st = sb.top(&["status"]);
    st.code(0);
    assert!(
        st.stdout.contains(&format!("PID: {second}")),
        "{}",
        st.both()
    );

    let stop = sb.top(&["stop"]);
    stop.code(0);
    wait_until(CALL, "the worker gone after stop", || !alive(second));
    let cm = sb.claude_mem("status");
    assert!(
        cm.stdout.contains("Worker is not running"),
        "claude-mem's own status after our stop: {}",
        cm.both()
    );
    sb.top(&["status"]).code(3);
}

#[test]
fn a_worker_the_plugins_hook_started_is_found_with_no_flags() {
    let Some(inst) = Install::find("real_worker::lifecycle::a_worker_the_plugins_hook_started")
    else {
        return;
    };
    let sb = Sandbox::new(&inst);
    let pid = sb.hook_start();
    let st = sb.top(&["status"]);
    st.code(0);
    assert!(st.stdout.contains(&format!("PID: {pid}")), "{}", st.both());
    assert!(
        st.stdout.contains(&format!("Port: {}", sb.port)),
        "{}",
        st.both()
    );
    assert!(alive(pid), "status must not disturb the worker");
}

#[test]
fn settings_with_a_utf8_bom_still_name_the_running_worker() {
    let Some(inst) = Install::find("real_worker::lifecycle::settings_with_a_utf8_bom") else {
        return;
    };
    let sb = Sandbox::new(&inst);
    let body = serde_json::to_string(&sb.settings(sb.port)).expect("settings");
    sb.write_settings_raw(&sb.data, &format!("\u{feff}{body}"));
    // claude-mem itself accepts the BOM: its worker takes the port the file names.
    let pid = sb.hook_start();
    let st = sb.top(&["status"]);
    st.code(0);
    assert!(st.stdout.contains(&format!("PID: {pid}")), "{}", st.both());
    assert!(
        st.stdout.contains(&format!("Port: {}", sb.port)),
        "{}",
        st.both()
    );
}

#[test]
fn a_data_dir_moved_by_settings_is_followed_for_status_stop_and_start() {
    let Some(inst) = Install::find("real_worker::lifecycle::a_data_dir_moved_by_settings") else {
        return;
    };
    let sb = Sandbox::new(&inst);
    let moved = sb.root.path().join("moved-data");
    let (p1, p2) = (sb.port, super::real_port());
    assert_ne!(p1, p2);
    let mut home_settings = sb.settings(p1);
    home_settings["CLAUDE_MEM_DATA_DIR"] = moved.to_string_lossy().into_owned().into();
    sb.write_settings(&sb.data, &home_settings);
    sb.write_settings(&moved, &sb.settings(p2));

    let (pid, port) = sb.hook_start_in(&moved);
    assert_eq!(
        port, p1,
        "claude-mem's worker.pid in the moved dir names port {port}: expected P1 {p1} from \
         ~/.claude-mem/settings.json (P2 in the moved dir is {p2})"
    );
    assert!(
        !sb.data.join("worker.pid").exists(),
        "claude-mem wrote worker.pid into ~/.claude-mem, not the moved dir"
    );
    assert_eq!(health(p1), Some(200));
    for kept in ["claude-mem.db", "logs"] {
        assert!(
            moved.join(kept).exists(),
            "claude-mem keeps no {kept} in the moved dir {}",
            moved.display()
        );
    }

    let st = sb.top(&["status"]);
    st.code(0);
    assert!(st.stdout.contains(&format!("PID: {pid}")), "{}", st.both());
    assert!(st.stdout.contains(&format!("Port: {p1}")), "{}", st.both());

    eprintln!("status of the moved data dir's worker: {}", st.both());
    let stop = sb.top(&["stop"]);
    stop.code(0);
    wait_until(CALL, "the worker gone after our stop", || !alive(pid));

    let start = sb.top(&["start"]);
    start.code(0);
    let mut new = None;
    wait_until(
        UP,
        "a new worker in the moved data dir's worker.pid",
        || {
            new = pid_file(&moved).filter(|(p, _)| *p != pid && alive(*p));
            new.is_some()
        },
    );
    let (new_pid, new_port) = new.expect("new worker");
    sb.record(new_pid);
    let t = token(new_pid);
    wait_health(new_port, UP);
    let cm = sb.claude_mem("status");
    assert!(
        cm.stdout.contains("Worker is running") && cm.stdout.contains(&format!("PID: {new_pid}")),
        "claude-mem's own status after our start: {}\nour start: {}",
        cm.both(),
        start.both()
    );
    assert_eq!(
        new_port, p1,
        "our start put the worker on {new_port}, claude-mem's hooks use {p1}"
    );
    // The worker we started answers for the moved data dir.
    let stats = get(p1, "/api/stats").map(|(_, b)| b).unwrap_or_default();
    assert!(
        stats.contains(&*moved.to_string_lossy()),
        "the worker's /api/stats does not name the moved dir: {stats}"
    );
    assert!(same(new_pid, t));
}
