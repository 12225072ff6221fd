//! Issue 26, inside the memory: `settings` (every key, its value and origin), `search` (the
//! worker's API, else the database's FTS5 tables, else LIKE) and `queue` (pending rows oldest
//! first, with their ages), on real SQLite files with claude-mem 13.x's schema.

use std::path::Path;

use crate::common::{self, Env};
use crate::support_schema;

/// claude-mem 13.25.3's tables as its migrations leave them (the columns these commands read),
/// with the FTS5 tables and insert triggers it keeps, in WAL mode as the worker leaves it.
pub(crate) fn db_13x(dir: &Path, fts: bool) {
    std::fs::create_dir_all(dir).expect("data dir");
    let c = rusqlite::Connection::open(dir.join("claude-mem.db")).expect("db");
    c.execute_batch(
        "PRAGMA journal_mode = WAL;
         CREATE TABLE schema_versions (id INTEGER PRIMARY KEY, version INTEGER UNIQUE, applied_at TEXT);
         INSERT INTO schema_versions (version, applied_at) VALUES (52, '2026-12-01');
         CREATE TABLE sdk_sessions (id INTEGER PRIMARY KEY AUTOINCREMENT, content_session_id TEXT NOT NULL, memory_session_id TEXT UNIQUE, project TEXT NOT NULL, platform_source TEXT NOT NULL DEFAULT 'claude', user_prompt TEXT, started_at TEXT NOT NULL, started_at_epoch INTEGER NOT NULL, completed_at TEXT, completed_at_epoch INTEGER, status TEXT NOT NULL DEFAULT 'active');
         CREATE TABLE observations (id INTEGER PRIMARY KEY AUTOINCREMENT, memory_session_id TEXT NOT NULL, project TEXT NOT NULL, text TEXT, type TEXT NOT NULL, title TEXT, subtitle TEXT, facts TEXT, narrative TEXT, concepts TEXT, files_read TEXT, files_modified TEXT, prompt_number INTEGER, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);
         CREATE TABLE session_summaries (id INTEGER PRIMARY KEY AUTOINCREMENT, memory_session_id TEXT NOT NULL, project TEXT NOT NULL, request TEXT, investigated TEXT, learned TEXT, completed TEXT, next_steps TEXT, files_read TEXT, files_edited TEXT, notes TEXT, prompt_number INTEGER, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);
         CREATE TABLE user_prompts (id INTEGER PRIMARY KEY AUTOINCREMENT, session_db_id INTEGER, content_session_id TEXT NOT NULL, prompt_number INTEGER NOT NULL, prompt_text TEXT NOT NULL, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);
         CREATE TABLE pending_messages (id INTEGER PRIMARY KEY AUTOINCREMENT, session_db_id INTEGER NOT NULL, content_session_id TEXT NOT NULL, message_type TEXT NOT NULL CHECK(message_type IN ('observation', 'summarize')), tool_name TEXT, tool_input TEXT, tool_response TEXT, cwd TEXT, last_user_message TEXT, last_assistant_message TEXT, prompt_number INTEGER, status TEXT NOT NULL DEFAULT 'pending' CHECK(status IN ('pending', 'processing')), created_at_epoch INTEGER NOT NULL, agent_type TEXT, agent_id TEXT, tool_use_id TEXT);",
    )
    .expect("schema");
    if fts {
        c.execute_batch(
            "CREATE VIRTUAL TABLE observations_fts USING fts5(title, subtitle, narrative, text, facts, concepts, content='observations', content_rowid='id');
             CREATE TRIGGER observations_ai AFTER INSERT ON observations BEGIN INSERT INTO observations_fts(rowid, title, subtitle, narrative, text, facts, concepts) VALUES (new.id, new.title, new.subtitle, new.narrative, new.text, new.facts, new.concepts); END;
             CREATE VIRTUAL TABLE session_summaries_fts USING fts5(request, investigated, learned, completed, next_steps, notes, content='session_summaries', content_rowid='id');
             CREATE TRIGGER session_summaries_ai AFTER INSERT ON session_summaries BEGIN INSERT INTO session_summaries_fts(rowid, request, investigated, learned, completed, next_steps, notes) VALUES (new.id, new.request, new.investigated, new.learned, new.completed, new.next_steps, new.notes); END;
             CREATE VIRTUAL TABLE user_prompts_fts USING fts5(prompt_text, content='user_prompts', content_rowid='id');",
        )
        .expect("fts");
    }
    // Three memories as `POST /api/memory/save` stores them (a manual session per project).
    c.execute_batch(
        "INSERT INTO sdk_sessions (content_session_id, memory_session_id, project, started_at, started_at_epoch) VALUES ('c1', 'manual-webapp-claude', 'webapp', 'x', 1796679289000), ('c2', 'manual-backend-claude', 'backend', 'x', 1796679289000);
         INSERT INTO observations (memory_session_id, project, type, title, subtitle, narrative, facts, concepts, files_read, files_modified, created_at, created_at_epoch) VALUES
           ('manual-webapp-claude', 'webapp', 'discovery', 'Parser alpha notes', 'Manual memory', 'The zebrafish parser handles nested brackets', '[]', '[]', '[]', '[]', '2026-12-07T21:34:49.575Z', 1796679289575),
           ('manual-backend-claude', 'backend', 'discovery', 'Cache decision', 'Manual memory', 'We chose quokka caching for the session store', '[]', '[]', '[]', '[]', '2026-12-07T21:34:49.591Z', 1796679289591),
           ('manual-webapp-claude', 'webapp', 'discovery', 'Deploy marmot plan', 'Manual memory', 'Deploy pipeline uses blue green', '[]', '[]', '[]', '[]', '2026-12-07T21:34:49.606Z', 1796679289606);",
    )
    .expect("rows");
    // Leave it as a stopped worker does: checkpointed, no -wal or -shm.
    c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
        .expect("checkpoint");
    drop(c);
}

