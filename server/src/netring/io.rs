//! Moving a connection's bytes: arming its recv (socket) or read (stdio pipe), taking what arrived
//! (through the TLS layer when there is one) to its protocol, turning its dirty outbox into a send
//! and following the send to its end. Every operation is counted in the connection's
//! [`InFlight`](super::op::InFlight) only once it really reached the kernel's queue; one that could
//! not be queued closes the connection rather than leaving it deaf or mute.

use super::conn::{Conn, Kind};
use super::driver::NetDriver;
use super::op::{self, Sock};
use super::protocol::{Protocol, Protocols};
use crate::metrics::ShardMetrics;
use io_uring::cqueue;
use std::io;
use std::os::fd::AsRawFd;
use std::time::Instant;

/// Send buffers larger than this are freed once sent.
const RETAINED_SEND_BUFFER: usize = 16 * 1024;

impl<P: Protocols> NetDriver<P> {
    pub(super) fn arm_recv(&mut self, key: usize) {
        let group = self.bufs.group();
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.recv_armed || c.closing || c.eof || c.paused {
            return;
        }
        let sqe = op::recv::multishot(c.sock(), group, key, self.recv_cap);
        // SAFETY: a multishot recv writes only into the shard's buffer ring, which outlives the
        // ring (see `NetDriver::new`); the socket stays open while the count is above zero.
        c.recv_armed = unsafe { c.ops.start(&mut self.ring, &sqe) };
        if !c.recv_armed {
            self.close_conn(key, "recv could not be queued");
        }
    }

    pub(super) fn arm_read(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.recv_armed || c.closing || c.eof || c.paused {
            return;
        }
        let Kind::Pipe {
            input, read_buf, ..
        } = &mut c.kind
        else {
            return;
        };
        let sqe = op::read::read(*input, read_buf, key);
        // SAFETY: `read_buf` is a boxed slice owned by the connection; its heap memory does not
        // move when the slab does, and the connection is removed (freeing it) only once the count
        // is back to zero, that is after this read completes.
        c.recv_armed = unsafe { c.ops.start(&mut self.ring, &sqe) };
        if !c.recv_armed {
            tracing::error!("stdin read could not be queued; treating as end of input");
            c.set_eof(key, &mut self.draining);
        }
    }

