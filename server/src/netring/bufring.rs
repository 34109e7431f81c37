//! A provided-buffer ring (`IORING_REGISTER_PBUF_RING`): the kernel picks a buffer for each
//! multishot recv completion, so an idle connection holds no read buffer at all.

use io_uring::types::BufRingEntry;
use io_uring::IoUring;
use std::io;
use std::sync::atomic::{AtomicU16, Ordering};

/// Buffers shared by every connection of one shard.
pub struct BufRing {
    ring: *mut BufRingEntry,
    ring_bytes: usize,
    entries: u16,
    tail: u16,
    buf_size: usize,
    bufs: Box<[u8]>,
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
            return Err(io::Error::last_os_error());
        }
        let mut this = BufRing {
            ring: ptr.cast(),
            ring_bytes,
            entries,
            tail: 0,
            buf_size,
            bufs: vec![0u8; usize::from(entries) * buf_size].into_boxed_slice(),
            bgid,
        };
        // SAFETY: the mapping is page aligned and `entries` long; the caller keeps it alive for as
        // long as the ring can use it.
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

    /// The bytes the kernel wrote into buffer `bid`.
    pub fn get(&self, bid: u16, len: usize) -> &[u8] {
        let start = usize::from(bid) * self.buf_size;
        &self.bufs[start..start + len.min(self.buf_size)]
    }

    /// Give buffer `bid` back (visible to the kernel after [`BufRing::publish`]).
    pub fn push(&mut self, bid: u16) {
        let idx = usize::from(self.tail & (self.entries - 1));
        let addr = self.bufs.as_ptr() as u64 + (usize::from(bid) * self.buf_size) as u64;
        // SAFETY: idx < entries, inside the mapping.
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
        // SAFETY: unmapping exactly what `new` mapped.
        unsafe { libc::munmap(self.ring.cast(), self.ring_bytes) };
    }
}
