//! CPU and memory of the worker and its children. Reads only the known PIDs each interval and
//! rescans for children every few seconds (a full process scan every second would cost more than
//! the whole idle dashboard).

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use super::send;
use crate::app::msg::{Msg, Sample, Tx};
use crate::platform;

const RESCAN: Duration = Duration::from_secs(5);

pub fn run(interval: Duration, tx: Tx, pids: Receiver<Option<i32>>) {
    let mut worker: Option<i32> = None;
    let mut family: Vec<i32> = Vec::new();
    let mut last_scan = Instant::now() - RESCAN;
    let mut prev: Option<(Instant, Duration)> = None;
    loop {
        match pids.recv_timeout(super::until_next(interval)) {
            Ok(p) => {
                if p != worker {
                    worker = p;
                    prev = None;
                    last_scan = Instant::now() - RESCAN;
                }
                continue_if_more(&pids, &mut worker);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return,
        }
        let Some(pid) = worker else {
            family.clear();
            continue;
        };
        if last_scan.elapsed() >= RESCAN {
            family = platform::descendants(pid);
            last_scan = Instant::now();
        }
        let Some(u) = platform::family_usage(pid, &family) else {
            prev = None;
            continue;
        };
        let now = Instant::now();
        let cpu = prev.map(|(t, c)| {
            let dt = now.duration_since(t).as_secs_f64();
            if dt > 0.0 {
                u.cpu.saturating_sub(c).as_secs_f64() / dt * 100.0
            } else {
                0.0
            }
        });
        prev = Some((now, u.cpu));
        let sample = Sample {
            pid,
            cpu_percent: cpu,
            rss_bytes: u.rss_bytes,
            threads: u.threads,
            children: u.children as _,
        };
        if !send(&tx, Msg::Metrics(sample)) {
            return;
        }
    }
}

fn continue_if_more(rx: &Receiver<Option<i32>>, worker: &mut Option<i32>) {
    while let Ok(p) = rx.try_recv() {
        *worker = p;
    }
}
