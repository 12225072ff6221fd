//! Issue 6, cases 13–14: the data dir (missing, read-only, a symlink, odd names) and settings.json
//! (missing, empty, invalid, nested, number or string, large).

#[allow(unused_imports)]
use crate::common;

#[cfg(unix)]
use std::ffi::OsStr;
#[cfg(unix)]
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[cfg(unix)]
use crate::common::open_up;
use crate::common::{run, Env, CALL};
use claude_mem_top::config::{resolve_port, PortSource, DEFAULT_PORT};

// ---- case 13 ------------------------------------------------------------------------------

#[test]
fn case13_missing_data_dir_is_created_by_start_never_by_status() {
    let mut env = Env::new();
    env.dir = env.root.path().join("not/yet/there");
    for args in [&["status"][..], &["--once", "--json"], &["stop"]] {
        let out = env.run(args);
        assert_eq!(
            out.code,
            if args[0] == "stop" { 0 } else { 3 },
            "{}",
            out.both()
        );
        assert!(!env.dir.exists(), "{args:?} created the data dir");
    }
    assert!(!env.root.path().join("not").exists());
    env.run(&["start"]).code(0);
    assert!(env.dir.is_dir());
    assert!(env.exists(".worker.pid") && env.exists(".pm2-migrated"));
    env.run(&["status"]).code(0);
}

// Non-UTF-8 bytes in a path: Unix paths are bytes, Windows paths are UTF-16.
#[cfg(unix)]
#[test]
fn case13_data_dir_path_with_spaces_and_non_utf8_bytes() {
    let mut env = Env::new();
    let name = OsStr::from_bytes(b"my data dir \xff\xfe");
    env.dir = env.root.path().join(name);
    env.run(&["start"]).code(0);
    let pid = env.pid().expect("pid in the odd dir");
    assert!(env.log_path().is_file());
    env.run(&["status"]).code(0);
    let json = env.run(&["status", "--json"]).code(0).json();
    assert_eq!(json["pid"], pid);
    env.run(&["stop", "--grace", "2s"]).code(0);
    assert!(!common::alive(pid));
    env.run(&["status"]).code(3);
}

// Creating a symlink needs a privilege on Windows.
#[cfg(unix)]
#[test]
fn case13_data_dir_that_is_a_symlink_is_followed() {
    let mut env = Env::new();
    let real = env.root.path().join("real");
    std::fs::create_dir(&real).expect("real dir");
    let link = env.root.path().join("link");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    env.dir = link;
    env.run(&["start"]).code(0);
    assert!(
        real.join(".worker.pid").is_file(),
        "files land in the target"
    );
    env.run(&["status"]).code(0);
    env.run(&["stop", "--grace", "2s"]).code(0);
    env.run(&["status"]).code(3);
    assert!(std::fs::symlink_metadata(&env.dir)
        .expect("link")
        .file_type()
        .is_symlink());
}

#[test]
fn case13_data_dir_that_is_a_file_is_unknown_and_start_fails_clearly() {
    let mut env = Env::new();
    env.dir = env.root.path().join("a-file");
    std::fs::write(&env.dir, "x").expect("file");
    let st = env.run(&["status"]);
    st.code(4);
    assert!(st.stdout.contains("not a directory"), "{}", st.both());
    // Refused for the same reason as `status` says (state unknown, 4), before writing anything.
    let start = env.run(&["start"]);
    start.code(4);
    assert!(
        start.stderr.contains(&env.dir.display().to_string()),
        "{}",
        start.both()
    );
    assert_eq!(std::fs::read_to_string(&env.dir).expect("file"), "x");
}

