//! Open a pseudo-terminal pair: shared by the pty tests and the benchmark harness
//! (examples/bench/pty.rs includes this file by path).

use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};

/// A new terminal of `cols`×`rows`: (master, slave), both close-on-exec so processes spawned
/// meanwhile by other threads never inherit it (an inherited master would keep it from ever
/// hanging up). A child gets the slave through `Stdio`, which clears the flag on fds 0–2.
pub fn open_pty(cols: u16, rows: u16) -> std::io::Result<(File, OwnedFd)> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    let mut ws = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two fds; the pointers are valid for the call.
    let r = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::addr_of_mut!(ws),
        )
    };
    if r != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: fcntl on the fresh fds; then we take ownership of them, nobody else has them.
    unsafe {
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(slave, libc::F_SETFD, libc::FD_CLOEXEC);
        Ok((File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)))
    }
}
