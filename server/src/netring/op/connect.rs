//! Connect a socket to a peer (`IORING_OP_CONNECT`), for the connections a shard dials out. The
//! socket is non-blocking (made by `sys::client_socket`): the kernel starts the handshake, waits
//! for it without holding a thread, and completes with 0 or the error (`-ECONNREFUSED`, say).
//! The SQE names the peer's address, which the caller owns.

use super::{user_data, Op};
use io_uring::{opcode, squeue, types};
use socket2::SockAddr;
use std::os::fd::RawFd;

/// Connect socket `fd` to `addr`, for pending dial `key`.
///
/// The SQE points at `addr`: whoever pushes it must keep that memory alive and unmoved until the
/// completion is reaped.
pub(in crate::netring) fn connect(fd: RawFd, addr: &SockAddr, key: usize) -> squeue::Entry {
    opcode::Connect::new(types::Fd(fd), addr.as_ptr().cast(), addr.len())
        .build()
        .user_data(user_data(Op::Connect, key))
}
