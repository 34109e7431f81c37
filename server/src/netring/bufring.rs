//! A provided-buffer ring (`IORING_REGISTER_PBUF_RING`): the kernel picks a buffer for each
//! multishot recv completion, so an idle connection holds no read buffer at all.
//!
//! The buffers are one raw allocation, never a Rust `Box` or slice as a whole: the kernel writes
//! into them while we hold the pointer, and a `&mut`/`Box` covering memory someone else mutates
//! is undefined behaviour. The only references made into it are the `&[u8]` of one buffer the
//! kernel has handed back and will not write until it is pushed again.

use io_uring::types::BufRingEntry;
use io_uring::IoUring;
use std::alloc::{self, Layout};
use std::io;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU16, Ordering};

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
}

impl BufRing {
    /// Map and register `entries` (a power of two) buffers of `buf_size` bytes as group `bgid`.
    ///
    /// # Safety
    /// `uring` must be dropped, or the group unregistered, before this value is dropped: the kernel
    /// writes into these buffers and reads the ring until then.
    pub unsafe fn new(
        uring: &IoUring,
        entries: u16,
        buf_size: usize,
        bgid: u16,
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
        };
        // From here `this` owns both the mapping and the buffers: an early return drops it, which
        // frees them (the kernel has not been told of either if registration fails).
        // SAFETY: the mapping is page aligned (mmap) and holds `entries` entries; the caller keeps
        // it, and the buffers it will point at, alive for as long as the ring can use them.
        unsafe {
            uring
                .submitter()
                .register_buf_ring_with_flags(this.ring as u64, entries, bgid, 0)?
        };
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

    /// The bytes the kernel wrote into buffer `bid`: the first `len` (at most the buffer size)
    /// of the buffer a completion named. Call it only for a buffer a completion handed back and
    /// not yet pushed again; the slice borrows `self`, so it cannot outlive that (pushing takes
    /// `&mut self`).
    ///
    /// # Panics
    /// If `bid` is not a buffer of this ring (the kernel only names ours).
    pub fn get(&self, bid: u16, len: usize) -> &[u8] {
        assert!(bid < self.entries, "buffer id {bid} is not in this ring");
        let start = usize::from(bid) * self.buf_size;
        // SAFETY: `bid < entries`, so `start + buf_size` bytes lie inside the allocation. The
        // kernel filled this buffer before posting the completion that named it and does not
        // write it again until it is pushed back, which needs `&mut self` and so ends this
        // borrow; no other reference into the allocation covers these bytes.
        unsafe { std::slice::from_raw_parts(self.bufs.as_ptr().add(start), len.min(self.buf_size)) }
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
        let mut bufs = unsafe { BufRing::new(&ring, 4, 64, 7).expect("buffer ring") };
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

    #[test]
    fn rejects_bad_shapes() {
        let ring = IoUring::new(8).expect("io_uring");
        // SAFETY: entries that are not a power of two are refused before anything is registered.
        assert!(unsafe { BufRing::new(&ring, 3, 64, 0) }.is_err());
        // SAFETY: a zero buffer size is refused before anything is registered.
        assert!(unsafe { BufRing::new(&ring, 4, 0, 0) }.is_err());
    }
}
