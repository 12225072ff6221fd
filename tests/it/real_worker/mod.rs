//! The real thing: claude-mem 13.25.3's own worker under bun 1.4.5, installed from npm by
//! `.ci/run` into the folder `CMT_REAL_CLAUDE_MEM` names (see there). Without that folder every
//! test here is skipped visibly (stderr and the `CMT_TEST_SKIPS` file), never passed silently;
//! a folder that is named but broken fails the test.
//!
//! Each test gets a sandboxed HOME laid out as Claude Code installs the plugin (hard-linked
//! copies of the package, so every path the processes show lies in the sandbox):
//! `~/.claude/plugins/cache/thedotmack/claude-mem/13.25.3` (the plugin dir) and
//! `~/.claude/plugins/marketplaces/thedotmack` (the repository, with `plugin/`), bun's directory
//! on PATH, and `~/.claude-mem/settings.json` naming a free port of its own (never 37700–37799:
//! claude-mem's default is 37700 + uid % 100), Chroma off (`CLAUDE_MEM_CHROMA_ENABLED`).
//! Telemetry has no settings key in 13.25.3: it reads `CLAUDE_MEM_TELEMETRY` / `DO_NOT_TRACK`
//! from the environment and `telemetry.json` in the data dir, so the sandbox sets
//! `DO_NOT_TRACK=1` and writes `{"enabled": false}` there. No `CLAUDE_MEM_*` variable is ever
//! in a process's environment: claude-mem and claude-mem-top find everything from HOME, as on a
//! user's machine.
//!
//! Every worker a test starts is recorded by PID and start token and stopped on drop (only if
//! it is still that process); anything left whose command line lies in the sandbox is ended too.

// Linux only: the npm package ships bun for linux-x64, and the tests read /proc.
#![cfg(target_os = "linux")]

mod dashboard;
mod history;
mod lifecycle;
mod mcp;
mod memory;
mod ownership;

use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Mutex;
use std::time::Duration;

use claude_mem_top::platform::{self, ProcHandle, StartToken, Stop};

use crate::common::{self, free_port, run, Out, BIN};

/// The release under test.
pub const VERSION: &str = "13.25.3";
/// How long a worker may take to answer /health (it takes ~0.4 s here).
pub const UP: Duration = Duration::from_secs(30);
/// Upper bound for one call of ours, of claude-mem's CLI, or of a hook.
pub const CALL: Duration = Duration::from_secs(60);

/// The npm install `CMT_REAL_CLAUDE_MEM` names. Dropped at the end of a test that ran to
/// completion, it appends the test's name to the file `CMT_REAL_WORKER_RAN` names (`.ci/run`
/// counts them), so CI can tell the tier ran rather than skipped.
pub struct Install {
    test: &'static str,
    /// `DIR/node_modules/claude-mem`: `plugin/` is the plugin.
    pub package: PathBuf,
    /// The directory holding the `bun` executable.
    pub bun_dir: PathBuf,
    /// The directory holding `node` (claude-mem's hooks and MCP server run under it).
    pub node_dir: PathBuf,
}

impl Install {
    /// The install, or `None` (after saying so) when `CMT_REAL_CLAUDE_MEM` is unset or `node`
    /// is missing. A folder that is named but does not hold claude-mem 13.25.3 and bun fails.
    pub fn find(test: &'static str) -> Option<Install> {
        let Some(dir) = std::env::var_os("CMT_REAL_CLAUDE_MEM").filter(|d| !d.is_empty()) else {
            common::skip(
                test,
                "CMT_REAL_CLAUDE_MEM is not set: no real claude-mem 13.25.3 install to run \
                 (.ci/run installs one; by hand: npm install --prefix DIR --ignore-scripts \
                 --legacy-peer-deps claude-mem@13.25.3 @oven/bun-linux-x64@1.4.5)",
            );
            return None;
        };
        let dir = PathBuf::from(dir);
        let package = dir.join("node_modules/claude-mem");
        let bun_dir = dir.join("node_modules/@oven/bun-linux-x64/bin");
        let pj = fs::read_to_string(package.join("package.json")).unwrap_or_else(|e| {
            panic!(
                "CMT_REAL_CLAUDE_MEM={}: cannot read {}: {e}",
                dir.display(),
                package.join("package.json").display()
            )
        });
        let v: serde_json::Value = serde_json::from_str(&pj).expect("claude-mem's package.json");
        assert_eq!(
            v["version"].as_str(),
            Some(VERSION),
            "CMT_REAL_CLAUDE_MEM={} holds another claude-mem",
            dir.display()
        );
        for need in [
            package.join("plugin/scripts/worker-service.cjs"),
            package.join("plugin/scripts/bun-runner.js"),
            package.join("plugin/hooks/hooks.json"),
            package.join("plugin/.mcp.json"),
            bun_dir.join("bun"),
        ] {
            assert!(
                need.is_file(),
                "CMT_REAL_CLAUDE_MEM={}: {} is missing",
                dir.display(),
                need.display()
            );
        }
        let node_dir = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .find(|d| d.join("node").is_file());
        let Some(node_dir) = node_dir else {
            common::skip(test, "no `node` on PATH: claude-mem's hooks run under node");
            return None;
        };
        Some(Install {
            test,
            package,
            bun_dir,
            node_dir,
        })
    }