    /// Returns whether a buffer went back to the ring.
    pub(super) fn on_recv(&mut self, key: usize, res: i32, flags: u32, now: Instant) -> bool {
        let more = cqueue::more(flags);
        let bid = cqueue::buffer_select(flags);
        let used = usize::try_from(res).unwrap_or(0);
        let Some(c) = self.conns.get_mut(key) else {
            return bid.is_some_and(|bid| self.bufs.consumed(bid, used, flags));
        };
        if !more {
            c.recv_armed = false;
            c.ops.finish();
        }
        if res > 0 && c.lingering.is_some() {
            let returned = bid.is_some_and(|bid| self.bufs.consumed(bid, used, flags));
            self.discard(key, used);
            if !more {
                self.arm_recv(key);
                self.finish_close(key);
            }
            return returned;
        }
        if res > 0 {
            if let Some(bid) = bid {
                if !c.closing {
                    c.last_active = now;
                    ShardMetrics::add(&self.metrics.bytes_in, used as u64);
                    let data = self.bufs.get(bid, used);
                    let (paused, protocols) = (c.paused, &self.protocols);
                    let (proto, outbox, held) = (&mut c.proto, &c.outbox, &mut c.held_input);
                    // Bytes that arrive after a pause (posted before the cancel took effect)
                    // wait for the resume: handing them over would answer what the pause holds
                    // back.
                    let mut deliver = |plain: &[u8]| {
                        if paused {
                            held.extend_from_slice(plain);
                        } else {
                            proto.on_bytes(protocols, plain, outbox);
                        }
                    };
                    match &mut c.tls {
                        None => deliver(data),
                        Some(tls) => {
                            match tls.open(data, deliver) {
                                Ok(opened) => {
                                    if opened.peer_closed && !c.eof {
                                        c.set_eof(key, &mut self.draining);
                                    }
                                    if opened.wants_write {
                                        self.dirty.push(c.conn_ref(key));
                                    }
                                }
                                Err(e) => {
                                    tracing::debug!(key, error = %e, "closing connection");
                                    c.proto.tls_failed(&e.to_string());
                                    // The alert rustls queued goes out before the close.
                                    c.close_after_send = true;
                                    c.outbox.close();
                                    self.dirty.push(c.conn_ref(key));
                                }
                            }
                        }
                    }
                }
            }
            let returned = bid.is_some_and(|bid| self.bufs.consumed(bid, used, flags));
            self.regulate(key);
            if !more {
                self.arm_recv(key);
                self.finish_close(key);
            }
            return returned;
        }
        if res == 0 && c.lingering.is_some() {
            // The peer read the answer and closed: nothing more to wait for.
            self.close_conn(key, "lingering close: peer closed");
        } else if res == 0 {
            c.set_eof(key, &mut self.draining);
        } else if -res == libc::EINVAL && self.recv_cap != 0 && !more {
            tracing::info!(
                "this kernel has no multishot recv cap (Linux 6.17+): recv uncapped; a paused \
                 connection may receive up to 32 buffers more"
            );
            self.recv_cap = 0;
            self.arm_recv(key);
        } else if -res == libc::ENOBUFS || -res == libc::ECANCELED {
            // Out of buffers, or cancelled by a pause: armed again unless (still) paused.
            if !more {
                self.arm_recv(key);
            }
        } else if !c.closing {
            let err = io::Error::from_raw_os_error(-res);
            tracing::debug!(error = %err, "recv error");
            self.close_conn(key, "recv error");
            return false;
        }
        self.finish_close(key);
        bid.is_some_and(|bid| self.bufs.consumed(bid, used, flags))
    }

    /// A closing connection's recv just ended: if that was its last operation, it goes now (a
    /// last completion carrying bytes must not leave it in the slab for good, which kept a
    /// stopping shard from ever finishing).
    fn finish_close(&mut self, key: usize) {
        if self.conns.get(key).is_some_and(|c| c.closing) {
            self.close_conn(key, "closed");
        }
    }

    /// A direct descriptor's shutdown has run: the connection may close now.
    pub(super) fn on_shutdown(&mut self, key: usize) {
        if let Some(c) = self.conns.get_mut(key) {
            c.ops.finish();
        }
        self.finish_close(key);
    }

