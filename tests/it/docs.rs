//! The documentation holds together: every relative link in README.md, CONTRIBUTING.md,
//! CHANGELOG.md and `docs/**/*.md` names a file that exists (relative to the linking file), and
//! every `#anchor` names a heading of its target as GitHub slugs it (lowercase, spaces to `-`,
//! punctuation other than `-` and `_` dropped, repeats `-1`, `-2`, …). Links inside code blocks
//! and inline code are not links; `http(s):`, `mailto:` and other schemes are not checked. The
//! README, which is also the crates.io page, stays a front door: at most 350 lines.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

const README_MAX_LINES: usize = 350;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Markdown files whose links are checked, relative to the crate root.
fn checked_files() -> Vec<PathBuf> {
    let root = root();
    let mut files: Vec<PathBuf> = ["README.md", "CONTRIBUTING.md", "CHANGELOG.md"]
        .iter()
        .map(|f| root.join(f))
        .collect();
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.expect("a directory entry").path());
        for p in entries {
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "md") {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

/// A fence line (```` ``` ```` or `~~~`, up to three spaces in): its character and length.
fn fence(line: &str) -> Option<(char, usize)> {
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent > 3 {
        return None;
    }
    let rest = &line[indent..];
    let c = rest.chars().next()?;
    if c != '`' && c != '~' {
        return None;
    }
    let n = rest.chars().take_while(|&x| x == c).count();
    (n >= 3).then_some((c, n))
}

/// The text outside fenced code blocks, as paragraphs: (first line number, the lines joined
/// with `\n`). A blank line or a fence ends a paragraph.
fn paragraphs(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut cur: Option<(usize, String)> = None;
    let mut open: Option<(char, usize)> = None;
    for (i, line) in text.lines().enumerate() {
        let f = fence(line);
        if let Some((c, n)) = open {
            if f.is_some_and(|(fc, fnn)| fc == c && fnn >= n && line.trim().chars().all(|x| x == c))
            {
                open = None;
            }
            continue;
        }
        if f.is_some() || line.trim().is_empty() {
            out.extend(cur.take());
            open = f;
            continue;
        }
        match &mut cur {
            Some((_, p)) => {
                p.push('\n');
                p.push_str(line);
            }
            None => cur = Some((i + 1, line.to_string())),
        }
    }
    out.extend(cur);
    out
}

/// Byte ranges of the inline code spans of a paragraph: a run of N backticks up to the next run
/// of exactly N (an unmatched run is literal text).
fn code_spans(p: &str) -> Vec<(usize, usize)> {
    let b = p.as_bytes();
    let run = |i: usize| b[i..].iter().take_while(|&&c| c == b'`').count();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'`' {
            i += 1;
            continue;
        }
        let n = run(i);
        let mut j = i + n;
        let mut end = None;
        while j < b.len() {
            if b[j] == b'`' {
                let m = run(j);
                if m == n {
                    end = Some(j + m);
                    break;
                }
                j += m;
            } else {
                j += 1;
            }
        }
        match end {
            Some(e) => {
                spans.push((i, e));
                i = e;
            }
            None => i += n,
        }
    }
    spans
}

/// A link found in a file: its line and its target as written.
#[derive(Debug, PartialEq)]
struct Link {
    line: usize,
    target: String,
}

