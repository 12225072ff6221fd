//! Issue 13, the Activity panel's headless side: `--once` and `--once --json` carry the newest
//! items the worker stored, read from a real SQLite file (13.x's columns), newest first.

#[allow(unused_imports)]
use crate::common;
#[allow(unused_imports)]
use crate::support_schema;

use crate::common::Env;

fn db_with_observations(env: &Env, n: i64) {
    std::fs::create_dir_all(&env.dir).expect("data dir");
    let c = rusqlite::Connection::open(env.dir.join("claude-mem.db")).expect("db");
    c.execute_batch(
        "CREATE TABLE observations (id INTEGER PRIMARY KEY AUTOINCREMENT, memory_session_id TEXT NOT NULL, project TEXT NOT NULL, text TEXT, type TEXT NOT NULL, title TEXT, subtitle TEXT, narrative TEXT, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);
         CREATE TABLE user_prompts (id INTEGER PRIMARY KEY AUTOINCREMENT, content_session_id TEXT NOT NULL, prompt_number INTEGER NOT NULL, prompt_text TEXT NOT NULL, created_at TEXT NOT NULL, created_at_epoch INTEGER NOT NULL);",
    )
    .expect("schema");
    for i in 1..=n {
        c.execute(
            "INSERT INTO observations (memory_session_id, project, type, title, narrative, created_at, created_at_epoch) VALUES ('m', 'web', 'discovery', ?1, 'in full', 'x', ?2)",
            rusqlite::params![format!("observation {i}"), 1_764_583_200_000i64 + i * 1000],
        )
        .expect("insert");
    }
    c.execute(
        "INSERT INTO user_prompts (content_session_id, prompt_number, prompt_text, created_at, created_at_epoch) VALUES ('c', 1, 'why?', 'x', 1764583200500)",
        [],
    )
    .expect("prompt");
}

#[test]
fn once_json_carries_the_newest_ten_items_and_status_does_not() {
    let env = Env::new();
    db_with_observations(&env, 12);
    let out = env.run(&["--once", "--json"]);
    out.code(3);
    let v = out.json();
    support_schema::check("assets/status.schema.json", &v);
    let items = v["activity"].as_array().expect("activity array");
    assert_eq!(items.len(), 10, "{}", out.stdout);
    let titles: Vec<&str> = items.iter().filter_map(|i| i["title"].as_str()).collect();
    assert_eq!(titles[0], "observation 12", "newest first: {titles:?}");
    assert_eq!(titles[9], "observation 3");
    assert_eq!(items[0]["kind"], "observation");
    assert_eq!(items[0]["label"], "discovery");
    assert_eq!(items[0]["project"], "web");
    assert!(items[0]["text"]
        .as_str()
        .is_some_and(|t| t.contains("in full")));
    // `status --json` keeps its shape.
    let st = env.run(&["status", "--json"]);
    assert!(st.json().get("activity").is_none(), "{}", st.stdout);

    let text = env.run(&["--once"]);
    assert!(
        text.stdout.contains("Activity (newest first):")
            && text.stdout.contains("obs discovery: observation 12 (web)"),
        "{}",
        text.stdout
    );
}

#[test]
fn once_without_a_database_has_no_activity_and_creates_nothing() {
    let env = Env::new();
    std::fs::create_dir_all(&env.dir).expect("data dir");
    let v = env.run(&["--once", "--json"]).json();
    assert_eq!(v["activity"], serde_json::json!([]));
    assert!(
        !env.dir.join("claude-mem.db").exists(),
        "read-only: never created"
    );
}