/// Permission cases run the binary as uid 65534: root ignores file permissions.
// Unix permissions and uid switching (setpriv).
#[cfg(unix)]
#[test]
fn case13_read_only_and_unreadable_data_dir_as_an_unprivileged_user() {
    let mut env = Env::new();
    if env.cmd_as_nobody(&["status"]).is_none() {
        common::skip(
            "case13_read_only_and_unreadable_data_dir_as_an_unprivileged_user",
            "needs root and setpriv to run the binary as uid 65534",
        );
        return;
    }
    // The tree must be reachable by uid 65534: tempdirs are 0700.
    open_up(env.root.path(), 0o755);
    open_up(&env.home, 0o755);
    let ro = env.root.path().join("read-only");
    std::fs::create_dir(&ro).expect("dir");
    open_up(&ro, 0o755); // root's, not writable by 65534
    env.dir = ro.clone();
    let nobody = |env: &Env, args: &[&str]| run(env.cmd_as_nobody(args).expect("setpriv"), CALL);

    // status reads a read-only dir fine and writes nothing.
    let st = nobody(&env, &["status"]);
    st.code(3);
    assert_eq!(std::fs::read_dir(&ro).expect("ls").count(), 0);
    // start fails with the file it could not create, exit 1, and starts nothing.
    let start = nobody(&env, &["start"]);
    start.code(1);
    assert!(
        start.stderr.contains(&ro.display().to_string())
            && start.stderr.contains("Permission denied"),
        "{}",
        start.both()
    );
    assert!(env.workers().is_empty());
    // A missing data dir under a parent it cannot write: the same.
    env.dir = ro.join("sub");
    let start = nobody(&env, &["start"]);
    start.code(1);
    assert!(
        start.stderr.contains("cannot create data dir")
            && start.stderr.contains("Permission denied"),
        "{}",
        start.both()
    );

    // A data dir it cannot read: state unknown (4), not "stopped".
    let closed = env.root.path().join("closed");
    std::fs::create_dir(&closed).expect("dir");
    open_up(&closed, 0o700);
    std::fs::write(closed.join(".worker.pid"), "12345").expect("pid file");
    env.dir = closed;
    let st = nobody(&env, &["status"]);
    st.code(4);
    assert!(st.stdout.contains("Permission denied"), "{}", st.both());
    // Every action refuses for the same reason, with the same code (the exit-code table's 4),
    // and writes nothing.
    for action in [
        &["stop"][..],
        &["restart"],
        &["adopt"],
        &["logs"],
        &["migrate"],
    ] {
        let out = nobody(&env, action);
        assert_eq!(out.code, 4, "{action:?}: {}", out.both());
        assert!(
            out.stderr.contains("Permission denied"),
            "{action:?}: {}",
            out.both()
        );
    }
}

// ---- case 14 ------------------------------------------------------------------------------

fn status_port(env: &Env, settings: Option<&[u8]>) -> common::Out {
    match settings {
        Some(s) => env.write("settings.json", s),
        None => {
            let _ = std::fs::remove_file(env.path("settings.json"));
        }
    }
    let mut c = env.cmd(&["status", "--json"]);
    c.env_remove("CLAUDE_MEM_WORKER_PORT");
    run(c, CALL)
}

#[test]
fn case14_settings_json_variants() {
    let env = Env::new();
    std::fs::create_dir_all(&env.dir).expect("dir");
    let p = env.port;
    let settings = env.path("settings.json");
    let from_settings = serde_json::json!({ "kind": "settings", "path": settings });

    // Missing and empty: the default port. (Resolved in-process: a black-box status would probe
    // port 37777, which tests never touch.)
    for content in [None, Some(&b""[..]), Some(b" \n\t")] {
        if let Some(c) = content {
            std::fs::write(&settings, c).expect("write");
        } else {
            let _ = std::fs::remove_file(&settings);
        }
        if std::env::var_os("CLAUDE_MEM_WORKER_PORT").is_some() {
            eprintln!("note: CLAUDE_MEM_WORKER_PORT is set for the test run; default not checked");
            break;
        }
        let got = resolve_port(None, &env.dir).map_err(|e| e.to_string());
        assert_eq!(got, Ok((DEFAULT_PORT, PortSource::Default)), "{content:?}");
    }

    // The port as a string or a number, flat or nested under "env", in a 1 MB file.
    let mut big = serde_json::Map::new();
    for i in 0..20_000 {
        big.insert(format!("SOME_SETTING_{i}"), format!("value {i:>30}").into());
    }
    let big_flat = {
        let mut m = big.clone();
        m.insert("CLAUDE_MEM_WORKER_PORT".into(), p.to_string().into());
        serde_json::Value::Object(m).to_string()
    };
    assert!(big_flat.len() > 1024 * 1024, "{}", big_flat.len());
    let docs = [
        serde_json::json!({ "CLAUDE_MEM_WORKER_PORT": p.to_string() }).to_string(),
        serde_json::json!({ "CLAUDE_MEM_WORKER_PORT": p }).to_string(),
        serde_json::json!({ "env": { "CLAUDE_MEM_WORKER_PORT": p.to_string() } }).to_string(),
        serde_json::json!({ "env": { "CLAUDE_MEM_WORKER_PORT": p } }).to_string(),
        format!("{{\n  \"CLAUDE_MEM_WORKER_PORT\": \"{p}\",\n  \"CLAUDE_MEM_MODEL\": \"x\"\n}}\n"),
        big_flat,
    ];
    for doc in &docs {
        let out = status_port(&env, Some(doc.as_bytes()));
        out.code(3);
        let v = out.json();
        assert_eq!(v["port"], p, "{}", &doc[..doc.len().min(80)]);
        assert_eq!(v["port_source"], from_settings);
    }
    // The environment variable overrides the file; the flag overrides both.
    env.write(
        "settings.json",
        serde_json::json!({ "CLAUDE_MEM_WORKER_PORT": "1" }).to_string(),
    );
    let v = env.run(&["status", "--json"]).code(3).json();
    assert_eq!(
        (v["port"].clone(), v["port_source"]["kind"].clone()),
        (p.into(), "env".into())
    );
    let other = common::free_port();
    let v = env
        .run(&["status", "--json", "--port", &other.to_string()])
        .code(3)
        .json();
    assert_eq!(v["port"], other);

    // Broken files: a clear error naming the file, exit 2.
    let name = settings.display().to_string();
    for (what, content) in [
        ("invalid JSON", &b"{\"CLAUDE_MEM_WORKER_PORT\": "[..]),
        ("not an object", b"[1, 2, 3]"),
        ("a bare string", b"\"37888\""),
        ("binary", b"\xff\xfe\x00garbage"),
    ] {
        let out = status_port(&env, Some(content));
        assert_eq!(out.code, 2, "{what}: {}", out.both());
        assert!(out.stderr.contains(&name), "{what}: {}", out.both());
        assert_eq!(out.stderr.lines().count(), 1, "{what}: {}", out.both());
    }
    // settings.json that is a directory.
    std::fs::remove_file(&settings).expect("rm");
    std::fs::create_dir(&settings).expect("mkdir");
    let out = status_port(&env, None);
    out.code(2);
    assert!(out.stderr.contains(&name), "{}", out.both());
}