    pub(super) fn on_read(&mut self, key: usize, res: i32) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        c.recv_armed = false;
        c.ops.finish();
        if res > 0 {
            if let Kind::Pipe { read_buf, .. } = &c.kind {
                let data = &read_buf[..res as usize];
                if c.closing {
                } else if c.paused {
                    c.held_input.extend_from_slice(data);
                } else {
                    c.proto.on_bytes(&self.protocols, data, &c.outbox);
                }
            }
            self.regulate(key);
            self.arm_read(key);
        } else if res == 0 || -res != libc::EINTR {
            if res < 0 {
                tracing::debug!(error = %io::Error::from_raw_os_error(-res), "stdin read error");
            }
            c.set_eof(key, &mut self.draining);
        } else {
            self.arm_read(key);
        }
    }

    pub(super) fn on_send(&mut self, key: usize, res: i32, now: Instant) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        c.ops.finish();
        c.send_inflight = false;
        if res < 0 {
            if -res == libc::EINTR || -res == libc::EAGAIN {
                self.start_send(key);
                return;
            }
            tracing::debug!(error = %io::Error::from_raw_os_error(-res), "send error");
            self.close_conn(key, "send error");
            return;
        }
        c.sent += res as usize;
        if res > 0 {
            c.send_progress = now;
        }
        ShardMetrics::add(&self.metrics.bytes_out, res as u64);
        if c.sent >= c.sending.len() {
            c.sending.clear();
            c.sent = 0;
            // An idle connection should not keep the buffer of its largest response.
            if c.sending.capacity() > RETAINED_SEND_BUFFER {
                c.sending = Vec::new();
            }
            // Anything queued while this send was in flight goes next.
            fill_sending(c, &mut self.seal_buf);
        }
        if c.closing {
            self.close_conn(key, "closed");
        } else {
            self.start_send(key);
            self.close_if_finished(key);
            self.regulate(key);
        }
    }

    /// A connection that must close (a TLS alert, an HTTP error or `Connection: close`) does so
    /// once its last bytes have left.
    fn close_if_finished(&mut self, key: usize) {
        let Some(c) = self.conns.get(key) else { return };
        let flushed = c.flushed();
        if flushed && c.close_after_send {
            self.close_conn(key, "alert sent");
        } else if flushed && c.lingering.is_none() && c.proto.close_after_send() {
            self.close_lingering(key, "response sent; connection: close");
        }
    }

    fn start_send(&mut self, key: usize) {
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.send_inflight || c.sent >= c.sending.len() || c.closing {
            return;
        }
        if c.sent == 0 {
            // A fresh batch: the stall clock starts now, not at the last send long ago.
            c.send_progress = self.now;
        }
        let pending = &c.sending[c.sent..];
        let sqe = match &c.kind {
            Kind::Socket(fd) => op::send::send(Sock::Fd(fd.as_raw_fd()), pending, key),
            Kind::Direct(slot) => op::send::send(Sock::Fixed(*slot), pending, key),
            Kind::Pipe { output, .. } => op::send::write(*output, pending, key),
        };
        // SAFETY: `sending` is not touched (grown, cleared or freed) while `send_inflight` is set,
        // and the connection is removed only once the count is back to zero, so the bytes the
        // SQE names stay put until its completion.
        c.send_inflight = unsafe { c.ops.start(&mut self.ring, &sqe) };
        if !c.send_inflight {
            self.close_conn(key, "send could not be queued");
        }
    }

    /// Move every dirty outbox into its connection's send buffer and start the sends.
    pub(super) fn flush(&mut self) -> usize {
        let mut dirty = std::mem::take(&mut self.dirty);
        self.signal.take_dirty(&mut dirty);
        let n = dirty.len();
        for conn in dirty.drain(..) {
            let key = conn.key as usize;
            let Some(c) = self.conns.get_mut(key) else {
                continue;
            };
            if c.gen != conn.gen {
                continue;
            }
            if c.outbox.overflowed() && !c.close_after_send {
                tracing::warn!(
                    key,
                    limit = self.cfg.max_queued_bytes,
                    "dropping connection: peer does not read its responses"
                );
                self.close_conn(key, "output limit");
                continue;
            }
            // An HTTP exchange may have finished: serve the next pipelined request.
            c.proto.on_flush(&self.protocols, &c.outbox);
            if !c.send_inflight {
                fill_sending(c, &mut self.seal_buf);
                self.start_send(key);
                self.close_if_finished(key);
            }
            self.regulate(key);
        }
        self.dirty = dirty;
        n
    }
}

/// Move what the outbox holds into the send buffer, through the TLS layer when there is one.
fn fill_sending<C>(c: &mut Conn<C>, seal_buf: &mut Vec<u8>) {
    let Some(tls) = &mut c.tls else {
        c.outbox.take(&mut c.sending);
        return;
    };
    seal_buf.clear();
    c.outbox.take(seal_buf);
    if let Err(e) = tls.seal_into(seal_buf, &mut c.sending) {
        tracing::debug!(error = %e, "TLS write failed");
        c.close_after_send = true;
    }
    if seal_buf.capacity() > RETAINED_SEND_BUFFER {
        *seal_buf = Vec::new();
    }
}