    pub fn plugin(&self) -> PathBuf {
        self.package.join("plugin")
    }

    /// The SessionStart hook command that starts the worker, exactly as `hooks.json` has it.
    pub fn start_hook(&self) -> String {
        let path = self.plugin().join("hooks/hooks.json");
        let text = fs::read_to_string(&path).expect("read hooks.json");
        let v: serde_json::Value = serde_json::from_str(&text).expect("hooks.json is JSON");
        v["hooks"]["SessionStart"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|m| m["hooks"].as_array().cloned().unwrap_or_default())
            .filter_map(|h| h["command"].as_str().map(str::to_owned))
            .find(|c| c.ends_with("worker-service.cjs\" start"))
            .unwrap_or_else(|| panic!("no worker start command in {}", path.display()))
    }

    /// The MCP server's `node -e` launcher from the plugin's `.mcp.json`.
    pub fn mcp_launcher(&self) -> String {
        let path = self.plugin().join(".mcp.json");
        let text = fs::read_to_string(&path).expect("read .mcp.json");
        let v: serde_json::Value = serde_json::from_str(&text).expect(".mcp.json is JSON");
        let server = v["mcpServers"]
            .as_object()
            .and_then(|m| m.values().next())
            .unwrap_or_else(|| panic!("no server in {}", path.display()));
        assert_eq!(server["command"], "node", "{server}");
        let args = server["args"].as_array().expect("args");
        assert_eq!(args.len(), 2, "{server}");
        assert_eq!(args[0], "-e", "{server}");
        args[1].as_str().expect("launcher source").to_owned()
    }
}

impl Drop for Install {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        if let Some(path) = std::env::var_os("CMT_REAL_WORKER_RAN") {
            if let Ok(mut f) = fs::OpenOptions::new().create(true).append(true).open(path) {
                // One write, so parallel tests' lines never interleave.
                let _ = f.write_all(format!("{}\n", self.test).as_bytes());
            }
        }
    }
}

/// A free loopback port outside claude-mem's default range (37700–37799) and 37777.
pub fn real_port() -> u16 {
    loop {
        let p = free_port();
        if !(37700..=37799).contains(&p) && p != 37777 {
            return p;
        }
    }
}

/// Copy the tree `src` to `dst`: hard links where the file system allows (cheap, and every path
/// stays inside the sandbox), plain copies otherwise or when `hard` is false.
fn copy_tree(src: &Path, dst: &Path, hard: bool) {
    fs::create_dir_all(dst).unwrap_or_else(|e| panic!("mkdir {}: {e}", dst.display()));
    for e in fs::read_dir(src).unwrap_or_else(|e| panic!("read {}: {e}", src.display())) {
        let e = e.expect("dir entry");
        let (from, to) = (e.path(), dst.join(e.file_name()));
        let ft = e.file_type().expect("file type");
        if ft.is_dir() {
            copy_tree(&from, &to, hard);
        } else if ft.is_symlink() {
            let target = fs::read_link(&from).expect("read link");
            std::os::unix::fs::symlink(target, &to).expect("symlink");
        } else if !hard || fs::hard_link(&from, &to).is_err() {
            fs::copy(&from, &to)
                .unwrap_or_else(|e| panic!("copy {} to {}: {e}", from.display(), to.display()));
        }
    }
}

/// One user's machine: HOME with the plugin installed, a project dir, a port.
pub struct Sandbox {
    pub root: tempfile::TempDir,
    pub home: PathBuf,
    /// `~/.claude-mem`.
    pub data: PathBuf,
    /// A "project" directory: the cwd of hooks and the MCP server, as Claude Code's.
    pub project: PathBuf,
    /// `~/.claude/plugins/cache/thedotmack/claude-mem/13.25.3`.
    pub plugin: PathBuf,
    pub port: u16,
    bun_dir: PathBuf,
    node_dir: PathBuf,
    hook: String,
    /// Workers and other processes this test started, by PID and start token.
    started: Mutex<Vec<(i32, StartToken)>>,
    /// Children of the test process itself: killed and reaped on drop.
    children: Mutex<Vec<Child>>,
}

