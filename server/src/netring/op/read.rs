//! Read from the input pipe (stdio): pipes take no provided buffers, so each read names the
//! connection's own buffer, which must stay put until the completion.

use super::{user_data, Op};
use io_uring::{opcode, squeue, types};
use std::os::fd::RawFd;

/// Read into `buf` for connection `key`, at the file's current position (`offset` -1).
///
/// The SQE points into `buf`: whoever pushes it must keep that memory alive and unmoved until the
/// completion is reaped.
pub(in crate::netring) fn read(fd: RawFd, buf: &mut [u8], key: usize) -> squeue::Entry {
    opcode::Read::new(
        types::Fd(fd),
        buf.as_mut_ptr(),
        buf.len().min(u32::MAX as usize) as u32,
    )
    .offset(u64::MAX)
    .build()
    .user_data(user_data(Op::Read, key))
}
