//! A provided-buffer ring (`IORING_REGISTER_PBUF_RING`): the kernel picks a buffer for each
//! multishot recv completion, so an idle connection holds no read buffer at all.
//!
//! Incremental mode (`IOU_PBUF_RING_INC`, Linux 6.12): a completion uses only as much of a buffer
//! as it received, and the next completion (of any connection) goes on where it stopped, so small
//! messages share a buffer instead of each taking a whole one. A completion flagged
//! `IORING_CQE_F_BUF_MORE` leaves its buffer with the kernel; the ring keeps each buffer's read
//! offset and gives the buffer back only on its last completion.
//!
//! The buffers are one raw allocation, never a Rust `Box` or slice as a whole: the kernel writes
//! into them while we hold the pointer, and a `&mut`/`Box` covering memory someone else mutates
//! is undefined behaviour. The only references made into it are the `&[u8]` of one buffer the
//! kernel has handed back and will not write until it is pushed again.

use io_uring::cqueue;
use io_uring::types::BufRingEntry;
use io_uring::IoUring;
use std::alloc::{self, Layout};
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

/// `IOU_PBUF_RING_INC` (io-uring 0.7 keeps its `sys` constants private).
const IOU_PBUF_RING_INC: u16 = 2;

/// Buffers shared by every connection of one shard.
pub struct BufRing {
    ring: *mut BufRingEntry,
    ring_bytes: usize,
    entries: u16,
    tail: u16,
    buf_size: usize,
    /// `entries * buf_size` bytes from `alloc::alloc_zeroed(layout)`, freed in `Drop`.
    bufs: NonNull<u8>,
    layout: Layout,
    bgid: u16,
    /// Incremental mode: bytes of each buffer already handed out (empty otherwise).
    offsets: Box<[u32]>,
}

