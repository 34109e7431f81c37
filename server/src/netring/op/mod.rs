//! The io_uring operations of the net ring, one file each ([`accept`], [`recv`], [`read`],
//! [`send`], [`connect`], [`cancel`]): how each SQE is built and tagged. This module owns what they
//! share: the `user_data` encoding (operation tag and slab key), queueing an SQE ([`push`]), the
//! count of operations the kernel holds for one fd ([`InFlight`]), and entering the ring. It knows
//! nothing of connections' protocols, and decides nothing about when an operation is started.

pub(super) mod accept;
pub(super) mod cancel;
pub(super) mod close;
pub(super) mod connect;
pub(super) mod read;
pub(super) mod recv;
pub(super) mod send;

use io_uring::{squeue, IoUring};
use std::io;

/// `IORING_ENTER_GETEVENTS`: with DEFER_TASKRUN, completions are only posted when we ask.
const IORING_ENTER_GETEVENTS: u32 = 1;

/// What a completion finishes; the tag in the top byte of its `user_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Op {
    /// A multishot accept on a listener (key: listener index).
    Accept = 1,
    /// A multishot recv on a socket (key: connection).
    Recv = 2,
    /// A send on a socket or a write on the output pipe (key: connection).
    Send = 3,
    /// A read on the input pipe (key: connection).
    Read = 4,
    /// A connect on a dialed socket (key: pending dial).
    Connect = 5,
    /// The cancel of a connect (key: pending dial) or of a recv (key: connection); its
    /// completion is ignored.
    Cancel = 6,
    /// The shutdown of a direct descriptor (key: connection), counted in the connection's
    /// operations: its slot is closed only after the shutdown has run, or a shutdown still
    /// queued could hit the next socket the kernel puts in that slot.
    Shutdown = 7,
    /// The close of a direct descriptor (key: its slot); its completion is ignored.
    Close = 8,
}

/// What an operation on a connection names: a process fd, or a slot of the ring's table of
/// registered (direct) descriptors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sock {
    Fd(std::os::fd::RawFd),
    Fixed(u32),
}

/// Build `$body` with `$t` the `types::Fd` or `types::Fixed` that `$sock` names (io_uring's
/// builders are generic over the two).
macro_rules! on_sock {
    ($sock:expr, |$t:ident| $body:expr) => {
        match $sock {
            $crate::netring::op::Sock::Fd(fd) => {
                let $t = io_uring::types::Fd(fd);
                $body
            }
            $crate::netring::op::Sock::Fixed(slot) => {
                let $t = io_uring::types::Fixed(slot);
                $body
            }
        }
    };
}
pub(super) use on_sock;

impl Op {
    fn from_tag(tag: u64) -> Option<Op> {
        match tag {
            1 => Some(Op::Accept),
            2 => Some(Op::Recv),
            3 => Some(Op::Send),
            4 => Some(Op::Read),
            5 => Some(Op::Connect),
            6 => Some(Op::Cancel),
            7 => Some(Op::Shutdown),
            8 => Some(Op::Close),
            _ => None,
        }
    }
}

fn user_data(op: Op, key: usize) -> u64 {
    ((op as u64) << 56) | key as u64
}

/// The operation and key a completion's `user_data` names (`None` for a tag not ours).
pub(super) fn split(user_data: u64) -> (Option<Op>, usize) {
    (
        Op::from_tag(user_data >> 56),
        (user_data & 0xffff_ffff) as usize,
    )
}

/// Where SQEs go: the ring itself, or in tests a queue that fails on demand.
pub(super) trait Submit {
    /// Put `sqe` in the submission queue; false when the queue is full.
    ///
    /// # Safety
    /// Every buffer `sqe` points at must stay valid, and unmoved, until its completion is reaped.
    unsafe fn try_push(&mut self, sqe: &squeue::Entry) -> bool;

    /// Hand the queued SQEs to the kernel, making room.
    fn submit(&mut self) -> io::Result<usize>;
}

impl Submit for IoUring {
    unsafe fn try_push(&mut self, sqe: &squeue::Entry) -> bool {
        // SAFETY: the caller keeps every buffer `sqe` names valid until its completion, which is
        // the whole of `push`'s contract.
        unsafe { self.submission().push(sqe).is_ok() }
    }

    fn submit(&mut self) -> io::Result<usize> {
        IoUring::submit(self)
    }
}

/// Queue one SQE, submitting what is queued when the queue is full. False when it could not be
/// queued (the queue stayed full because submitting failed): the operation never reaches the
/// kernel, so no completion will ever come for it.
///
/// # Safety
/// Every buffer `sqe` points at must stay valid, and unmoved, until its completion is reaped.
pub(super) unsafe fn push<S: Submit>(ring: &mut S, sqe: &squeue::Entry) -> bool {
    loop {
        // SAFETY: forwarded from this function's contract.
        if unsafe { ring.try_push(sqe) } {
            return true;
        }
        if let Err(e) = ring.submit() {
            tracing::error!(error = %e, "io_uring submit failed");
            return false;
        }
    }
}

/// Operations the kernel holds for one fd (a recv or read, a send, a connect): the fd may be
/// closed, and its buffers freed, only when this is zero. Only [`InFlight::start`] counts one up,
/// and only when the SQE really was queued, so a count never waits for a completion that cannot
/// come.
#[derive(Debug, Default)]
pub(super) struct InFlight(u32);

impl InFlight {
    /// Queue `sqe` and count it if it was queued. False when it was not (nothing counted).
    ///
    /// # Safety
    /// Every buffer `sqe` points at must stay valid, and unmoved, until its completion is reaped.
    pub(super) unsafe fn start<S: Submit>(&mut self, ring: &mut S, sqe: &squeue::Entry) -> bool {
        // SAFETY: forwarded from this function's contract.
        let queued = unsafe { push(ring, sqe) };
        if queued {
            self.0 += 1;
        }
        queued
    }