/// The targets of `[text](target)` and `![alt](target)` outside code, and of reference
/// definitions (`[label]: target`).
fn links(text: &str) -> Vec<Link> {
    let mut out = Vec::new();
    for (first, p) in paragraphs(text) {
        let spans = code_spans(&p);
        let in_code = |at: usize| spans.iter().any(|&(s, e)| at >= s && at < e);
        let line_of = |at: usize| first + p[..at].matches('\n').count();
        let b = p.as_bytes();
        let mut i = 0;
        while let Some(k) = p[i..].find("](") {
            let at = i + k;
            i = at + 2;
            if in_code(at) {
                continue;
            }
            // Up to the `)` that balances the `(`.
            let mut depth = 1;
            let mut j = at + 2;
            while j < b.len() && b[j] != b'\n' {
                match b[j] {
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            if depth != 0 {
                continue;
            }
            out.push(Link {
                line: line_of(at),
                target: clean_target(&p[at + 2..j]),
            });
            i = j;
        }
        // Reference definitions: `[label]: target` at the start of a line.
        let mut off = 0;
        for l in p.split('\n') {
            let t = l.trim_start();
            if t.starts_with('[') && !in_code(off + (l.len() - t.len())) {
                if let Some(k) = t.find("]:") {
                    if !t[..k].contains("](") {
                        out.push(Link {
                            line: line_of(off),
                            target: clean_target(&t[k + 2..]),
                        });
                    }
                }
            }
            off += l.len() + 1;
        }
    }
    out
}

/// `<a b.md>` → `a b.md`; `a.md "title"` → `a.md`.
fn clean_target(raw: &str) -> String {
    let t = raw.trim();
    if let Some(inner) = t.strip_prefix('<') {
        return inner.split('>').next().unwrap_or("").to_string();
    }
    t.split_whitespace().next().unwrap_or("").to_string()
}

/// `http:`, `https:`, `mailto:` and any other scheme: not a file of this repository.
fn is_external(target: &str) -> bool {
    let head = target.split(['/', '#', '?']).next().unwrap_or("");
    head.contains(':')
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A heading's text as GitHub renders it for its slug: no backticks or emphasis stars, link
/// text without its target.
fn heading_text(h: &str) -> String {
    let mut s = String::new();
    let mut rest = h;
    while let Some(k) = rest.find("](") {
        let end = rest[k..].find(')').map_or(rest.len(), |e| k + e + 1);
        s.push_str(&rest[..k]);
        rest = &rest[end..];
    }
    s.push_str(rest);
    s.replace("![", "").replace(['`', '*', '[', ']'], "")
}

/// GitHub's slug of one heading text (before de-duplication).
fn slug(text: &str) -> String {
    text.trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor a Markdown file has: its headings' slugs, repeats numbered `-1`, `-2`, ….
fn anchors(text: &str) -> Vec<String> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::new();
    for (_, p) in paragraphs(text) {
        for line in p.split('\n') {
            let t = line.trim_start_matches(' ');
            if line.len() - t.len() > 3 {
                continue;
            }
            let hashes = t.chars().take_while(|&c| c == '#').count();
            if !(1..=6).contains(&hashes) {
                continue;
            }
            let rest = &t[hashes..];
            if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
                continue;
            }
            // A closing sequence of `#`s is not part of the heading.
            let body = rest.trim().trim_end_matches('#').trim_end();
            let base = slug(&heading_text(body));
            let n = seen.entry(base.clone()).or_insert(0);
            out.push(if *n == 0 {
                base.clone()
            } else {
                format!("{base}-{n}")
            });
            *n += 1;
        }
    }
    out
}

/// What is wrong with one link of `file`, if anything.
fn check(file: &Path, text: &str, target: &str) -> Option<String> {
    if target.is_empty() {
        return Some("empty link target".into());
    }
    if is_external(target) {
        return None;
    }
    let (path, anchor) = match target.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (target, None),
    };
    let path = path.split('?').next().unwrap_or("");
    let (dest, dest_text) = if path.is_empty() {
        (file.to_path_buf(), Some(text.to_string()))
    } else {
        let dir = file.parent().expect("a file has a directory");
        let dest = if let Some(abs) = path.strip_prefix('/') {
            root().join(percent_decode(abs))
        } else {
            dir.join(percent_decode(path))
        };
        if !dest.exists() {
            return Some(format!("{} does not exist", shown(&dest)));
        }
        let t = dest
            .extension()
            .is_some_and(|x| x == "md")
            .then(|| std::fs::read_to_string(&dest).ok())
            .flatten();
        (dest, t)
    };
    let anchor = anchor.filter(|a| !a.is_empty())?;
    let Some(dest_text) = dest_text else {
        return Some(format!(
            "#{anchor}: {} is not a Markdown file to hold the anchor",
            shown(&dest)
        ));
    };
    let have = anchors(&dest_text);
    let want = percent_decode(anchor);
    if have.contains(&want) {
        return None;
    }
    Some(format!(
        "no heading with the anchor #{want} in {} (anchors there: {})",
        shown(&dest),
        have.join(", ")
    ))
}

fn shown(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

#[test]
fn every_relative_link_and_anchor_in_the_docs_resolves() {
    let mut broken = Vec::new();
    let mut count = 0;
    for file in checked_files() {
        let text = std::fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("read {}: {e}", file.display()));
        for l in links(&text) {
            count += 1;
            if let Some(why) = check(&file, &text, &l.target) {
                broken.push(format!(
                    "{}:{}: ({}): {why}",
                    shown(&file),
                    l.line,
                    l.target
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "{} broken link(s):\n{}",
        broken.len(),
        broken.join("\n")
    );
    assert!(
        count > 50,
        "only {count} links found: is the scanner blind?"
    );
}

#[test]
fn the_readme_is_a_front_door_of_at_most_350_lines() {
    let text = std::fs::read_to_string(root().join("README.md")).expect("read README.md");
    let n = text.lines().count();
    assert!(
        n <= README_MAX_LINES,
        "README.md has {n} lines, more than {README_MAX_LINES}: move the detail into docs/"
    );
    for page in ["docs/usage.md", "docs/architecture.md", "CONTRIBUTING.md"] {
        assert!(
            text.contains(&format!("({page}")),
            "README.md does not link {page}"
        );
    }
}

#[test]
fn the_checker_itself_finds_links_skips_code_and_slugs_like_github() {
    let md = "# Title\n\
              \n\
              See [a](b.md#c) and `[not](code.md)` and ``[x](y) ` z`` here.\n\
              A span `across\n\
              lines [no](nope.md)` then [yes](yes.md \"t\").\n\
              \n\
              ```sh\n\
              [fenced](fenced.md)\n\
              ```\n\
              \n\
              ## Metrics (Prometheus / Grafana)\n\
              ## Every claude-mem process (`ps`, `adopt`, `reap`)\n\
              ## Title\n\
              ### Title ###\n\
              [ref]: ./r.md\n";
    let got: Vec<(usize, String)> = links(md).into_iter().map(|l| (l.line, l.target)).collect();
    assert_eq!(
        got,
        vec![
            (3, "b.md#c".to_string()),
            (5, "yes.md".to_string()),
            (15, "./r.md".to_string()),
        ]
    );
    assert_eq!(
        anchors(md),
        vec![
            "title",
            "metrics-prometheus--grafana",
            "every-claude-mem-process-ps-adopt-reap",
            "title-1",
            "title-2",
        ]
    );
    assert!(is_external("https://example.com/x.md"));
    assert!(is_external("mailto:me@example.com"));
    assert!(!is_external("docs/usage.md#exit-codes"));
    assert_eq!(
        slug("Shell completions and man page"),
        "shell-completions-and-man-page"
    );
    assert_eq!(percent_decode("a%20b.md"), "a b.md");

    // A broken file and a broken anchor are both reported.
    let here = root().join("README.md");
    assert!(check(&here, md, "docs/no-such-page.md").is_some());
    assert!(check(&here, md, "#no-such-heading").is_some());
    assert!(check(&here, md, "#metrics-prometheus--grafana").is_none());
    assert!(check(&here, md, "docs/usage.md#exit-codes").is_none());
    assert!(check(&here, md, "docs/usage.md#exit-code").is_some());
}

/// Issue 28: one name for each class, helper kind and state in the program and the docs. Every
/// name the program prints is in docs/usage.md, and every name the docs' class list gives is one
/// the program prints.
#[test]
fn the_docs_name_every_class_kind_and_state_the_program_prints() {
    use claude_mem_top::procman::census::{Class, HelperKind};
    use claude_mem_top::procman::status::State;
    let usage = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/usage.md"))
        .expect("docs/usage.md");
    let classes: Vec<&str> = Class::WORKERS
        .into_iter()
        .chain([Class::Helper, Class::OrphanedHelper])
        .map(Class::label)
        .collect();
    for name in classes
        .iter()
        .copied()
        .chain(HelperKind::ALL.map(HelperKind::label))
    {
        assert!(
            usage.contains(&format!("`{name}`")),
            "docs/usage.md lacks `{name}`"
        );
    }
    for st in State::ALL {
        let json = serde_json::to_value(st).expect("json");
        let name = json.as_str().expect("a string");
        assert!(
            usage.contains(&format!("`{name}`")) || usage.contains(&format!("({name}")),
            "docs/usage.md lacks the state {name}"
        );
        assert!(
            usage.contains(&format!("| {} |", st.exit_code())),
            "the exit-code table lacks {}",
            st.exit_code()
        );
    }
    // The other way: the class list names only classes the program has.
    let list = usage
        .split("Classes: ")
        .nth(1)
        .and_then(|rest| rest.split("\n\n").next())
        .expect("a `Classes:` paragraph in docs/usage.md");
    for word in list.split('`').skip(1).step_by(2) {
        if !word.starts_with('-') && word.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
            assert!(
                classes.contains(&word) || HelperKind::ALL.iter().any(|k| k.label() == word),
                "docs/usage.md's class list names `{word}`, which the program does not print"
            );
        }
    }
}
