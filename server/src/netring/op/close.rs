//! Shutdown and close of a direct descriptor, which has no process fd to call `shutdown(2)` or
//! `close(2)` on: both go through the ring. A shutdown is one of its connection's operations
//! (the close waits for it); a close's completion is ignored (the connection is gone by then).

use super::{on_sock, user_data, Op, Sock};
use io_uring::{opcode, squeue};

pub(in crate::netring) fn shutdown(slot: u32, how: libc::c_int, key: usize) -> squeue::Entry {
    on_sock!(Sock::Fixed(slot), |t| opcode::Shutdown::new(t, how).build())
        .user_data(user_data(Op::Shutdown, key))
}

pub(in crate::netring) fn close(slot: u32) -> squeue::Entry {
    opcode::Close::new(io_uring::types::Fixed(slot))
        .build()
        .user_data(user_data(Op::Close, slot as usize))
}
