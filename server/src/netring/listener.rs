//! The shard's listening sockets: multishot accept on each, taking new connections (limits,
//! `TCP_NODELAY`, TLS setup), backing off when the process runs out of fds or memory, and re-arming
//! an accept the kernel ended. Closing the listeners when the shard stops is here too. What a new
//! connection speaks is decided by [`Protocols::open`], not here.

use super::conn::Kind;
use super::driver::NetDriver;
use super::op;
use super::protocol::{Protocols, Wire};
use super::sys;
use super::tls::TlsLayer;
use crate::metrics::ShardMetrics;
use io_uring::cqueue;
use std::io;
use std::os::fd::{AsFd, FromRawFd, OwnedFd};
use std::time::Instant;

/// One listening socket.
pub(super) struct Listener {
    fd: OwnedFd,
    wire: Wire,
    armed: bool,
    resume_at: Option<Instant>,
}

impl Listener {
    pub(super) fn new(fd: OwnedFd, wire: Wire) -> Self {
        Listener {
            fd,
            wire,
            armed: false,
            resume_at: None,
        }
    }
}

impl<P: Protocols> NetDriver<P> {
    pub(super) fn arm_accept(&mut self, idx: usize) {
        let Some(l) = self.listeners.get_mut(idx) else {
            return;
        };
        if l.armed {
            return;
        }
        let sqe = op::accept::multishot(l.fd.as_fd(), idx, self.cfg.direct_descriptors);
        // SAFETY: a multishot accept names no memory of ours, only the listener's fd, which stays
        // open until the shard stops (closing it ends the accept with an error completion).
        l.armed = unsafe { op::push(&mut self.ring, &sqe) };
        if !l.armed {
            // Nothing reached the kernel: try again after the back-off rather than never.
            self.back_off(idx);
        }
    }

    /// Stop accepting on listener `idx` for the back-off period, and make sure the loop wakes up
    /// to resume it even if nothing else happens.
    fn back_off(&mut self, idx: usize) {
        if let Some(l) = self.listeners.get_mut(idx) {
            l.resume_at = Some(Instant::now() + self.cfg.accept_backoff);
        }
        let signal = self.signal.clone();
        let backoff = self.cfg.accept_backoff;
        glommio::spawn_local(async move {
            glommio::timer::sleep(backoff).await;
            signal.ring();
        })
        .detach();
    }

    pub(super) fn on_accept(&mut self, idx: usize, res: i32, flags: u32) {
        let more = cqueue::more(flags);
        if !more {
            if let Some(l) = self.listeners.get_mut(idx) {
                l.armed = false;
            }
        }
        let gone = !self.accept_one(idx, res);
        // The kernel also ends a multishot accept for reasons of its own (a completion queue
        // that overflowed during a big fan-out, say): keep listening unless the listener is
        // backing off, gone, or the shard is stopping. Left disarmed, the shard would never
        // accept again while its backlog filled.
        let backing_off = self
            .listeners
            .get(idx)
            .is_some_and(|l| l.resume_at.is_some());
        if !more && !gone && !backing_off && !self.stop_requested() {
            if res >= 0 {
                tracing::debug!(listener = idx, "multishot accept ended; re-arming");
            }
            self.arm_accept(idx);
        }
    }

    /// Take one accept completion: a new connection, or an error to back off from. False when
    /// the listener itself is gone (closed or cancelled).
    fn accept_one(&mut self, idx: usize, res: i32) -> bool {
        if res < 0 {
            let err = io::Error::from_raw_os_error(-res);
            match -res {
                libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM => {
                    tracing::warn!(error = %err, "accept failed; backing off");
                    self.back_off(idx);
                }
                libc::ECANCELED | libc::EBADF | libc::EINVAL => return false,
                _ => tracing::debug!(error = %err, "accept error"),
            }
            return true;
        }
        let kind = if self.cfg.direct_descriptors {
            // The slot of the ring's descriptor table the kernel put the socket in.
            Kind::Direct(res as u32)
        } else {
            // SAFETY: a non-negative accept result is a new fd the kernel just installed for us,
            // and nothing else holds it.
            Kind::Socket(unsafe { OwnedFd::from_raw_fd(res) })
        };
        if self.stop_requested() || self.conns.len() >= self.cfg.max_connections {
            tracing::warn!(
                limit = self.cfg.max_connections,
                "connection refused: shard at its connection limit"
            );
            if let Kind::Direct(slot) = kind {
                // SAFETY: a close points at no memory.
                unsafe { op::push(&mut self.ring, &op::close::close(slot)) };
            }
            return true;
        }
        // A direct descriptor has no fd for setsockopt: it inherited TCP_NODELAY from its
        // listener (set when the driver started).
        if let Kind::Socket(fd) = &kind {
            sys::set_nodelay(fd.as_fd());
        }
        let wire = self.listeners.get(idx).map_or(Wire::Lines, |l| l.wire);
        ShardMetrics::add(&self.metrics.accepted, 1);
        let key = self.open_conn(kind, wire);
        let tls = match wire {
            Wire::Lines => self.tls_lines.clone(),
            Wire::Http => self.tls_http.clone(),
        };
        if let Some(config) = tls {
            match TlsLayer::new(config) {
                Ok(layer) => {
                    if let Some(c) = self.conns.get_mut(key) {
                        c.tls = Some(Box::new(layer));
                        let deadline = Instant::now() + self.cfg.tls_handshake_timeout;
                        self.handshakes.push((key, c.gen, deadline));
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS session could not start");
                    self.close_conn(key, "TLS setup failed");
                    return true;
                }
            }
        }
        self.arm_recv(key);
        true
    }

    /// Listeners whose back-off is over accept again.
    pub(super) fn resume_listeners(&mut self, now: Instant) {
        for i in 0..self.listeners.len() {
            if let Some(t) = self.listeners[i].resume_at {
                if now >= t && !self.stop_requested() {
                    self.listeners[i].resume_at = None;
                    self.arm_accept(i);
                }
            }
        }
    }

    /// Close every listener (the shard is stopping); a multishot accept on one completes with an
    /// error.
    pub(super) fn close_listeners(&mut self) {
        self.listeners.clear();
    }
}
