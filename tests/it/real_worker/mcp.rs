//! Claude Code's MCP server for claude-mem (the plugin's `.mcp.json`: a `node -e` launcher that
//! spawns `scripts/mcp-server.cjs`), started as Claude Code starts it. A pair whose session died
//! (the launcher reparented) is orphaned and reaped; a pair whose parent lives is left alone.

use std::io::Read;
use std::process::{ChildStdin, Command, Stdio};
use std::time::Duration;

use super::{same, token, Install, Sandbox, CALL};
use crate::common::{alive, stat, wait_until};

/// How long the launcher may take to spawn mcp-server.cjs.
const SPAWN: Duration = Duration::from_secs(30);

/// The launcher's `mcp-server.cjs` child, once it has one.
fn server_of(sb: &Sandbox, launcher: i32) -> i32 {
    let script = sb.plugin.join("scripts/mcp-server.cjs");
    let script = script.to_string_lossy().into_owned();
    let mut found = 0;
    wait_until(
        SPAWN,
        &format!("launcher {launcher} spawning {script}"),
        || {
            assert!(alive(launcher), "the MCP launcher {launcher} exited");
            found = crate::common::live_with(&script)
                .into_iter()
                .find(|p| stat(*p).is_some_and(|(_, ppid, _)| ppid == launcher))
                .unwrap_or(0);
            found != 0
        },
    );
    sb.record(found);
    found
}

/// A pair whose session is gone: `sh` starts the launcher in the background with its stdin
/// (a pipe the test keeps open, as Claude Code's) and exits, so the launcher is reparented.
/// Returns (launcher, server, the pipe's write end).
fn orphaned_pair(sb: &Sandbox, launcher_src: &str) -> (i32, i32, ChildStdin) {
    let mut c = Command::new("sh");
    sb.setup(&mut c);
    // An asynchronous list's stdin is /dev/null unless redirected: hand it the pipe as fd 3.
    c.arg("-c")
        .arg(r#"exec 3<&0; node -e "$1" <&3 3<&- >>"$2" 2>&1 & echo $!"#)
        .arg("sh")
        .arg(launcher_src)
        .arg(sb.root.path().join("mcp-orphan.log"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    let mut child = c.spawn().expect("spawn sh for the orphaned pair");
    let stdin = child.stdin.take().expect("stdin pipe");
    let mut out = String::new();
    child
        .stdout
        .take()
        .expect("stdout pipe")
        .read_to_string(&mut out)
        .expect("read $!");
    let st = child.wait().expect("wait for sh");
    assert!(st.success(), "sh exited {st:?}");
    let launcher: i32 = out
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a PID: {out:?}"));
    sb.record(launcher);
    wait_until(CALL, "the launcher reparented", || {
        stat(launcher).is_some_and(|(_, ppid, _)| ppid != std::process::id() as i32)
    });
    let server = server_of(sb, launcher);
    (launcher, server, stdin)
}

/// A pair whose session lives: the launcher is the test's own child, stdin a pipe kept open.
fn live_pair(sb: &Sandbox, launcher_src: &str) -> (i32, i32) {
    let mut c = Command::new("node");
    sb.setup(&mut c);
    c.arg("-e")
        .arg(launcher_src)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let launcher = sb.own(c.spawn().expect("spawn the MCP launcher"));
    let server = server_of(sb, launcher);
    (launcher, server)
}

/// The `ps --json` member for `pid`, if listed.
fn member(v: &serde_json::Value, pid: i32) -> Option<serde_json::Value> {
    v["members"]
        .as_array()?
        .iter()
        .find(|m| m["pid"].as_i64() == Some(i64::from(pid)))
        .cloned()
}

fn orphaned(m: &serde_json::Value) -> bool {
    m["class"].as_str().is_some_and(|c| c.contains("orphan"))
}

#[test]
fn an_orphaned_mcp_server_pair_is_reaped_and_a_live_sessions_pair_is_not() {
    let Some(inst) = Install::find("real_worker::mcp::an_orphaned_mcp_server_pair_is_reaped")
    else {
        return;
    };
    let sb = Sandbox::new(&inst);
    let launcher_src = inst.mcp_launcher();
    // A session's worker runs (the MCP server would start one otherwise).
    let worker = sb.hook_start();
    let worker_t = token(worker);

    let (ol, os, _orphan_stdin) = orphaned_pair(&sb, &launcher_src);
    let (ll, ls) = live_pair(&sb, &launcher_src);
    let tokens: Vec<_> = [ol, os, ll, ls].iter().map(|p| (*p, token(*p))).collect();

    // ps lists the orphaned pair as orphaned, the live one not.
    let mut last = String::new();
    let listed = crate::common::holds_within(CALL, || {
        let ps = sb.top(&["ps", "--json"]);
        last = ps.both();
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&ps.stdout) else {
            return false;
        };
        [ol, os]
            .iter()
            .all(|p| member(&v, *p).is_some_and(|m| orphaned(&m)))
    });
    assert!(
        listed,
        "ps does not list launcher {ol} and server {os} as orphaned: {last}"
    );
    let ps = sb.top(&["ps", "--json"]);
    let v = ps.json();
    for p in [ll, ls] {
        if let Some(m) = member(&v, p) {
            assert!(
                !orphaned(&m),
                "the live session's {p} is listed as orphaned: {m}"
            );
        }
    }
    let text = sb.top(&["ps"]);
    for p in [ol, os] {
        assert!(
            text.stdout.lines().any(|l| {
                l.split_whitespace().next() == Some(&*p.to_string()) && l.contains("orphan")
            }),
            "ps (text) does not show {p} as orphaned: {}",
            text.both()
        );
    }

    // The dry run lists exactly the orphaned pair and ends nothing.
    let dry = sb.top(&["reap", "--dry-run", "--json"]);
    dry.code(0);
    let mut listed: Vec<i32> = dry
        .json()
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["pid"].as_i64().and_then(|p| i32::try_from(p).ok()))
        .collect();
    listed.sort_unstable();
    let mut want = vec![ol, os];
    want.sort_unstable();
    assert_eq!(listed, want, "reap --dry-run: {}", dry.both());
    for (p, t) in &tokens {
        assert!(same(*p, *t), "the dry run ended {p}: {}", dry.both());
    }

    // reap ends both, and only them.
    let reap = sb.top(&["reap"]);
    reap.code(0);
    for p in [ol, os] {
        wait_until(CALL, &format!("orphaned {p} ended by reap"), || !alive(p));
    }
    for (p, t) in tokens.iter().filter(|(p, _)| *p == ll || *p == ls) {
        assert!(
            same(*p, *t),
            "reap ended the live session's {p}: {}",
            reap.both()
        );
    }
    assert!(
        same(worker, worker_t),
        "reap ended the worker: {}",
        reap.both()
    );
    eprintln!(
        "ps: {}\nreap --dry-run: {}\nreap: {}",
        text.both(),
        dry.both(),
        reap.both()
    );

    // The server ends with its session: stdin EOF ends the pair.
    let mut child = sb.take_child(ll).expect("the live launcher");
    drop(child.stdin.take());
    wait_until(CALL, "the live pair gone after stdin EOF", || {
        !alive(ls) && child.try_wait().ok().flatten().is_some()
    });
}