    /// One counted operation completed for good (its last completion was reaped).
    pub(super) fn finish(&mut self) {
        debug_assert!(self.0 > 0, "a completion for an operation never counted");
        self.0 = self.0.saturating_sub(1);
    }

    /// Nothing in flight: the fd may be closed.
    pub(super) fn is_idle(&self) -> bool {
        self.0 == 0
    }
}

/// Whether an `io_uring_enter` would do anything: SQEs to submit, or completions the kernel holds
/// as task work (`IORING_SQ_TASKRUN`, with `IORING_SETUP_TASKRUN_FLAG`).
pub(super) fn has_work(ring: &mut IoUring) -> bool {
    let sq = ring.submission();
    !sq.is_empty() || sq.taskrun()
}

/// With a polling thread: whether a system call is needed, because SQEs wait for a thread that
/// has gone to sleep, or completions wait in an overflow list. (`IoUring::submit` then enters only
/// if the kernel flags one of these.)
pub(super) fn sqpoll_has_work(ring: &mut IoUring) -> bool {
    let sq = ring.submission();
    !sq.is_empty() || sq.cq_overflow()
}

/// Submit queued SQEs and let the kernel post completions (needed with DEFER_TASKRUN). Never
/// blocks.
pub(super) fn enter(ring: &mut IoUring) -> io::Result<()> {
    let to_submit = ring.submission().len() as u32;
    // SAFETY: no argument (sigset, timeout) is passed, so the kernel reads no memory of ours;
    // GETEVENTS with min_complete 0 does not wait.
    match unsafe {
        ring.submitter()
            .enter::<libc::sigset_t>(to_submit, 0, IORING_ENTER_GETEVENTS, None)
    } {
        Ok(_) => Ok(()),
        Err(e)
            if e.raw_os_error() == Some(libc::EINTR) || e.raw_os_error() == Some(libc::EBUSY) =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use io_uring::opcode;

    /// A submission queue that is full and whose `io_uring_enter` fails (EBUSY with a completion
    /// queue in overflow, say): the case where an SQE cannot be queued at all.
    struct Jammed {
        submits: usize,
    }

    impl Submit for Jammed {
        unsafe fn try_push(&mut self, _sqe: &squeue::Entry) -> bool {
            false
        }

        fn submit(&mut self) -> io::Result<usize> {
            self.submits += 1;
            Err(io::Error::from_raw_os_error(libc::EBUSY))
        }
    }

    /// Accepts every SQE.
    #[derive(Default)]
    struct Open {
        queued: usize,
    }

    impl Submit for Open {
        unsafe fn try_push(&mut self, _sqe: &squeue::Entry) -> bool {
            self.queued += 1;
            true
        }

        fn submit(&mut self) -> io::Result<usize> {
            Ok(0)
        }
    }

    fn nop() -> squeue::Entry {
        opcode::Nop::new().build()
    }

    /// The leak this type exists for: the driver used to count an operation (`ops += 1`) and then
    /// push its SQE, and a push that failed was only logged. The count then waited for a
    /// completion the kernel never got, never came back to zero, and the connection's fd was never
    /// closed. Counting through `start`, a failed push leaves the count at zero.
    #[test]
    fn a_failed_push_is_not_counted() {
        let mut ring = Jammed { submits: 0 };
        let mut ops = InFlight::default();
        // SAFETY: the NOP names no buffer.
        let queued = unsafe { ops.start(&mut ring, &nop()) };
        assert!(!queued, "a jammed queue takes nothing");
        assert_eq!(
            ring.submits, 1,
            "one submit is tried to make room, then it gives up"
        );
        assert!(
            ops.is_idle(),
            "an operation the kernel never got must not be waited for"
        );
    }

    #[test]
    fn a_queued_push_is_counted_until_it_completes() {
        let mut ring = Open::default();
        let mut ops = InFlight::default();
        // SAFETY: a NOP names no buffer.
        assert!(unsafe { ops.start(&mut ring, &nop()) });
        // SAFETY: a NOP names no buffer.
        assert!(unsafe { ops.start(&mut ring, &nop()) });
        assert_eq!(ring.queued, 2);
        ops.finish();
        assert!(!ops.is_idle());
        ops.finish();
        assert!(ops.is_idle());
    }

    /// The same on a real ring that genuinely refuses: a single-issuer ring (as the driver's) with
    /// a full submission queue, driven from a thread that is not its issuer, so `io_uring_enter`
    /// fails (EEXIST) and the SQE cannot be queued. Counting before pushing, as the driver did,
    /// would leave one operation counted forever here.
    #[test]
    fn a_real_ring_that_cannot_submit_counts_nothing() {
        let mut ring = IoUring::builder()
            .setup_single_issuer()
            .build(2)
            .expect("io_uring");
        while {
            // SAFETY: a NOP names no buffer.
            unsafe { ring.submission().push(&nop()).is_ok() }
        } {}
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut ops = InFlight::default();
                // SAFETY: a NOP names no buffer.
                let queued = unsafe { ops.start(&mut ring, &nop()) };
                assert!(
                    !queued,
                    "the full queue of a ring we may not submit to takes nothing"
                );
                assert!(
                    ops.is_idle(),
                    "an operation the kernel never got must not be waited for"
                );
            });
        });
    }

    #[test]
    fn user_data_round_trips() {
        for op in [
            Op::Accept,
            Op::Recv,
            Op::Send,
            Op::Read,
            Op::Connect,
            Op::Cancel,
        ] {
            assert_eq!(split(user_data(op, 12345)), (Some(op), 12345));
        }
        assert_eq!(split(0).0, None);
    }
}
