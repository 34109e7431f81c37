//! Multishot recv into the shard's provided-buffer ring: the kernel picks a buffer per completion,
//! so an idle connection holds no read buffer. The SQE names no memory of the connection. A
//! non-zero `cap` ends the recv after that many bytes in all (Linux 6.17's multishot total cap,
//! `sqe->optlen`; older kernels refuse the SQE with `EINVAL`): it bounds what one connection can
//! post before a pause's cancel takes effect, and what one connection takes in a turn.

use super::{on_sock, user_data, Op, Sock};
use io_uring::{opcode, squeue};

/// Where `optlen` lies in the kernel's 64-byte SQE (the `file_index`/`optlen` union after
/// `personality`). io-uring 0.7 has no setter for it on `RecvMulti`.
const OPTLEN: std::ops::Range<usize> = 44..48;
const _: () = assert!(std::mem::size_of::<squeue::Entry>() == 64);

/// Receive on connection `key`'s socket into buffers of group `group`, at most `cap` bytes in all
/// (0: no cap).
pub(in crate::netring) fn multishot(sock: Sock, group: u16, key: usize, cap: u32) -> squeue::Entry {
    let sqe = on_sock!(sock, |t| opcode::RecvMulti::new(t, group).build())
        .user_data(user_data(Op::Recv, key));
    if cap == 0 {
        return sqe;
    }
    // SAFETY: `squeue::Entry` is `repr(C)` around the kernel's `io_uring_sqe`, 64 plain bytes
    // (size asserted above), so it round-trips through a byte array; `RecvMulti` leaves the
    // `optlen` bytes zero, and nothing else is changed.
    let mut raw: [u8; 64] = unsafe { std::mem::transmute(sqe) };
    raw[OPTLEN].copy_from_slice(&cap.to_ne_bytes());
    // SAFETY: as above: the same bytes with one plain integer field set.
    unsafe { std::mem::transmute::<[u8; 64], squeue::Entry>(raw) }
}
