//! Issue 26 against the real 13.25.3 worker: `search` finds what `POST /api/memory/save`
//! stored, through the worker's own search API and, once the worker is stopped, through the
//! database (its files byte-identical afterwards); `settings` resolves every key exactly as the
//! worker's own `GET /api/settings` reports it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

use super::{get, Install, Sandbox, CALL};
use crate::common;

/// `POST path` with a JSON body on loopback `port`: the status code and the body.
fn post_json(port: u16, path: &str, body: &serde_json::Value) -> (u16, String) {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let body = body.to_string();
    write!(
        s,
        "POST {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .expect("write");
    let mut buf = Vec::new();
    let _ = s.take(1 << 20).read_to_end(&mut buf);
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned());
    (code, body.unwrap_or_default())
}

fn db_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("claude-mem.db"))
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            (name, std::fs::read(e.path()).expect("read"))
        })
        .collect();
    v.sort();
    v
}

fn titles(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap_or_else(|| panic!("a list of items: {v}"))
        .iter()
        .map(|i| i["title"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn search_finds_saved_memories_with_the_worker_up_and_after_it_stopped() {
    let Some(inst) = Install::find("real_worker::memory::search_finds_saved_memories") else {
        return;
    };
    let sb = Sandbox::new(&inst);
    sb.hook_start();
    for (title, text, project) in [
        (
            "Parser alpha notes",
            "The zebrafish parser handles nested brackets",
            "webapp",
        ),
        (
            "Cache decision",
            "We chose quokka caching for the session store",
            "backend",
        ),
        (
            "Deploy marmot plan",
            "Deploy pipeline uses blue green",
            "webapp",
        ),
    ] {
        let (code, body) = post_json(
            sb.port,
            "/api/memory/save",
            &serde_json::json!({"text": text, "title": title, "project": project}),
        );
        assert_eq!(code, 200, "save: {body}");
    }
    let check = |via: &str| {
        // A word of the title, and a word that is only in the text.
        for (word, want, project) in [
            ("marmot", "Deploy marmot plan", "webapp"),
            ("quokka", "Cache decision", "backend"),
        ] {
            let out = sb.top(&["search", word]);
            assert_eq!(out.code, 0, "{}", out.both());
            let lines: Vec<&str> = out.stdout.lines().collect();
            assert_eq!(lines.len(), 2, "{}", out.stdout);
            assert!(
                lines[1].contains(want) && lines[1].contains(project),
                "{}",
                out.stdout
            );
            let json = sb.top(&["search", word, "--json"]);
            assert_eq!(json.code, 0, "{}", json.both());
            let v = json.json();
            crate::support_schema::check("assets/search.schema.json", &v);
            assert_eq!(titles(&v), [want], "{}", json.stdout);
            assert_eq!(v[0]["via"], via, "{}", json.stdout);
            assert_eq!(v[0]["project"], project);
        }
        let none = sb.top(&["search", "marmot", "--project", "backend", "--json"]);
        assert_eq!(titles(&none.json()), Vec::<String>::new());
    };
    check("worker");

    let stop = sb.top(&["stop"]);
    assert_eq!(stop.code, 0, "{}", stop.both());
    common::wait_until(CALL, "the worker's WAL checkpointed away", || {
        !sb.data.join("claude-mem.db-wal").exists() && get(sb.port, "/health").is_none()
    });
    let before = db_files(&sb.data);
    check("fts5");
    assert_eq!(db_files(&sb.data), before, "the database files changed");
}

#[test]
fn settings_match_what_the_worker_itself_reads() {
    let Some(inst) = Install::find("real_worker::memory::settings_match_what_the_worker_reads")
    else {
        return;
    };
    let sb = Sandbox::new(&inst);
    let mut s = sb.settings(sb.port);
    s["CLAUDE_MEM_LOG_LEVEL"] = "DEBUG".into();
    s["CLAUDE_MEM_OPENROUTER_API_KEY"] = "sk-or-v1-0123456789abcdefSECR".into();
    s["CLAUDE_MEM_CONTEXT_OBSERVATIONS"] = 25.into();
    s["CLAUDE_MEM_WORKER_HOST"] = "localhost".into();
    sb.write_settings_raw(
        &sb.data,
        &format!(
            "\u{feff}{}",
            serde_json::to_string_pretty(&s).expect("json")
        ),
    );
    sb.hook_start();
    let (code, body) = get(sb.port, "/api/settings").expect("GET /api/settings");
    assert_eq!(code, 200, "{body}");
    let theirs: serde_json::Value = serde_json::from_str(&body).expect("settings JSON");

    let out = sb.top(&["settings", "--json"]);
    assert_eq!(out.code, 0, "{}", out.both());
    let ours = out.json();
    crate::support_schema::check("assets/settings.schema.json", &ours);
    let file = sb.data.join("settings.json").display().to_string();
    let mut compared = 0;
    for s in ours.as_array().expect("a list") {
        let key = s["key"].as_str().expect("key");
        if s["secret"] == true || s["problem"]["kind"] == "unknown" {
            continue;
        }
        let want = match &theirs[key] {
            serde_json::Value::String(v) => v.clone(),
            serde_json::Value::Null => continue,
            other => other.to_string(),
        };
        assert_eq!(s["value"].as_str(), Some(want.as_str()), "{key}: {s}");
        compared += 1;
    }
    assert!(compared > 100, "compared {compared} keys");
    let get_key = |k: &str| {
        ours.as_array()
            .and_then(|a| a.iter().find(|s| s["key"] == k).cloned())
            .unwrap_or_else(|| panic!("{k} missing"))
    };
    assert_eq!(get_key("CLAUDE_MEM_LOG_LEVEL")["origin"], file);
    assert_eq!(
        get_key("CLAUDE_MEM_WORKER_PORT")["value"],
        sb.port.to_string()
    );
    assert_eq!(get_key("CLAUDE_MEM_MODEL")["origin"], "default");
    assert_eq!(
        get_key("CLAUDE_MEM_OPENROUTER_API_KEY")["value"],
        "****SECR"
    );
    assert!(!out.stdout.contains("0123456789abcdef"));

    // The port from the environment wins over the file, and says so.
    let mut c = sb.top_cmd(&["settings"]);
    c.env("CLAUDE_MEM_WORKER_PORT", "40123");
    let text = common::run(c, CALL);
    assert_eq!(text.code, 0, "{}", text.both());
    let port = text
        .stdout
        .lines()
        .find(|l| l.starts_with("CLAUDE_MEM_WORKER_PORT "))
        .expect("port line");
    assert!(
        port.contains("40123") && port.trim_end().ends_with("env"),
        "{port}"
    );
    let level = text
        .stdout
        .lines()
        .find(|l| l.starts_with("CLAUDE_MEM_LOG_LEVEL "))
        .expect("level line");
    assert!(level.contains("DEBUG") && level.contains(&file), "{level}");
}

/// `/` in the dashboard's Activity panel finds the same memory through the real worker's own
/// search (a word that is only in the memory's text).
#[test]
fn slash_in_the_dashboards_activity_panel_finds_the_saved_memory() {
    use crate::support_pty::Pty;
    let Some(inst) = Install::find("real_worker::memory::slash_in_the_dashboards_activity_panel")
    else {
        return;
    };
    let sb = Sandbox::new(&inst);
    sb.hook_start();
    for (title, text, project) in [
        (
            "Cache decision",
            "We chose quokka caching for the session store",
            "backend",
        ),
        (
            "Deploy marmot plan",
            "Deploy pipeline uses blue green",
            "webapp",
        ),
    ] {
        let (code, body) = post_json(
            sb.port,
            "/api/memory/save",
            &serde_json::json!({"text": text, "title": title, "project": project}),
        );
        assert_eq!(code, 200, "save: {body}");
    }
    let t = Duration::from_secs(30);
    let mut pty = Pty::spawn(sb.top_cmd(&[]), 120, 40);
    pty.wait_for("RUNNING and both memories in Activity", t, |s| {
        s.contains("RUNNING") && s.contains("Cache decision") && s.contains("Deploy marmot plan")
    });
    pty.send(b"\t/quokka\r");
    let s = pty.wait_for("the worker's answer", t, |s| {
        s.contains("Search \"quokka\" (1) · worker") && s.contains("Cache decision")
    });
    assert!(!s.contains("Deploy marmot plan"), "{s}");
    pty.send(b"\r");
    pty.wait_for("the memory's text", t, |s| {
        s.contains("We chose quokka caching for the session store")
    });
    pty.send(b"\x1b");
    pty.wait_for("the results again", t, |s| {
        s.contains("Search \"quokka\"") && !s.contains("session store")
    });
    pty.send(b"\x1b");
    pty.wait_for("the live list", t, |s| s.contains("Deploy marmot plan"));
    pty.send(b"q");
    assert_eq!(pty.wait_exit(t).code(), Some(0), "{}", pty.contents());
}
