//! Row 12: the cost of one dashboard frame (draw into a 120×40 test backend) and of one new log
//! line (`update` with `LogLines`), with 200 and with 20,000 log lines held and a search active.
//! In-process, through the crate's own `update` and `draw`: what a frame costs, not a terminal.

use std::time::{Instant, SystemTime};

use claude_mem_top::app::model::Model;
use claude_mem_top::app::msg::{LogReset, Msg};
use claude_mem_top::app::update::update;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use super::table::{Row, Target};
use super::{Opts, R};

fn line(i: usize) -> String {
    let level = ["INFO ", "DEBUG", "WARN ", "ERROR"][i % 4];
    format!(
        "[2026-11-25 09:{:02}:{:02}.{:03}] [{level}] [WORKER] queue tick {i} {{queueDepth={}, sessions=3}}",
        (i / 60) % 60,
        i % 60,
        i % 1000,
        i % 7
    )
}

fn model(lines: usize) -> Model {
    let mut m = Model::new("/bench/data".into(), SystemTime::now());
    m.size = (120, 40);
    update(
        &mut m,
        Msg::LogReset {
            path: Some("/bench/data/logs/worker-2026-11-25.log".into()),
            lines: (0..lines).map(line).collect(),
            reason: LogReset::Opened,
        },
    );
    // A search that matches a quarter of the lines, and a level filter.
    m.log.query = "queuedepth=3".into();
    m
}

/// Microseconds per frame and per appended line, `n` of each.
fn measure(lines: usize, n: usize) -> R<(Vec<f64>, Vec<f64>)> {
    let mut m = model(lines);
    let mut term = Terminal::new(TestBackend::new(120, 40)).map_err(|e| e.to_string())?;
    let mut frames = Vec::with_capacity(n);
    let mut appends = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        update(&mut m, Msg::LogLines(vec![line(lines + i)]));
        appends.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        term.draw(|f| claude_mem_top::ui::draw(f, &m))
            .map_err(|e| e.to_string())?;
        frames.push(t.elapsed().as_secs_f64() * 1e6);
    }
    Ok((frames, appends))
}

pub fn rows_frames(o: &Opts, _notes: &mut Vec<String>) -> R<Vec<Row>> {
    let n = o.pick(300, 10);
    let (small_f, small_a) = measure(200, n)?;
    let (big_f, big_a) = measure(20_000, n)?;
    Ok(vec![
        Row::new("12", "frame, 200 log lines, search on", "µs", Target::Info).with(small_f),
        Row::new(
            "12",
            "frame, 20,000 log lines, search on",
            "µs",
            Target::Info,
        )
        .with(big_f),
        Row::new(
            "12",
            "one new line, 200 log lines, search on",
            "µs",
            Target::Info,
        )
        .with(small_a),
        Row::new(
            "12",
            "one new line, 20,000 log lines, search on",
            "µs",
            Target::Info,
        )
        .with(big_a),
    ])
}