#[test]
fn case14_start_uses_the_settings_port() {
    let env = Env::new();
    env.write(
        "settings.json",
        serde_json::json!({ "env": { "CLAUDE_MEM_WORKER_PORT": env.port } }).to_string(),
    );
    let cmd = |args: &[&str]| {
        let mut c = env.cmd(args);
        c.env_remove("CLAUDE_MEM_WORKER_PORT");
        run(c, CALL)
    };
    let out = cmd(&["start"]);
    out.code(0);
    assert!(
        out.stdout.contains(&format!("port {}", env.port)),
        "{}",
        out.both()
    );
    assert_eq!(
        env.read(".worker.port"),
        Some(format!("{}\n{}", env.port, env.pid().expect("pid")))
    );
    cmd(&["status"]).code(0);
    cmd(&["stop", "--grace", "2s"]).code(0);
    assert!(
        Path::new(&env.dir).join("settings.json").is_file(),
        "never touched"
    );
}

// ---- the dashboard's config.toml ----------------------------------------------------------

/// Where `config` looks by default: `$XDG_CONFIG_HOME` when it is absolute, else `~/.config`
/// of `HOME` (the temp home). Unix only: Windows reads `%APPDATA%` and no XDG variable.
#[cfg(unix)]
#[test]
fn dashboard_config_is_found_in_xdg_config_home_else_dot_config() {
    let mut env = Env::new();
    let home_file = env.home.join(".config/claude-mem-top/config.toml");
    let out = env.run(&["config"]).code(0).text();
    assert!(
        out.contains(&format!("{}: not there", home_file.display())),
        "{out}"
    );
    // A relative XDG_CONFIG_HOME is ignored (the XDG rule).
    env.extra_env
        .push(("XDG_CONFIG_HOME".into(), "relative/dir".into()));
    let out = env.run(&["config"]).code(0).text();
    assert!(out.contains(&home_file.display().to_string()), "{out}");
    // An absolute one wins, and a mistake there names the file and line.
    let xdg = env.root.path().join("xdg");
    let file = xdg.join("claude-mem-top").join("config.toml");
    std::fs::create_dir_all(file.parent().expect("parent")).expect("config dir");
    std::fs::write(&file, "[dashboard]\ninterval = \"1h 30m\"\nmouse = false\n").expect("config");
    env.extra_env.pop();
    env.extra_env
        .push(("XDG_CONFIG_HOME".into(), xdg.clone().into()));
    let out = env.run(&["config"]).code(0).text();
    assert!(out.contains(&format!("{}: OK", file.display())), "{out}");
    std::fs::write(&file, "[dashboard]\n\ninterval = \"soon\"\n").expect("config");
    let err = env.run(&["config"]).code(2).both();
    assert!(
        err.contains(&format!(
            "{}:3: interval: `soon` is not a duration",
            file.display()
        )),
        "{err}"
    );
}
