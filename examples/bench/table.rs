//! The rows and the printed table, with the machine line under it.

use std::fmt::Write as _;
use std::process::{Command, Output, Stdio};

#[derive(Clone, Copy)]
pub enum Target {
    AtMost(f64),
    AtLeast(f64),
    Info,
}

pub struct Row {
    pub id: &'static str,
    figure: String,
    unit: &'static str,
    samples: Vec<f64>,
    target: Target,
    /// Judge on this instead of the median (e.g. a 60 s mean, a peak).
    judged: Option<(f64, &'static str)>,
    /// Shown instead of numbers.
    text: Option<String>,
}

impl Row {
    pub fn new(
        id: &'static str,
        figure: impl Into<String>,
        unit: &'static str,
        target: Target,
    ) -> Row {
        Row {
            id,
            figure: figure.into(),
            unit,
            samples: Vec::new(),
            target,
            judged: None,
            text: None,
        }
    }
    pub fn with(mut self, samples: Vec<f64>) -> Row {
        self.samples = samples;
        self
    }
    #[cfg(unix)] // rows 5–8 only
    pub fn judged_on(mut self, v: f64, what: &'static str) -> Row {
        self.judged = Some((v, what));
        self
    }
    pub fn text(id: &'static str, figure: impl Into<String>, text: impl Into<String>) -> Row {
        let mut r = Row::new(id, figure, "", Target::Info);
        r.text = Some(text.into());
        r
    }
}

/// (median, min, max) of the finite values.
pub fn summary(v: &[f64]) -> Option<(f64, f64, f64)> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    let med = if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    };
    Some((med, s[0], s[n - 1]))
}

/// The median of the finite values, 0 for none.
pub fn median(v: &[f64]) -> f64 {
    summary(v).map_or(0.0, |s| s.0)
}

fn num(v: f64, unit: &str) -> String {
    let digits = match unit {
        "%" => 2,
        "ms" if v.abs() < 100.0 => 2,
        _ if v.abs() < 10.0 => 2,
        _ => 1,
    };
    format!("{v:.digits$}")
}

fn target_text(t: Target, unit: &str) -> String {
    let u = match unit {
        "×" => "×".to_string(),
        "%" => "%".to_string(),
        u => format!(" {u}"),
    };
    match t {
        Target::AtMost(x) => format!("≤ {}{u}", num(x, unit)),
        Target::AtLeast(x) => format!("≥ {}{u}", num(x, unit)),
        Target::Info => "—".into(),
    }
}

fn verdict(r: &Row, smoke: bool) -> String {
    if smoke {
        return "smoke".into();
    }
    let v = match (r.judged, summary(&r.samples)) {
        (Some((v, _)), _) => v,
        (None, Some((med, _, _))) => med,
        (None, None) => return "n/a".into(),
    };
    match r.target {
        Target::AtMost(x) if v <= x => "ok".into(),
        Target::AtLeast(x) if v >= x => "ok".into(),
        Target::Info => "—".into(),
        _ => "MISS".into(),
    }
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize) -> String {
    format!("{s}{}", " ".repeat(w.saturating_sub(width(s))))
}

fn lpad(s: &str, w: usize) -> String {
    format!("{}{s}", " ".repeat(w.saturating_sub(width(s))))
}

/// The cells of one row: #, figure, unit, median, min, max, n, target, verdict.
fn cells(r: &Row, smoke: bool) -> [String; 9] {
    let (med, min, max, n) = match (&r.text, summary(&r.samples)) {
        (Some(t), _) => (t.clone(), String::new(), String::new(), String::new()),
        (None, Some((a, b, c))) => (
            num(a, r.unit),
            num(b, r.unit),
            num(c, r.unit),
            r.samples.len().to_string(),
        ),
        (None, None) => ("—".into(), "—".into(), "—".into(), "0".into()),
    };
    let mut target = target_text(r.target, r.unit);
    if let Some((_, what)) = r.judged {
        if !matches!(r.target, Target::Info) {
            target = format!("{target} ({what})");
        }
    }
    let verdict = if r.text.is_some() {
        String::new()
    } else {
        verdict(r, smoke)
    };
    [
        r.id.to_string(),
        r.figure.clone(),
        r.unit.to_string(),
        med,
        min,
        max,
        n,
        target,
        verdict,
    ]
}

/// The numeric columns (median, min, max, n): right-aligned; a text row's message spans them.
const NUMERIC: std::ops::RangeInclusive<usize> = 3..=6;

/// A text row: its message in the median column, no min and no n.
fn is_text(c: &[String; 9]) -> bool {
    c[4].is_empty() && c[6].is_empty()
}

pub fn print_table(rows: &[Row], smoke: bool) {
    let head = [
        "#", "figure", "unit", "median", "min", "max", "n", "target", "verdict",
    ];
    let cells: Vec<[String; 9]> = rows.iter().map(|r| cells(r, smoke)).collect();
    let mut w = head.map(width);
    for c in &cells {
        for (i, s) in c.iter().enumerate() {
            if !(i == 3 && is_text(c)) {
                w[i] = w[i].max(width(s));
            }
        }
    }
    let line = |c: &[String; 9]| {
        let cell = |i: usize| {
            if NUMERIC.contains(&i) {
                lpad(&c[i], w[i])
            } else {
                pad(&c[i], w[i])
            }
        };
        let numbers = if is_text(c) && !c[3].is_empty() && c[3] != "median" {
            let span = NUMERIC.map(|i| w[i]).sum::<usize>() + 9;
            pad(&c[3], span)
        } else {
            NUMERIC.map(cell).collect::<Vec<_>>().join(" | ")
        };
        let (id, figure, unit) = (cell(0), cell(1), cell(2));
        let (target, verdict) = (cell(7), cell(8));
        format!("| {id} | {figure} | {unit} | {numbers} | {target} | {verdict} |")
    };
    println!("{}", line(&head.map(String::from)));
    let mut sep = String::from("|");
    for (i, n) in w.iter().enumerate() {
        let align = if NUMERIC.contains(&i) { ':' } else { '-' };
        let _ = write!(sep, "-{}{align}|", "-".repeat(*n));
    }
    println!("{sep}");
    for c in &cells {
        println!("{}", line(c));
    }
}

/// `machine: <cores, CPU, RAM, OS, kernel>, <date>, claude-mem-top <version> (<rev>)`; the
/// machine part is the platform layer's.
pub fn machine_line() -> String {
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    format!(
        "machine: {}, {date}, claude-mem-top {}{}",
        claude_mem_top::platform::machine_line(),
        env!("CARGO_PKG_VERSION"),
        git_rev().map(|r| format!(" ({r})")).unwrap_or_default()
    )
}

/// `git -C <this crate> <args>`, stderr discarded.
fn git(args: &[&str]) -> Option<Output> {
    Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR")])
        .args(args)
        .stderr(Stdio::null())
        .output()
        .ok()
}

fn git_rev() -> Option<String> {
    let out = git(&["rev-parse", "--short", "HEAD"])?;
    let rev = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || rev.is_empty() {
        return None;
    }
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .is_some_and(|o| !o.stdout.is_empty());
    Some(if dirty { format!("{rev}+changes") } else { rev })
}