impl Sandbox {
    /// A sandbox with hard-linked plugin files and settings naming a fresh port.
    pub fn new(inst: &Install) -> Sandbox {
        Self::build(inst, true)
    }

    /// A sandbox whose plugin files are real copies: for one that is handed to another user
    /// (a chown of a hard link would change the shared install).
    pub fn copied(inst: &Install) -> Sandbox {
        Self::build(inst, false)
    }

    fn build(inst: &Install, hard: bool) -> Sandbox {
        let root = tempfile::Builder::new()
            .prefix("cmt-real-")
            .tempdir()
            .expect("tempdir");
        let home = root.path().join("home");
        let data = home.join(".claude-mem");
        let project = root.path().join("project");
        let plugins = home.join(".claude/plugins");
        let plugin = plugins.join("cache/thedotmack/claude-mem").join(VERSION);
        copy_tree(&inst.plugin(), &plugin, hard);
        copy_tree(
            &inst.package,
            &plugins.join("marketplaces/thedotmack"),
            hard,
        );
        fs::create_dir_all(&data).expect("data dir");
        fs::create_dir_all(&project).expect("project dir");
        let sb = Sandbox {
            home,
            data,
            project,
            plugin,
            port: real_port(),
            bun_dir: inst.bun_dir.clone(),
            node_dir: inst.node_dir.clone(),
            hook: inst.start_hook(),
            started: Mutex::new(Vec::new()),
            children: Mutex::new(Vec::new()),
            root,
        };
        sb.write_settings(&sb.data, &sb.settings(sb.port));
        sb
    }

    /// The settings every sandbox starts from: the port, Chroma off.
    pub fn settings(&self, port: u16) -> serde_json::Value {
        serde_json::json!({
            "CLAUDE_MEM_WORKER_PORT": port.to_string(),
            "CLAUDE_MEM_CHROMA_ENABLED": "false",
        })
    }

    /// Write `settings` as `dir/settings.json` (and telemetry off in `dir`).
    pub fn write_settings(&self, dir: &Path, settings: &serde_json::Value) {
        self.write_settings_raw(
            dir,
            &serde_json::to_string_pretty(settings).expect("settings JSON"),
        );
    }

    /// Write `text` as `dir/settings.json` verbatim (and telemetry off in `dir`).
    pub fn write_settings_raw(&self, dir: &Path, text: &str) {
        fs::create_dir_all(dir).expect("settings dir");
        fs::write(dir.join("settings.json"), text).expect("write settings.json");
        fs::write(
            dir.join("telemetry.json"),
            r#"{"installId": "claude-mem-top-test", "enabled": false, "decidedAt": "2026-01-01T00:00:00.000Z"}"#,
        )
        .expect("write telemetry.json");
    }

    pub fn path_var(&self) -> std::ffi::OsString {
        std::env::join_paths([
            self.bun_dir.as_path(),
            self.node_dir.as_path(),
            Path::new("/usr/local/bin"),
            Path::new("/usr/bin"),
            Path::new("/bin"),
        ])
        .expect("PATH")
    }

    /// A user's environment: HOME and PATH (bun on it), telemetry off, cwd the project. Nothing
    /// else: no `CLAUDE_MEM_*` variable, nothing from the developer's shell.
    pub fn setup(&self, c: &mut Command) {
        c.env_clear()
            .env("HOME", &self.home)
            .env("PATH", self.path_var())
            .env("DO_NOT_TRACK", "1")
            .current_dir(&self.project);
    }