impl BufRing {
    /// Map and register `entries` (a power of two) buffers of `buf_size` bytes as group `bgid`;
    /// in incremental mode if `incremental` and the kernel has it (else plain, with a log line:
    /// [`BufRing::incremental`] says which).
    ///
    /// # Safety
    /// `uring` must be dropped, or the group unregistered, before this value is dropped: the kernel
    /// writes into these buffers and reads the ring until then.
    pub unsafe fn new(
        uring: &IoUring,
        entries: u16,
        buf_size: usize,
        bgid: u16,
        incremental: bool,
    ) -> io::Result<Self> {
        if !entries.is_power_of_two() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "buffer ring entries must be a power of two",
            ));
        }
        if buf_size == 0 || buf_size > u32::MAX as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "buffer size must be between 1 byte and 4 GiB",
            ));
        }
        let layout = usize::from(entries)
            .checked_mul(buf_size)
            .and_then(|total| Layout::from_size_align(total, 64).ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "buffer ring too large"))?;
        // SAFETY: `layout` has a non-zero size (entries >= 1 as a power of two, buf_size >= 1).
        // Zeroed so that no byte of it is ever uninitialised, whatever the kernel writes.
        let Some(bufs) = NonNull::new(unsafe { alloc::alloc_zeroed(layout) }) else {
            return Err(io::Error::from(io::ErrorKind::OutOfMemory));
        };
        let ring_bytes = usize::from(entries) * std::mem::size_of::<BufRingEntry>();
        // SAFETY: anonymous private mapping; checked for MAP_FAILED below.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                ring_bytes,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            let err = io::Error::last_os_error();
            // SAFETY: `bufs` came from `alloc_zeroed(layout)` just above and nothing else has it.
            unsafe { alloc::dealloc(bufs.as_ptr(), layout) };
            return Err(err);
        }
        let mut this = BufRing {
            ring: ptr.cast(),
            ring_bytes,
            entries,
            tail: 0,
            buf_size,
            bufs,
            layout,
            bgid,
            offsets: Box::default(),
        };
        // From here `this` owns both the mapping and the buffers: an early return drops it, which
        // frees them (the kernel has not been told of either if registration fails).
        let ring_addr = this.ring as u64;
        let register = |flags| {
            // SAFETY: the mapping is page aligned (mmap) and holds `entries` entries; the caller keeps
            // it, and the buffers it will point at, alive for as long as the ring can use them.
            unsafe {
                uring
                    .submitter()
                    .register_buf_ring_with_flags(ring_addr, entries, bgid, flags)
            }
        };
        if incremental {
            match register(IOU_PBUF_RING_INC) {
                Ok(()) => this.offsets = vec![0; usize::from(entries)].into_boxed_slice(),
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) => {
                    tracing::info!(
                        "this kernel has no incremental provided buffers (Linux 6.12+): each \
                         receive takes a whole buffer"
                    );
                    register(0)?;
                }
                Err(e) => return Err(e),
            }
        } else {
            register(0)?;
        }
        for bid in 0..entries {
            this.push(bid);
        }
        this.publish();
        Ok(this)
    }

    /// The group id to name in recv SQEs.
    pub fn group(&self) -> u16 {
        self.bgid
    }

    /// The bytes the kernel wrote into buffer `bid` for a completion that named it: `len` bytes
    /// (at most what the buffer holds) from the buffer's start, or in incremental mode from where
    /// the buffer's previous completion ended. Call it only for a buffer a completion handed back and
    /// not yet pushed again; the slice borrows `self`, so it cannot outlive that (pushing takes
    /// `&mut self`).
    ///
    /// # Panics
    /// If `bid` is not a buffer of this ring (the kernel only names ours).
    pub fn get(&self, bid: u16, len: usize) -> &[u8] {
        assert!(bid < self.entries, "buffer id {bid} is not in this ring");
        let offset = self
            .offsets
            .get(usize::from(bid))
            .map_or(0, |&o| (o as usize).min(self.buf_size));
        let start = usize::from(bid) * self.buf_size + offset;
        // SAFETY: `bid < entries` and `offset <= buf_size`, so `start + (buf_size - offset)`
        // bytes lie inside the allocation. The kernel filled these bytes before posting the
        // completion that named them and does not write them again until the buffer is pushed
        // back, which needs `&mut self` and so ends this borrow (in incremental mode it writes
        // only past them meanwhile); no other reference into the allocation covers these bytes.
        unsafe {
            std::slice::from_raw_parts(
                self.bufs.as_ptr().add(start),
                len.min(self.buf_size - offset),
            )
        }
    }

    /// Whether the ring runs in incremental mode.
    pub fn incremental(&self) -> bool {
        !self.offsets.is_empty()
    }

    /// A completion that named buffer `bid` with `len` bytes (completion `flags`) has been read:
    /// the buffer goes back to the ring (true; visible after [`BufRing::publish`]) unless, in
    /// incremental mode, the kernel keeps filling it.
    pub fn consumed(&mut self, bid: u16, len: usize, flags: u32) -> bool {
        if let Some(offset) = self.offsets.get_mut(usize::from(bid)) {
            if cqueue::buffer_more(flags) {
                *offset = offset.saturating_add(u32::try_from(len).unwrap_or(u32::MAX));
                return false;
            }
            *offset = 0;
        }
        self.push(bid);
        true
    }

    /// Give buffer `bid` back (visible to the kernel after [`BufRing::publish`]).
    pub fn push(&mut self, bid: u16) {
        debug_assert!(bid < self.entries, "buffer id {bid} is not in this ring");
        let idx = usize::from(self.tail & (self.entries - 1));
        let addr = self.bufs.as_ptr() as u64 + (usize::from(bid) * self.buf_size) as u64;
        // SAFETY: `entries` is a power of two, so `idx < entries`: the entry lies inside the
        // mapping, which only this value writes (the kernel reads entries up to the published
        // tail and writes nothing but the head, which lives elsewhere).
        let entry = unsafe { &mut *self.ring.add(idx) };
        entry.set_addr(addr);
        entry.set_len(self.buf_size as u32);
        entry.set_bid(bid);
        self.tail = self.tail.wrapping_add(1);
    }

    /// Publish pushed buffers to the kernel.
    pub fn publish(&self) {
        // SAFETY: the tail field lives in the first entry of our mapping; the kernel reads it with
        // acquire semantics, so a release store orders the entry writes before it.
        unsafe {
            let tail = BufRingEntry::tail(self.ring) as *mut u16;
            AtomicU16::from_ptr(tail).store(self.tail, Ordering::Release);
        }
    }
}

