//! Multishot accept: one SQE per listener keeps producing a completion per new connection until
//! the kernel ends it (an error, a cancelled or closed listener, a completion queue overflow).

use super::{user_data, Op};
use io_uring::{opcode, squeue, types};
use std::os::fd::{AsRawFd, BorrowedFd};

/// Accept on listener number `listener`; new fds are close-on-exec.
pub(in crate::netring) fn multishot(
    fd: BorrowedFd<'_>,
    listener: usize,
    direct: bool,
) -> squeue::Entry {
    // A direct descriptor goes into a free slot of the ring's table (the completion names it)
    // and into no process fd table, so it needs no close-on-exec.
    let flags = if direct { 0 } else { libc::SOCK_CLOEXEC };
    opcode::AcceptMulti::new(types::Fd(fd.as_raw_fd()))
        .allocate_file_index(direct)
        .flags(flags)
        .build()
        .user_data(user_data(Op::Accept, listener))
}
