//! Cancel an operation the kernel holds (`IORING_OP_ASYNC_CANCEL`): used for connects nobody waits
//! for anymore (the dial was given up, or the shard is stopping), which could otherwise wait for
//! the kernel's SYN retries (minutes), and for the multishot recv of a connection whose input is
//! paused (back-pressure). The cancelled operation completes with `-ECANCELED`; the cancel's own
//! completion carries nothing the driver needs.

use super::{user_data, Op};
use io_uring::{opcode, squeue};

/// Cancel the connect of pending dial `key`. Names no memory.
pub(in crate::netring) fn connect(key: usize) -> squeue::Entry {
    opcode::AsyncCancel::new(user_data(Op::Connect, key))
        .build()
        .user_data(user_data(Op::Cancel, key))
}

/// Cancel the multishot recv of connection `key` (its input is paused). Names no memory.
pub(in crate::netring) fn recv(key: usize) -> squeue::Entry {
    opcode::AsyncCancel::new(user_data(Op::Recv, key))
        .build()
        .user_data(user_data(Op::Cancel, key))
}
