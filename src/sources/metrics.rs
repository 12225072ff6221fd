//! CPU and memory of the worker and its children. Reads only the known PIDs each interval and
//! rescans for children every few seconds (a full process scan every second would cost more than
//! the whole idle dashboard).

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use super::send;
use crate::app::msg::{Msg, Sample};
use crate::procman::platform;

const RESCAN: Duration = Duration::from_secs(5);

pub fn run(interval: Duration, tx: Sender<Msg>, pids: Receiver<Option<i32>>) {
    let ticks = platform::clock_ticks() as f64;
    let mut worker: Option<i32> = None;
    let mut family: Vec<i32> = Vec::new();
    let mut last_scan = Instant::now() - RESCAN;
    let mut prev: Option<(Instant, u64)> = None;
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
        let Some(main) = platform::proc_stat(pid).filter(|s| !s.is_zombie()) else {
            prev = None;
            continue;
        };
        let mut cpu_ticks = main.utime + main.stime;
        let mut rss = platform::rss_bytes(&main);
        let mut threads = main.num_threads;
        let mut kids = 0;
        for k in &family {
            if let Some(s) = platform::proc_stat(*k).filter(|s| !s.is_zombie()) {
                cpu_ticks += s.utime + s.stime;
                rss += platform::rss_bytes(&s);
                threads += s.num_threads;
                kids += 1;
            }
        }
        let now = Instant::now();
        let cpu = prev.map(|(t, c)| {
            let dt = now.duration_since(t).as_secs_f64();
            if dt > 0.0 {
                (cpu_ticks.saturating_sub(c) as f64 / ticks) / dt * 100.0
            } else {
                0.0
            }
        });
        prev = Some((now, cpu_ticks));
        let sample = Sample {
            pid,
            cpu_percent: cpu,
            rss_bytes: rss,
            threads,
            children: kids,
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
