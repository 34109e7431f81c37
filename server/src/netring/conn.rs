//! [`Conn`]: one connection of the shard, its slot in the driver's slab, and opening and closing
//! it. A slot is named by its key plus a generation ([`ConnRef`]), so that a late completion or
//! outbox mark for a closed connection never lands on the connection that reused the slot. The fd
//! is closed (by dropping its [`OwnedFd`], or for a direct descriptor by a close through the
//! ring) only when no operation on it is in flight. Moving bytes
//! is `io.rs`'s job, and what the bytes mean is the protocol's.

use super::driver::NetDriver;
use super::op::{self, InFlight, Sock};
use super::outbox::{ConnRef, Outbox};
use super::protocol::{Peer, Protocol, Protocols, Wire};
use super::sys;
use super::tls::TlsLayer;
use crate::metrics::ShardMetrics;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::rc::Rc;
use std::time::Instant;

/// What carries a connection's bytes.
pub(super) enum Kind {
    /// An accepted or dialed socket, closed when the connection is removed.
    Socket(OwnedFd),
    /// An accepted socket as a registered (direct) descriptor: a slot of the ring's table, shut
    /// down and closed through the ring (`--direct-descriptors`).
    Direct(u32),
    /// The stdio pipes: left open (they are the process's), read into a buffer of their own
    /// because pipes take no provided buffers.
    Pipe {
        input: RawFd,
        output: RawFd,
        read_buf: Box<[u8]>,
    },
}

/// One connection.
pub(super) struct Conn<C> {
    pub(super) kind: Kind,
    pub(super) gen: u32,
    pub(super) proto: C,
    /// The TLS record layer, when the listener speaks TLS.
    pub(super) tls: Option<Box<TlsLayer>>,
    /// Close once everything queued has been sent (after a TLS alert).
    pub(super) close_after_send: bool,
    /// Bytes waiting for this connection.
    pub(super) outbox: Rc<Outbox>,
    pub(super) sending: Vec<u8>,
    pub(super) sent: usize,
    pub(super) send_inflight: bool,
    pub(super) recv_armed: bool,
    /// Operations in flight (recv + send); the fd is closed only when this is zero.
    pub(super) ops: InFlight,
    /// Peer finished sending (EOF): answer what is in flight, then close.
    pub(super) eof: bool,
    pub(super) eof_at: Option<Instant>,
    pub(super) closing: bool,
    /// Last byte received (HTTP idle timeout).
    pub(super) last_active: Instant,
    /// Input paused for back-pressure: the recv is cancelled (or not re-armed) until the protocol
    /// wants input again and the unsent output has drained below the low-water mark.
    pub(super) paused: bool,
    /// Bytes received after the pause (posted before its cancel took effect), handed to the
    /// protocol when input resumes.
    pub(super) held_input: Vec<u8>,
    /// When the last send made progress, or began after a quiet spell (write-stall timeout).
    pub(super) send_progress: Instant,
    /// A lingering close: until this deadline, bytes are read and discarded after the last
    /// answer and a FIN, so that the peer reads that answer before the connection closes.
    pub(super) lingering: Option<Instant>,
    /// Bytes discarded while lingering.
    pub(super) lingered: usize,
}

impl<C> Conn<C> {
    /// What reads come from.
    pub(super) fn sock(&self) -> Sock {
        match &self.kind {
            Kind::Socket(fd) => Sock::Fd(fd.as_raw_fd()),
            Kind::Direct(slot) => Sock::Fixed(*slot),
            Kind::Pipe { input, .. } => Sock::Fd(*input),
        }
    }

    /// Whether the connection is a socket (not the stdio pipes).
    pub(super) fn is_socket(&self) -> bool {
        !matches!(self.kind, Kind::Pipe { .. })
    }

    /// This connection's name for outbox marks and draining lists.
    pub(super) fn conn_ref(&self, key: usize) -> ConnRef {
        ConnRef {
            key: key as u32,
            gen: self.gen,
        }
    }

    /// Output not yet sent: queued in the outbox plus the rest of the send in progress.
    pub(super) fn unsent(&self) -> usize {
        self.sending.len() - self.sent.min(self.sending.len()) + self.outbox.queued_bytes()
    }