    /// `claude-mem-top ARGS` in this user's environment.
    pub fn top_cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(BIN);
        self.setup(&mut c);
        c.args(args);
        c
    }

    #[track_caller]
    pub fn top(&self, args: &[&str]) -> Out {
        run(self.top_cmd(args), CALL)
    }

    /// claude-mem's own CLI: `node bun-runner.js worker-service.cjs ARG` (`status`, `stop`…).
    #[track_caller]
    pub fn claude_mem(&self, arg: &str) -> Out {
        let scripts = self.plugin.join("scripts");
        let mut c = Command::new("node");
        self.setup(&mut c);
        c.arg(scripts.join("bun-runner.js"))
            .arg(scripts.join("worker-service.cjs"))
            .arg(arg);
        run(c, CALL)
    }

    /// The plugin's SessionStart hook (`bash -c` with the command from hooks.json), as Claude
    /// Code runs it; returns the PID and port of the worker the data dir `dir`'s `worker.pid`
    /// names afterwards, recorded for the cleanup.
    #[track_caller]
    pub fn hook_start_in(&self, dir: &Path) -> (i32, u16) {
        let mut c = Command::new("bash");
        self.setup(&mut c);
        c.arg("-c").arg(&self.hook);
        let out = run(c, CALL);
        assert_eq!(out.code, 0, "the SessionStart hook failed: {}", out.both());
        let mut found = None;
        let _ = common::holds_within(UP, || {
            found = pid_file(dir);
            found.is_some()
        });
        let (pid, port) = found.unwrap_or_else(|| {
            panic!(
                "no worker.pid in {} after the hook: {}",
                dir.display(),
                out.both()
            )
        });
        self.record(pid);
        wait_health(port, UP);
        (pid, port)
    }

    /// [`Sandbox::hook_start_in`] for `~/.claude-mem`, asserting the worker took our port.
    #[track_caller]
    pub fn hook_start(&self) -> i32 {
        let (pid, port) = self.hook_start_in(&self.data);
        assert_eq!(
            port, self.port,
            "the worker took another port than settings.json names"
        );
        pid
    }

    /// Remember `pid` (as the process it is now) for the cleanup on drop.
    pub fn record(&self, pid: i32) {
        if let Some(t) = platform::start_token(pid) {
            let mut s = self.started.lock().expect("started");
            if !s.contains(&(pid, t)) {
                s.push((pid, t));
            }
        }
    }

    /// Keep a child of the test process: killed and reaped on drop. Returns its PID.
    pub fn own(&self, child: Child) -> i32 {
        let pid = child.id() as i32;
        self.record(pid);
        self.children.lock().expect("children").push(child);
        pid
    }

    /// Remove and return an owned child (to close its stdin, wait for it…).
    pub fn take_child(&self, pid: i32) -> Option<Child> {
        let mut kids = self.children.lock().expect("children");
        let i = kids.iter().position(|c| c.id() as i32 == pid)?;
        Some(kids.remove(i))
    }

    /// Live processes whose command line lies in this sandbox (only this test starts those).
    pub fn processes_in_sandbox(&self) -> Vec<(i32, String)> {
        let root = self.root.path().to_string_lossy().into_owned();
        let me = std::process::id() as i32;
        platform::command_lines()
            .into_iter()
            .map(|(p, argv)| (p, argv.join(" ")))
            .filter(|(p, line)| *p != me && line.contains(&root) && common::alive(*p))
            .collect()
    }
}

/// SIGTERM, a bounded wait, then SIGKILL: for a process proven by its handle.
fn end(h: &ProcHandle) {
    h.signal(Stop::Graceful);
    if !h.wait_exit(Duration::from_secs(5)) {
        h.signal(Stop::Force);
        h.wait_exit(Duration::from_secs(5));
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        // The recorded processes, only while each is still the process recorded.
        let started = std::mem::take(&mut *self.started.lock().unwrap_or_else(|e| e.into_inner()));
        for (pid, token) in started {
            if let Some(h) = ProcHandle::open(pid, token) {
                end(&h);
            }
        }
        if let Ok(mut kids) = self.children.lock() {
            for k in kids.iter_mut() {
                let _ = k.kill();
                let _ = k.wait();
            }
        }
        // Last resort: whatever still runs from this sandbox's unique paths was started by it
        // (a worker a failed assertion left, one started behind our back). Say so.
        for (pid, line) in self.processes_in_sandbox() {
            eprintln!("cleanup: ending PID {pid} left running from the sandbox: {line}");
            if let Some(h) = ProcHandle::open_current(pid) {
                end(&h);
            }
        }
    }
}

/// `dir/worker.pid` (13.x JSON): PID and port.
pub fn pid_file(dir: &Path) -> Option<(i32, u16)> {
    let text = fs::read_to_string(dir.join("worker.pid")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let pid = i32::try_from(v["pid"].as_i64()?).ok()?;
    let port = u16::try_from(v["port"].as_u64()?).ok()?;
    Some((pid, port))
}

/// `GET path` on loopback `port`: status code and body, or `None` when nothing answers.
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.set_write_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut buf = Vec::new();
    let _ = s.take(1 << 20).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text.split_whitespace().nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    Some((code, body.unwrap_or_default()))
}

/// The status code of `GET /health` on `port`, if anything answers.
pub fn health(port: u16) -> Option<u16> {
    get(port, "/health").map(|(c, _)| c)
}

/// Wait until `GET /health` on `port` answers 200, at most `limit`.
#[track_caller]
pub fn wait_health(port: u16, limit: Duration) {
    common::wait_until(limit, &format!("/health 200 on port {port}"), || {
        health(port) == Some(200)
    });
}

/// `pid` is still the process `token` says (alive, not reused).
pub fn same(pid: i32, token: StartToken) -> bool {
    platform::is_same(pid, token)
}

/// `pid`'s start token now (panics when it is gone).
#[track_caller]
pub fn token(pid: i32) -> StartToken {
    platform::start_token(pid).unwrap_or_else(|| panic!("PID {pid} is not running"))
}
