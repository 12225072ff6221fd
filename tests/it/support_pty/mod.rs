//! A real pseudo-terminal for black-box tests of the dashboard: spawn the binary on the slave
//! side, read the master into a vt100 screen, type keys, wait for what a user would see.

#![allow(dead_code)]

pub mod open;

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How often a deadline-bounded wait looks again.
pub const POLL: Duration = Duration::from_millis(20);

pub struct Pty {
    pub child: Child,
    master: Option<File>,
    pub screen: Arc<Mutex<vt100::Parser>>,
    pub raw: Arc<Mutex<Vec<u8>>>,
    closing: Arc<std::sync::atomic::AtomicBool>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Pty {
    /// Spawn `cmd` on a new pseudo-terminal of `cols`×`rows`.
    pub fn spawn(mut cmd: Command, cols: u16, rows: u16) -> Pty {
        let (master_file, slave_fd) = open::open_pty(cols, rows).expect("openpty");
        let s_in = slave_fd.try_clone().expect("dup");
        let s_out = slave_fd.try_clone().expect("dup");
        cmd.stdin(Stdio::from(s_in))
            .stdout(Stdio::from(s_out))
            .stderr(Stdio::from(slave_fd));
        if !cmd.get_envs().any(|(k, _)| k == "TERM") {
            cmd.env("TERM", "xterm-256color");
        }
        // SAFETY: setsid and ioctl are async-signal-safe.
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY as _, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().expect("spawn on pty");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(
            std::num::NonZeroU16::new(rows).expect("rows > 0"),
            std::num::NonZeroU16::new(cols).expect("cols > 0"),
            0,
        )));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master_file.try_clone().expect("clone master");
        let mut answer = master_file.try_clone().expect("clone master");
        let (s2, r2) = (screen.clone(), raw.clone());
        let closing = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let closing2 = closing.clone();
        let reader_thread = std::thread::spawn(move || {
            use std::os::fd::AsRawFd;
            let mut buf = [0u8; 65536];
            loop {
                // Poll with a short timeout so `hang_up` can make this thread drop its handles.
                let mut pfd = libc::pollfd {
                    fd: reader.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: pfd is valid for the call.
                let r = unsafe { libc::poll(&mut pfd, 1, 50) };
                if closing2.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                if r <= 0 {
                    continue;
                }
                match reader.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        let mut pos = (0, 0);
                        if let Ok(mut p) = s2.lock() {
                            p.process(&buf[..n]);
                            pos = p.screen().cursor_position();
                        }
                        // Answer cursor-position queries like a real terminal does.
                        if buf[..n].windows(4).any(|w| w == b"\x1b[6n") {
                            let _ = write!(answer, "\x1b[{};{}R", pos.0 + 1, pos.1 + 1);
                            let _ = answer.flush();
                        }
                        if let Ok(mut r) = r2.lock() {
                            r.extend_from_slice(&buf[..n]);
                        }
                    }
                }
            }
        });
        Pty {
            child,
            master: Some(master_file),
            screen,
            raw,
            closing,
            reader: Some(reader_thread),
        }
    }

    pub fn master_fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        self.master.as_ref().map_or(-1, |m| m.as_raw_fd())
    }

    /// Resize the terminal (and our screen model of it).
    pub fn resize(&self, cols: u16, rows: u16) {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on the master fd we own.
        unsafe { libc::ioctl(self.master_fd(), libc::TIOCSWINSZ, &ws) };
        if let Ok(mut p) = self.screen.lock() {
            if let (Some(r), Some(c)) = (
                std::num::NonZeroU16::new(rows),
                std::num::NonZeroU16::new(cols),
            ) {
                p.screen_mut().set_size(r, c);
            }
        }
    }

    pub fn contents(&self) -> String {
        self.screen
            .lock()
            .map(|p| p.screen().contents())
            .unwrap_or_default()
    }

    pub fn send(&mut self, bytes: &[u8]) {
        let m = self.master.as_mut().expect("terminal still open");
        m.write_all(bytes).expect("write to pty");
        m.flush().expect("flush pty");
    }

    /// Close our side of the terminal, as when a terminal window is closed: the kernel sends
    /// SIGHUP to the program and its terminal reads and writes fail from then on.
    pub fn hang_up(&mut self) {
        self.closing
            .store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.master = None;
    }

    /// Wait until the screen satisfies `cond`, or panic with the screen after `timeout`.
    pub fn wait_for(&self, what: &str, timeout: Duration, cond: impl Fn(&str) -> bool) -> String {
        let t0 = Instant::now();
        loop {
            let s = self.contents();
            if cond(&s) {
                return s;
            }
            if t0.elapsed() > timeout {
                panic!("timed out after {timeout:?} waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(POLL);
        }
    }

    /// Wait for the process to exit; returns its status.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let t0 = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().expect("try_wait") {
                // What it wrote last may still be in the pty: the reader ends when the last
                // handle on the other side is gone (bounded: a process it left may keep one).
                let drained = Instant::now() + Duration::from_secs(2);
                while self.reader.as_ref().is_some_and(|r| !r.is_finished())
                    && Instant::now() < drained
                {
                    std::thread::sleep(POLL);
                }
                return st;
            }
            if t0.elapsed() > timeout {
                let _ = self.child.kill();
                panic!(
                    "dashboard did not exit within {timeout:?}; screen:\n{}",
                    self.contents()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// After exit: the terminal left the alternate screen and shows the cursor.
    pub fn restored(&self) -> bool {
        self.screen
            .lock()
            .map(|p| !p.screen().alternate_screen() && !p.screen().hide_cursor())
            .unwrap_or(false)
    }

    pub fn raw_text(&self) -> String {
        self.raw
            .lock()
            .map(|r| String::from_utf8_lossy(&r).into_owned())
            .unwrap_or_default()
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
