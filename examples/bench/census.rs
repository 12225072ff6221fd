//! Row 10: the census's cost with 1,000 extra processes on the machine: `ps`, and the idle
//! dashboard (which takes a census every 5 s); plus `status` against a wedged listener.
//!
//! The extra processes are `sleep 600`, children of the bench, killed and reaped at the end.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::probe::ms;
use crate::sandbox::Env;
use crate::table::Target::{AtMost, Info};
use crate::table::{median, Row};
use crate::{Opts, R};

/// Children that are killed and reaped on drop, however the section ends.
struct Crowd(Vec<Child>);

impl Drop for Crowd {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn crowd(n: usize) -> R<Crowd> {
    let mut kids = Crowd(Vec::with_capacity(n));
    for _ in 0..n {
        let c = Command::new("sleep")
            .arg("600")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn sleep: {e}"))?;
        kids.0.push(c);
    }
    Ok(kids)
}

pub fn rows_census(o: &Opts, notes: &mut Vec<String>) -> R<Vec<Row>> {
    let extra = o.pick(1000, 50);
    let _crowd = crowd(extra)?;
    let total = claude_mem_top::platform::command_lines().len();
    // A worker with its three helpers, so the census has something to tie.
    let env = Env::new(&o.bin, "--log-rate 0 --spawn-helpers")?;
    env.start()?;
    env.run_ok(&["ps"])?;
    let n = o.pick(30, 3);
    let mut ps = Vec::with_capacity(n);
    for _ in 0..n {
        ps.push(ms(env.run_ok(&["ps"])?));
    }
    let mut ps_json = Vec::with_capacity(n);
    for _ in 0..n {
        ps_json.push(ms(env.run_ok(&["ps", "--json"])?));
    }
    env.stop()?;

    // The idle dashboard while the crowd is there.
    let secs = o.pick(30, 2);
    let idle = crate::dashboard::idle_run(o, "--log-rate 0 --spawn-helpers", secs)?;

    // `status` against a listener that accepts and never answers.
    let wedged = Env::new(&o.bin, "--log-rate 0")?;
    let mut w = Command::new(&o.bin)
        .args(["stand-in-worker", "--wedged", "--log-rate", "0"])
        .env("CLAUDE_MEM_WORKER_PORT", wedged.spec.port.to_string())
        .env("CLAUDE_MEM_DATA_DIR", wedged.data())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("spawn the wedged stand-in: {e}"))?;
    let up = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", wedged.spec.port)).is_err() {
        if up.elapsed() > Duration::from_secs(10) {
            let _ = w.kill();
            let _ = w.wait();
            return Err("the wedged stand-in never listened".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut st = Vec::new();
    for _ in 0..o.pick(5, 1) {
        let (d, out) = wedged.run(&["status"])?;
        if out.status.code() != Some(150) {
            let _ = w.kill();
            let _ = w.wait();
            return Err(format!(
                "status against a wedged listener exited {:?}",
                out.status.code()
            ));
        }
        st.push(ms(d));
    }
    let _ = w.kill();
    let _ = w.wait();

    notes.push(format!(
        "10: {extra} extra `sleep` processes ({total} with a command line on the machine); {n} runs of `ps` and of `ps --json` (median {:.1} / {:.1} ms) with a worker and its 3 helpers; the idle dashboard over {secs} s meanwhile: mean CPU {:.3} %; `status` against a wedged listener exits 150 in {:.0} ms (median; the probe timeout is 1 s)",
        median(&ps),
        median(&ps_json),
        idle.mean_cpu,
        median(&st),
    ));
    Ok(vec![
        Row::new(
            "10",
            format!("`ps`, {extra} extra processes"),
            "ms",
            AtMost(20.0),
        )
        .with(ps),
        Row::new(
            "10",
            format!("`ps --json`, {extra} extra processes"),
            "ms",
            Info,
        )
        .with(ps_json),
        Row::new(
            "10",
            format!("dashboard idle: CPU over {secs} s, {extra} extra processes"),
            "%",
            AtMost(0.3),
        )
        .with(idle.cpu)
        .judged_on(idle.mean_cpu, "mean"),
        Row::new("10", "`status`, wedged listener", "ms", AtMost(1500.0)).with(st),
    ])
}
