//! Multishot recv into the shard's provided-buffer ring: the kernel picks a buffer per completion,
//! so an idle connection holds no read buffer. The SQE names no memory of the connection.

use super::{user_data, Op};
use io_uring::{opcode, squeue, types};
use std::os::fd::RawFd;

/// Receive on connection `key`'s socket into buffers of group `group`.
pub(in crate::netring) fn multishot(fd: RawFd, group: u16, key: usize) -> squeue::Entry {
    opcode::RecvMulti::new(types::Fd(fd), group)
        .build()
        .user_data(user_data(Op::Recv, key))
}
