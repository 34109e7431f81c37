//! Multishot accept: one SQE per listener keeps producing a completion per new connection until
//! the kernel ends it (an error, a cancelled or closed listener, a completion queue overflow).

use super::{user_data, Op};
use io_uring::{opcode, squeue, types};
use std::os::fd::{AsRawFd, BorrowedFd};

/// Accept on listener number `listener`; new fds are close-on-exec.
pub(in crate::netring) fn multishot(fd: BorrowedFd<'_>, listener: usize) -> squeue::Entry {
    opcode::AcceptMulti::new(types::Fd(fd.as_raw_fd()))
        .flags(libc::SOCK_CLOEXEC)
        .build()
        .user_data(user_data(Op::Accept, listener))
}
