//! [`Outbox`]: the bytes waiting to be sent on one connection, and [`ShardSignal`], the shard's list
//! of outboxes with bytes in them plus the doorbell that wakes a sleeping net loop.
//!
//! Handlers write here from any task on the shard; only the net ring driver takes bytes out. Long
//! before a connection's output reaches the outbox's byte limit, the driver stops reading its
//! requests (back-pressure), so answers alone stay under it; what can still pass it is output no
//! request asked for (notifications to a client that does not read). Such an outbox is closed, and
//! the driver drops the connection with a logged reason. Bytes only: what they encode (JSON lines, HTTP) is the
//! business of the protocol above, which must not reach the socket any other way.

use super::sys::EventFd;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

/// Names a connection inside its shard's slab: the key plus a generation, so that a late write
/// for a closed connection never lands on the connection that reused its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnRef {
    /// Slab key.
    pub key: u32,
    /// Generation of the slot when the connection was opened.
    pub gen: u32,
}

/// The shard's dirty list and doorbell.
pub struct ShardSignal {
    dirty: RefCell<Vec<ConnRef>>,
    sleeping: Cell<bool>,
    wake: Arc<EventFd>,
}

impl ShardSignal {
    /// A signal that rings `wake` when the net loop sleeps.
    pub fn new(wake: Arc<EventFd>) -> Self {
        ShardSignal {
            dirty: RefCell::new(Vec::new()),
            sleeping: Cell::new(false),
            wake,
        }
    }

    /// The eventfd the net loop sleeps on.
    pub(super) fn doorbell(&self) -> &EventFd {
        &self.wake
    }

    fn mark(&self, conn: ConnRef) {
        self.dirty.borrow_mut().push(conn);
        self.ring();
    }

    /// Wake the net loop if it sleeps.
    pub fn ring(&self) {
        if self.sleeping.replace(false) {
            if let Err(e) = self.wake.signal() {
                tracing::warn!(error = %e, "eventfd doorbell failed");
            }
        }
    }

    /// The driver is about to sleep: from now on a mark rings the doorbell.
    pub(super) fn set_sleeping(&self, sleeping: bool) {
        self.sleeping.set(sleeping);
    }

    pub(super) fn has_dirty(&self) -> bool {
        !self.dirty.borrow().is_empty()
    }

    pub(super) fn take_dirty(&self, into: &mut Vec<ConnRef>) {
        std::mem::swap(&mut *self.dirty.borrow_mut(), into);
    }
}

/// Bytes queued for one connection.
pub(crate) struct Outbox {
    buf: RefCell<Vec<u8>>,
    queued: Cell<bool>,
    closed: Cell<bool>,
    overflowed: Cell<bool>,
    conn: ConnRef,
    signal: Rc<ShardSignal>,
    max_bytes: usize,
}

impl Outbox {
    /// An empty outbox for `conn` holding at most `max_bytes`.
    pub(crate) fn new(conn: ConnRef, signal: Rc<ShardSignal>, max_bytes: usize) -> Self {
        Outbox {
            buf: RefCell::new(Vec::new()),
            queued: Cell::new(false),
            closed: Cell::new(false),
            overflowed: Cell::new(false),
            conn,
            signal,
            max_bytes,
        }
    }

    /// Append one newline-delimited message (the writer appends its JSON; the newline is added here).
    pub(crate) fn send_line(&self, write: impl FnOnce(&mut Vec<u8>)) {
        self.send_raw(|buf| {
            write(buf);
            buf.push(b'\n');
        });
    }

    /// Append bytes as they are (HTTP framing).
    pub(crate) fn send_raw(&self, write: impl FnOnce(&mut Vec<u8>)) {
        if self.closed.get() {
            return;
        }
        let mut buf = self.buf.borrow_mut();
        write(&mut buf);
        let overflowed = buf.len() > self.max_bytes;
        if overflowed {
            buf.clear();
            self.overflowed.set(true);
            self.closed.set(true);
        }
        drop(buf);
        // An overflow must reach the driver even while an earlier mark is pending (a send to a
        // peer that does not read never completes, so that mark may never be served).
        if !self.queued.replace(true) || overflowed {
            self.signal.mark(self.conn);
        }
    }

    /// Take everything queued (the driver sends it).
    pub(super) fn take(&self, into: &mut Vec<u8>) {
        self.queued.set(false);
        let mut buf = self.buf.borrow_mut();
        if into.is_empty() {
            std::mem::swap(&mut *buf, into);
        } else {
            into.extend_from_slice(&buf);
            buf.clear();
        }
    }

    /// Bytes queued and not yet taken by the driver.
    pub(super) fn queued_bytes(&self) -> usize {
        self.buf.borrow().len()
    }

    /// Give back the buffer's capacity if it is empty (the connection is idle).
    pub(super) fn release_idle(&self) {
        let mut buf = self.buf.borrow_mut();
        if buf.is_empty() && buf.capacity() > 0 {
            *buf = Vec::new();
        }
    }

    /// Stop accepting writes (the connection is going away).
    pub(crate) fn close(&self) {
        self.closed.set(true);
        self.buf.borrow_mut().clear();
    }

    /// Whether writes are refused.
    pub(crate) fn is_closed(&self) -> bool {
        self.closed.get()
    }

    /// Whether the outbox was closed because the peer did not read fast enough.
    pub(crate) fn overflowed(&self) -> bool {
        self.overflowed.get()
    }
}
