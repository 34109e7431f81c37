//! Send a connection's pending bytes: `send` on a socket (no SIGPIPE), `write` on the output pipe.
//! One send per connection at a time; a short send is continued by the next.

use super::{on_sock, user_data, Op, Sock};
use io_uring::{opcode, squeue, types};
use std::os::fd::RawFd;

/// Send `buf` on socket `fd` for connection `key`.
///
/// The SQE points into `buf`: whoever pushes it must keep that memory alive and unmoved until the
/// completion is reaped.
pub(in crate::netring) fn send(sock: Sock, buf: &[u8], key: usize) -> squeue::Entry {
    on_sock!(sock, |t| opcode::Send::new(t, buf.as_ptr(), len(buf))
        .flags(libc::MSG_NOSIGNAL)
        .build())
    .user_data(user_data(Op::Send, key))
}

/// Write `buf` to pipe `fd` for connection `key`, at its current position. Same rule as [`send`].
pub(in crate::netring) fn write(fd: RawFd, buf: &[u8], key: usize) -> squeue::Entry {
    opcode::Write::new(types::Fd(fd), buf.as_ptr(), len(buf))
        .offset(u64::MAX)
        .build()
        .user_data(user_data(Op::Send, key))
}

fn len(buf: &[u8]) -> u32 {
    buf.len().min(u32::MAX as usize) as u32
}