    /// Give back the send buffer and held-input buffer kept for reuse (the connection is idle
    /// and everything has been sent).
    pub(super) fn release_idle(&mut self) {
        if self.sending.is_empty() && self.sending.capacity() > 0 {
            self.sending = Vec::new();
        }
        if self.held_input.is_empty() && self.held_input.capacity() > 0 {
            self.held_input = Vec::new();
        }
        self.outbox.release_idle();
    }

    /// Everything queued has left and nothing is being sent.
    pub(super) fn flushed(&self) -> bool {
        !self.send_inflight && self.sent >= self.sending.len()
    }

    /// The peer finished sending: answer what is in flight, then close.
    pub(super) fn set_eof(&mut self, key: usize, draining: &mut Vec<(usize, u32)>) {
        self.eof = true;
        self.eof_at = Some(Instant::now());
        draining.push((key, self.gen));
    }
}

impl<P: Protocols> NetDriver<P> {
    /// A connection from a listener speaking `wire` (or the stdio pipes).
    pub(super) fn open_conn(&mut self, kind: Kind, wire: Wire) -> usize {
        self.insert_conn(kind, |protocols, outbox, peer| {
            protocols.open(wire, outbox, peer)
        })
    }

    /// A new connection in the slab, its protocol state made by `open` (from the shard's
    /// protocols, its outbox and its peer). Returns its key.
    pub(super) fn insert_conn(
        &mut self,
        kind: Kind,
        open: impl FnOnce(&P, &Rc<Outbox>, Peer<'_>) -> P::Conn,
    ) -> usize {
        ShardMetrics::add(&self.metrics.open, 1);
        let entry = self.conns.vacant_entry();
        let key = entry.key();
        self.next_gen = self.next_gen.wrapping_add(1);
        let gen = self.next_gen;
        let conn_ref = ConnRef {
            key: key as u32,
            gen,
        };
        let outbox = Rc::new(Outbox::new(
            conn_ref,
            self.signal.clone(),
            self.cfg.max_queued_bytes,
        ));
        let socket = match &kind {
            Kind::Socket(fd) => Some(fd.as_fd()),
            // No process fd to ask for the peer's address (getpeername on a direct descriptor
            // needs Linux 6.19).
            Kind::Direct(_) | Kind::Pipe { .. } => None,
        };
        let proto = open(&self.protocols, &outbox, Peer::new(socket));
        let now = Instant::now();
        entry.insert(Conn {
            kind,
            gen,
            proto,
            tls: None,
            close_after_send: false,
            outbox,
            sending: Vec::new(),
            sent: 0,
            send_inflight: false,
            recv_armed: false,
            ops: InFlight::default(),
            eof: false,
            eof_at: None,
            closing: false,
            last_active: now,
            paused: false,
            held_input: Vec::new(),
            send_progress: now,
            lingering: None,
            lingered: 0,
        });
        key
    }

    /// Stop reading, cancel the session's requests, and close once no operation is in flight.
    pub(super) fn close_conn(&mut self, key: usize, why: &str) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if !c.closing {
            tracing::debug!(key, reason = why, "closing connection");
            c.closing = true;
            c.outbox.close();
            c.proto.close();
            // Ends the multishot recv and any pending send, so `ops` drains to zero.
            match &c.kind {
                Kind::Socket(fd) => sys::shutdown(fd.as_fd()),
                Kind::Direct(slot) => {
                    let sqe = op::close::shutdown(*slot, libc::SHUT_RDWR, key);
                    // SAFETY: a shutdown points at no memory.
                    unsafe { c.ops.start(&mut self.ring, &sqe) };
                }
                Kind::Pipe { .. } => {}
            }
        }
        let Some(c) = self.conns.get(key) else {
            return;
        };
        if c.ops.is_idle() {
            if let Kind::Direct(slot) = c.kind {
                // Nothing in flight names the slot anymore; the kernel reuses it once closed.
                // SAFETY: a close points at no memory.
                unsafe { op::push(&mut self.ring, &op::close::close(slot)) };
            }
            // Dropping the connection closes its socket: nothing in flight names the fd anymore.
            drop(self.conns.remove(key));
            let open = &self.metrics.open;
            open.set(open.get().saturating_sub(1));
        }
    }
}
