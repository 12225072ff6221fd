//! Shell completions and the man page are generated and name the commands.

#[allow(unused_imports)]
use crate::common;

use crate::common::{text, BIN};

const COMMANDS: [&str; 8] = [
    "start",
    "stop",
    "status",
    "logs",
    "doctor",
    "supervise",
    "serve-metrics",
    "completions",
];

fn run(args: &[&str]) -> String {
    let out = std::process::Command::new(BIN)
        .args(args)
        .env_remove("CLAUDE_MEM_DATA_DIR")
        .output()
        .expect("run the binary");
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn completions_for_bash_zsh_and_fish_name_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let script = run(&["completions", shell]);
        assert!(script.len() > 500, "{shell}: too short:\n{script}");
        for c in COMMANDS {
            assert!(script.contains(c), "{shell} completion lacks {c}");
        }
        assert!(
            script.contains("--max-restarts"),
            "{shell}: no supervise flags"
        );
        assert!(
            !script.contains("stand-in-worker"),
            "{shell}: a hidden command leaked"
        );
    }
    assert!(run(&["completions", "bash"]).contains("complete -F"));
    assert!(run(&["completions", "zsh"]).starts_with("#compdef claude-mem-top"));
    assert!(run(&["completions", "fish"]).contains("complete -c claude-mem-top"));
}

#[test]
fn man_page_is_roff_and_names_the_commands() {
    // roff escapes hyphens.
    let page = run(&["man"]).replace("\\-", "-");
    assert!(
        page.starts_with(".ie") || page.starts_with(".TH"),
        "{}",
        &page[..page.len().min(200)]
    );
    assert!(page.contains(".TH claude-mem-top 1"), "no title header");
    assert!(page.contains(".SH NAME") && page.contains(".SH SYNOPSIS"));
    for c in COMMANDS {
        assert!(page.contains(c), "man page lacks {c}");
    }
    assert!(!page.contains("stand-in-worker"), "a hidden command leaked");
}

#[test]
fn every_command_has_help_examples_and_a_version() {
    let v = run(&["--version"]);
    assert!(v.starts_with("claude-mem-top "), "{v}");
    for c in [
        "doctor",
        "supervise",
        "serve-metrics",
        "completions",
        "man",
        "status",
    ] {
        let help = run(&[c, "--help"]);
        assert!(
            help.contains("Example"),
            "`{c} --help` has no example:\n{help}"
        );
    }
    assert!(run(&["status", "--help"]).contains("prometheus"));
}

#[test]
fn man_dir_writes_a_page_per_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    run(&["man", "--dir", &dir.path().to_string_lossy()]);
    let mut pages: Vec<String> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    pages.sort();
    for c in COMMANDS {
        assert!(
            pages.contains(&format!("claude-mem-top-{c}.1")),
            "no page for {c}: {pages:?}"
        );
    }
    assert!(pages.contains(&"claude-mem-top.1".to_string()));
    assert!(
        !pages
            .iter()
            .any(|p| p.contains("stand-in") || p.contains("help")),
        "{pages:?}"
    );
}