impl Drop for BufRing {
    fn drop(&mut self) {
        // SAFETY: unmapping exactly what `new` mapped, once; the caller of `new` promised the ring
        // is gone (or the group unregistered), so the kernel no longer reads it.
        unsafe { libc::munmap(self.ring.cast(), self.ring_bytes) };
        // SAFETY: `bufs` came from `alloc_zeroed(self.layout)` and is freed once, here; for the
        // same reason the kernel no longer writes into it.
        unsafe { alloc::dealloc(self.bufs.as_ptr(), self.layout) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use io_uring::{cqueue, opcode, types};
    use std::io::Write;
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;

    /// Wait for the next completion of a multishot recv and return (buffer id, length).
    fn next_recv(ring: &mut IoUring) -> (u16, usize) {
        ring.submit_and_wait(1).expect("io_uring_enter");
        let cqe = ring.completion().next().expect("a completion");
        assert!(cqe.result() > 0, "recv failed: {}", cqe.result());
        assert!(
            cqueue::more(cqe.flags()),
            "multishot recv should stay armed"
        );
        let bid = cqueue::buffer_select(cqe.flags()).expect("a provided buffer");
        (bid, cqe.result() as usize)
    }

    /// Bytes sent on a socket come back through a multishot recv into the ring, each message in
    /// the buffer its completion names. Two messages land in two different buffers (the first is
    /// not given back in between), so a `get` that read the wrong buffer, or at the wrong offset,
    /// returns the other message or zeros.
    #[test]
    fn receives_into_the_buffer_the_completion_names() {
        let mut ring = IoUring::new(8).expect("io_uring");
        // SAFETY: `ring` is declared before `bufs`, so it is dropped first.
        let mut bufs = unsafe { BufRing::new(&ring, 4, 64, 7, false).expect("buffer ring") };
        let (mut tx, rx) = UnixStream::pair().expect("socketpair");
        let sqe = opcode::RecvMulti::new(types::Fd(rx.as_raw_fd()), bufs.group())
            .build()
            .user_data(1);
        // SAFETY: the recv writes only into the registered buffer ring, which outlives the ring.
        unsafe { ring.submission().push(&sqe).expect("queue space") };

        tx.write_all(b"first message").expect("send");
        let (bid1, len1) = next_recv(&mut ring);
        assert_eq!(bufs.get(bid1, len1), b"first message");

        tx.write_all(b"the second").expect("send");
        let (bid2, len2) = next_recv(&mut ring);
        assert_ne!(bid1, bid2, "the first buffer was not given back");
        assert_eq!(bufs.get(bid2, len2), b"the second");
        assert_eq!(bufs.get(bid1, len1), b"first message", "untouched");

        // Given back, buffers are used again.
        bufs.push(bid1);
        bufs.push(bid2);
        bufs.publish();
        for i in 0..6u8 {
            let msg = [b'a' + i; 40];
            tx.write_all(&msg).expect("send");
            let (bid, len) = next_recv(&mut ring);
            assert_eq!(bufs.get(bid, len), &msg[..]);
            bufs.push(bid);
            bufs.publish();
        }
    }

    /// Incremental mode: small messages of two connections fill one buffer one after another,
    /// each read at the offset where the previous one ended, and the buffer is not given back
    /// while the kernel keeps filling it. Reading every message from the buffer's start (the
    /// plain mode's rule) would return the first message again; giving the buffer back early
    /// would let the kernel hand out bytes still being read.
    #[test]
    fn incremental_buffers_are_shared_and_read_at_their_offset() {
        let mut ring = IoUring::new(8).expect("io_uring");
        // SAFETY: `ring` is declared before `bufs`, so it is dropped first.
        let mut bufs = unsafe { BufRing::new(&ring, 2, 256, 3, true).expect("buffer ring") };
        assert!(
            bufs.incremental(),
            "this kernel (6.12+) has incremental buffers"
        );
        let (mut tx1, rx1) = UnixStream::pair().expect("socketpair");
        let (mut tx2, rx2) = UnixStream::pair().expect("socketpair");
        for (rx, ud) in [(&rx1, 1), (&rx2, 2)] {
            let sqe = opcode::RecvMulti::new(types::Fd(rx.as_raw_fd()), bufs.group())
                .build()
                .user_data(ud);
            // SAFETY: the recv writes only into the registered buffer ring, which outlives it.
            unsafe { ring.submission().push(&sqe).expect("queue space") };
        }
        ring.submit().expect("submit");
        let mut seen = Vec::new();
        for (first, msg) in [
            (true, &b"alpha"[..]),
            (false, &b"bravo!"[..]),
            (true, &b"charlie"[..]),
        ] {
            let tx = if first { &mut tx1 } else { &mut tx2 };
            tx.write_all(msg).expect("send");
            ring.submit_and_wait(1).expect("io_uring_enter");
            let cqe = ring.completion().next().expect("a completion");
            let len = usize::try_from(cqe.result()).expect("received bytes");
            let bid = cqueue::buffer_select(cqe.flags()).expect("a provided buffer");
            assert_eq!(bufs.get(bid, len), msg);
            assert!(
                cqueue::buffer_more(cqe.flags()),
                "a 256-byte buffer has room after {len} bytes"
            );
            assert!(!bufs.consumed(bid, len, cqe.flags()), "still the kernel's");
            seen.push(bid);
        }
        assert!(
            seen.iter().all(|&b| b == seen[0]),
            "all three messages share one buffer: {seen:?}"
        );
    }

    #[test]
    fn rejects_bad_shapes() {
        let ring = IoUring::new(8).expect("io_uring");
        // SAFETY: entries that are not a power of two are refused before anything is registered.
        assert!(unsafe { BufRing::new(&ring, 3, 64, 0, false) }.is_err());
        // SAFETY: a zero buffer size is refused before anything is registered.
        assert!(unsafe { BufRing::new(&ring, 4, 0, 0, false) }.is_err());
    }
}
