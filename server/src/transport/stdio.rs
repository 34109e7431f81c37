//! stdio: one session on stdin/stdout. stdout carries only MCP messages (logs go to stderr); the
//! server exits when stdin reaches EOF and the requests in flight are answered.

use std::os::fd::RawFd;

/// The fds of the stdio transport.
pub(crate) fn fds() -> (RawFd, RawFd) {
    (libc::STDIN_FILENO, libc::STDOUT_FILENO)
}