pub(crate) fn db_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("claude-mem.db"))
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).expect("read"),
            )
        })
        .collect();
    v.sort();
    v
}

fn titles(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .expect("a list of items")
        .iter()
        .map(|i| i["title"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn search_reads_the_database_read_only_when_no_worker_runs() {
    let env = Env::new();
    db_13x(&env.dir, true);
    let before = db_files(&env.dir);
    // A word of the title, and a word only in the text.
    for (word, want) in [
        ("marmot", "Deploy marmot plan"),
        ("zebrafish", "Parser alpha notes"),
    ] {
        let out = env.run(&["search", word]);
        out.code(0);
        assert!(
            out.stdout.contains(want) && out.stdout.lines().count() == 2,
            "{word}: {}",
            out.both()
        );
        assert!(out.stdout.contains("the database (FTS5)"), "{}", out.stdout);
        let json = env.run(&["search", word, "--json"]);
        let v = json.json();
        support_schema::check("assets/search.schema.json", &v);
        assert_eq!(titles(&v), [want]);
        assert_eq!(v[0]["via"], "fts5");
        assert_eq!(v[0]["kind"], "observation");
    }
    // Filters: the project, and nothing that does not match.
    let v = env
        .run(&["search", "marmot", "--project", "backend", "--json"])
        .json();
    assert_eq!(titles(&v), Vec::<String>::new());
    let out = env.run(&["search", "nothing-like-this"]);
    out.code(0);
    assert!(
        out.stdout.starts_with("No memories match"),
        "{}",
        out.stdout
    );
    assert_eq!(db_files(&env.dir), before, "the database files changed");
}

#[test]
fn without_fts5_tables_like_finds_the_same_memory() {
    let env = Env::new();
    db_13x(&env.dir, false);
    let v = env.run(&["search", "quokka", "--json"]).json();
    assert_eq!(titles(&v), ["Cache decision"]);
    assert_eq!(v[0]["via"], "like");
    assert_eq!(v[0]["project"], "backend");
}

#[test]
fn a_worker_without_a_search_api_falls_back_to_the_database() {
    let env = Env::stand_in("");
    db_13x(&env.dir, true);
    env.run(&["start"]).code(0);
    let out = env.run(&["search", "zebrafish"]);
    out.code(0);
    assert!(out.stdout.contains("Parser alpha notes"), "{}", out.both());
    assert!(
        out.stderr.contains("no search API") && out.stderr.contains("searched the database"),
        "{}",
        out.stderr
    );
    // Asked for the worker only: exit 7 with the reason.
    let only = env.run(&["search", "zebrafish", "--source", "worker"]);
    only.code(7);
    assert!(only.stderr.contains("no search API"), "{}", only.stderr);
}

#[test]
fn search_without_a_database_or_worker_says_so() {
    let env = Env::new();
    env.make_dir();
    let out = env.run(&["search", "x"]);
    out.code(1);
    assert!(out.stderr.contains("no database at"), "{}", out.stderr);
    assert!(!env.dir.join("claude-mem.db").exists(), "never created");
}

#[test]
fn settings_shows_each_value_with_its_origin_and_masks_secrets() {
    let env = Env::new();
    let file = env.dir.join("settings.json");
    env.write(
        "settings.json",
        "\u{feff}{\"CLAUDE_MEM_LOG_LEVEL\": \"DEBUG\", \"CLAUDE_MEM_GEMINI_API_KEY\": \"AIzaSyDsecretsecret0123WXYZ\", \"CLAUDE_MEM_WORKER_PORT\": \"39999\", \"CLAUDE_MEM_TYPO_KEY\": \"1\", \"CLAUDE_MEM_CONTEXT_OBSERVATIONS\": \"500\"}",
    );
    let out = env.run(&["settings"]);
    out.code(0);
    let line = |key: &str| {
        out.stdout
            .lines()
            .find(|l| l.starts_with(&format!("{key} ")))
            .unwrap_or_else(|| panic!("no {key} line in {}", out.stdout))
            .to_string()
    };
    let port = line("CLAUDE_MEM_WORKER_PORT");
    assert!(
        port.contains(&env.port.to_string()) && port.trim_end().ends_with("env"),
        "{port}"
    );
    let level = line("CLAUDE_MEM_LOG_LEVEL");
    assert!(
        level.contains("DEBUG") && level.contains(&file.display().to_string()),
        "{level}"
    );
    assert!(!out.stdout.contains("secretsecret"), "{}", out.stdout);
    assert!(line("CLAUDE_MEM_GEMINI_API_KEY").contains("****WXYZ"));
    assert!(line("CLAUDE_MEM_TYPO_KEY").contains("unknown to claude-mem"));
    assert!(line("CLAUDE_MEM_CONTEXT_OBSERVATIONS").contains("invalid: must be between 1 and 200"));
    assert!(line("CLAUDE_MEM_MODEL").trim_end().ends_with("default"));

    let json = env.run(&["settings", "--json"]);
    json.code(0);
    let v = json.json();
    support_schema::check("assets/settings.schema.json", &v);
    let get = |k: &str| {
        v.as_array()
            .expect("a list")
            .iter()
            .find(|s| s["key"] == k)
            .unwrap_or_else(|| panic!("{k} missing"))
            .clone()
    };
    assert_eq!(get("CLAUDE_MEM_WORKER_PORT")["value"], env.port.to_string());
    assert_eq!(get("CLAUDE_MEM_WORKER_PORT")["origin"], "env");
    assert_eq!(
        get("CLAUDE_MEM_LOG_LEVEL")["origin"],
        file.display().to_string()
    );
    assert_eq!(get("CLAUDE_MEM_GEMINI_API_KEY")["value"], "****WXYZ");
    assert_eq!(get("CLAUDE_MEM_GEMINI_API_KEY")["secret"], true);
    assert_eq!(get("CLAUDE_MEM_TYPO_KEY")["problem"]["kind"], "unknown");
    assert!(!json.stdout.contains("secretsecret"));
    // A port option would say nothing here: refused.
    env.run(&["settings", "--port", "40000"]).code(2);
}

#[test]
fn settings_with_a_broken_file_shows_the_defaults_and_names_the_file() {
    let env = Env::new();
    env.write("settings.json", "{\"CLAUDE_MEM_LOG_LEVEL\": ");
    let out = env.run(&["settings"]);
    out.code(0);
    assert!(
        out.stderr.contains("settings.json") && out.stderr.contains("claude-mem uses its defaults"),
        "{}",
        out.stderr
    );
    assert!(out
        .stdout
        .lines()
        .any(|l| l.starts_with("CLAUDE_MEM_LOG_LEVEL ") && l.contains("INFO")));
}

#[test]
fn queue_lists_pending_rows_oldest_first_with_their_ages() {
    let env = Env::new();
    db_13x(&env.dir, true);
    let now = chrono::Utc::now().timestamp_millis();
    {
        let c = rusqlite::Connection::open(env.dir.join("claude-mem.db")).expect("db");
        for (tool, status, age_s) in [
            ("Edit", "pending", 90i64),
            ("Bash", "processing", 7200),
            ("Read", "pending", 5),
        ] {
            c.execute(
                "INSERT INTO pending_messages (session_db_id, content_session_id, message_type, tool_name, cwd, status, created_at_epoch) VALUES (1, 'c1', 'observation', ?1, '/work/webapp', ?2, ?3)",
                rusqlite::params![tool, status, now - age_s * 1000],
            )
            .expect("row");
        }
        c.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")
            .expect("checkpoint");
    }
    env.write(
        "observer-health.json",
        r#"{"consecutiveFailures": 4, "failingSinceAt": 1796679289000, "lastErrorAt": 1796679299000, "lastErrorMessage": "Claude executable not found"}"#,
    );
    let before = db_files(&env.dir);
    let out = env.run(&["queue", "--json"]);
    out.code(1); // one message waits longer than the 5m default
    let v = out.json();
    support_schema::check("assets/queue.schema.json", &v);
    assert_eq!(
        (v["pending"].as_u64(), v["processing"].as_u64()),
        (Some(2), Some(1))
    );
    let msgs = v["messages"].as_array().expect("messages");
    let tools: Vec<&str> = msgs.iter().filter_map(|m| m["tool"].as_str()).collect();
    assert_eq!(tools, ["Bash", "Edit", "Read"], "oldest first");
    let ages: Vec<u64> = msgs
        .iter()
        .filter_map(|m| m["age_seconds"].as_u64())
        .collect();
    assert!(
        (7199..=7260).contains(&ages[0]) && (89..=150).contains(&ages[1]) && ages[2] <= 65,
        "{ages:?}"
    );
    assert_eq!(msgs[0]["stuck"], true);
    assert_eq!(msgs[1]["stuck"], false);
    assert_eq!(msgs[0]["project"], "webapp");
    assert_eq!(v["stuck"], 1);
    assert_eq!(v["observer"]["consecutive_failures"], 4);

    let text = env.run(&["queue", "--stall-after", "1m"]);
    text.code(1);
    assert!(
        text.stdout.contains("2 pending, 1 processing") && text.stdout.contains("2 STUCK"),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout.contains("Observer: 4 failures in a row"),
        "{}",
        text.stdout
    );
    env.run(&["queue", "--stall-after", "3h"]).code(0);
    assert_eq!(db_files(&env.dir), before, "the database files changed");
}

#[test]
fn once_json_carries_the_queue() {
    let env = Env::new();
    db_13x(&env.dir, true);
    let v = env.run(&["--once", "--json"]).json();
    support_schema::check("assets/status.schema.json", &v);
    assert_eq!(v["queue"]["pending"], 0, "{v:#}");
    let _ = common::free_port;
}
