//! The lingering close. A connection the protocol closes after an answer (an HTTP 413, 400, 431
//! or 408, or `Connection: close`) may still have request bytes on their way: closing a socket with
//! unread input makes the kernel send a reset, and a client still writing its body (one that does
//! not send `Expect: 100-continue`) then loses the answer it was sent. So, as nginx does, the
//! driver sends FIN after the answer and goes on reading, discarding everything, until the peer
//! closes, `DriverConfig::linger` passes or `DriverConfig::linger_bytes` have been discarded;
//! only then is the socket closed.

use super::conn::Kind;
use super::driver::NetDriver;
use super::op;
use super::protocol::Protocols;
use super::sys;
use std::os::fd::AsFd;
use std::time::Instant;

impl<P: Protocols> NetDriver<P> {
    /// Everything connection `key` had to say has been sent: close it, lingering when the peer
    /// may still be sending.
    pub(super) fn close_lingering(&mut self, key: usize, why: &'static str) {
        let linger = self.cfg.linger;
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.lingering.is_some() {
            return;
        }
        if !c.is_socket() || c.eof || linger.is_zero() {
            return self.close_conn(key, why);
        }
        tracing::debug!(key, reason = why, "lingering before close");
        match &c.kind {
            Kind::Socket(fd) => sys::shutdown_write(fd.as_fd()),
            Kind::Direct(slot) => {
                let sqe = op::close::shutdown(*slot, libc::SHUT_WR, key);
                // SAFETY: a shutdown points at no memory.
                unsafe { c.ops.start(&mut self.ring, &sqe) };
            }
            Kind::Pipe { .. } => {}
        }
        c.lingering = Some(Instant::now() + linger);
        c.paused = false;
        c.outbox.close();
        let gen = c.gen;
        self.draining.push((key, gen));
        self.arm_recv(key);
    }

    /// `n` bytes arrived on a lingering connection: discarded; past the byte bound it closes.
    pub(super) fn discard(&mut self, key: usize, n: usize) {
        let bound = self.cfg.linger_bytes;
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        c.lingered = c.lingered.saturating_add(n);
        if c.lingered > bound {
            self.close_conn(key, "lingering close: byte bound reached");
        }
    }
}
