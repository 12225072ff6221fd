//! A real pseudo-terminal read into a vt100 screen; waiters are checked on every chunk read, so a
//! "visible on screen" time is the moment the bytes arrived, not the next poll.
//!
//! Unix only (bench.rs compiles this module under `cfg(unix)`): it needs openpty, a new session
//! (setsid) and the slave as controlling terminal (TIOCSCTTY) for the dashboard, none of which
//! Windows has; its pseudo-console (ConPTY) is a different API this harness does not drive.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::probe::ms;
use crate::sandbox::{track_dashboard, untrack_dashboard};
use crate::R;

#[path = "../../tests/it/support_pty/open.rs"]
mod open;
use open::open_pty;

type Pred = Box<dyn Fn(&str) -> bool + Send>;

struct Screen {
    parser: vt100::Parser,
    waiters: Vec<(Pred, Sender<Instant>)>,
    /// Frames drawn: ratatui hides the cursor (`ESC [ ? 25 l`) once per `draw`.
    frames: u64,
    /// The last bytes of the previous read, so a sequence split across reads is counted.
    tail: Vec<u8>,
}

/// ratatui's per-frame cursor hide.
const FRAME_MARK: &[u8] = b"\x1b[?25l";

pub struct Pty {
    master: File,
    slave: Option<OwnedFd>,
    screen: Arc<Mutex<Screen>>,
    child: Option<Child>,
}

impl Pty {
    pub fn open(cols: u16, rows: u16) -> R<Pty> {
        let (master, slave) = open_pty(cols, rows).map_err(|e| format!("openpty: {e}"))?;
        let nz = |v: u16| std::num::NonZeroU16::new(v).ok_or("zero terminal size");
        let screen = Arc::new(Mutex::new(Screen {
            parser: vt100::Parser::new(nz(rows)?, nz(cols)?, 0),
            waiters: Vec::new(),
            frames: 0,
            tail: Vec::new(),
        }));
        let mut reader = master.try_clone().map_err(|e| format!("dup: {e}"))?;
        let mut answer = master.try_clone().map_err(|e| format!("dup: {e}"))?;
        let sc = screen.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 1 << 16];
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                };
                let now = Instant::now();
                let Ok(mut s) = sc.lock() else { return };
                s.parser.process(&buf[..n]);
                let mut joined = std::mem::take(&mut s.tail);
                joined.extend_from_slice(&buf[..n]);
                s.frames += joined
                    .windows(FRAME_MARK.len())
                    .filter(|w| *w == FRAME_MARK)
                    .count() as u64;
                let keep = joined.len().saturating_sub(FRAME_MARK.len() - 1);
                s.tail = joined.split_off(keep);
                // Answer the cursor-position query ratatui sends at startup, like a terminal.
                if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
                    let (row, col) = s.parser.screen().cursor_position();
                    let _ = write!(answer, "\x1b[{};{}R", row + 1, col + 1);
                    let _ = answer.flush();
                }
                if !s.waiters.is_empty() {
                    let text = s.parser.screen().contents();
                    s.waiters.retain(|(pred, tx)| {
                        if pred(&text) {
                            let _ = tx.send(now);
                            false
                        } else {
                            true
                        }
                    });
                }
            }
        });
        Ok(Pty {
            master,
            slave: Some(slave),
            screen,
            child: None,
        })
    }

    /// Frames the program has drawn so far (see [`FRAME_MARK`]).
    pub fn frames(&self) -> u64 {
        self.screen.lock().map_or(0, |s| s.frames)
    }

    /// Start `cmd` on the terminal's slave side; returns the instant just before the spawn.
    pub fn spawn(&mut self, mut cmd: Command) -> R<Instant> {
        let slave = self.slave.take().ok_or("pty already used")?;
        let dup = |f: &OwnedFd| f.try_clone().map_err(|e| format!("dup: {e}"));
        cmd.stdin(Stdio::from(dup(&slave)?))
            .stdout(Stdio::from(dup(&slave)?))
            .stderr(Stdio::from(slave));
        // The dashboard leads a session of its own with the pty as its controlling terminal, as
        // in a real terminal (so it gets SIGHUP / SIGWINCH from it).
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY as _, 0);
                Ok(())
            });
        }
        let t0 = Instant::now();
        let child = cmd.spawn().map_err(|e| format!("spawn dashboard: {e}"))?;
        track_dashboard(child.id());
        self.child = Some(child);
        Ok(t0)
    }

    pub fn pid(&self) -> R<i32> {
        self.child
            .as_ref()
            .map(|c| c.id() as i32)
            .ok_or_else(|| "no dashboard".to_string())
    }

    /// Be told (with the arrival time of the bytes) when the screen satisfies `pred`.
    pub fn arm(&self, pred: impl Fn(&str) -> bool + Send + 'static) -> Receiver<Instant> {
        let (tx, rx) = channel();
        if let Ok(mut s) = self.screen.lock() {
            if pred(&s.parser.screen().contents()) {
                let _ = tx.send(Instant::now());
            } else {
                s.waiters.push((Box::new(pred), tx));
            }
        }
        rx
    }

    pub fn wait(&self, rx: &Receiver<Instant>, what: &str, timeout: Duration) -> R<Instant> {
        rx.recv_timeout(timeout).map_err(|_| {
            format!(
                "timed out after {timeout:?} waiting for {what}; screen:\n{}",
                self.contents()
            )
        })
    }

    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool + Send + 'static,
    ) -> R<Instant> {
        let rx = self.arm(pred);
        self.wait(&rx, what, timeout)
    }

    /// Milliseconds from just before `act` to the arrival of the bytes that make the screen
    /// satisfy `pred` (armed before `act`).
    pub fn time_until(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool + Send + 'static,
        act: impl FnOnce() -> R<()>,
    ) -> R<f64> {
        let rx = self.arm(pred);
        let t0 = Instant::now();
        act()?;
        let seen = self.wait(&rx, what, timeout)?;
        Ok(ms(seen.duration_since(t0)))
    }

    fn contents(&self) -> String {
        self.screen
            .lock()
            .map(|s| s.parser.screen().contents())
            .unwrap_or_default()
    }

    /// `q`, then wait for the exit; SIGKILL (our own child) if it does not exit in 5 s.
    pub fn quit(&mut self) -> R<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = self.master.write_all(b"q");
        let _ = self.master.flush();
        let t0 = Instant::now();
        let res = loop {
            match child.try_wait() {
                Ok(Some(st)) if st.success() => break Ok(()),
                Ok(Some(st)) => break Err(format!("dashboard exited {st}")),
                Ok(None) if t0.elapsed() > Duration::from_secs(5) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break Err("dashboard did not quit on q within 5 s".to_string());
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(10)),
                Err(e) => break Err(format!("wait: {e}")),
            }
        };
        untrack_dashboard(child.id());
        res
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
            untrack_dashboard(c.id());
        }
    }
}

pub fn header_has(label: &'static str) -> impl Fn(&str) -> bool + Send + 'static {
    move |s: &str| s.lines().next().is_some_and(|h| h.contains(label))
}
