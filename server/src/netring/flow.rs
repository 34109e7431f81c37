//! Back-pressure: a connection that is backed up stops being read, so its peer is slowed by TCP
//! flow control instead of being refused or dropped. Backed up means its protocol wants no input
//! (HTTP: pipelined requests waiting their turn fill the queue) or its unsent output passed
//! `DriverConfig::pause_unsent_bytes` (a client that writes and does not read). A line
//! connection is not paused at its session's limit of requests in flight: its input also carries
//! cancellations and answers to the server's own requests, which a handler in flight may wait for.
//! Pausing cancels the multishot recv (completions already posted still arrive and their buffers
//! go back to the ring); input resumes once the protocol wants it again and the output has drained
//! to half the mark. A peer that reads nothing at all is dropped only after
//! `DriverConfig::write_stall_timeout` without a sent byte, never for the memory it would take.
//! This file decides when input flows; arming and reaping the operations is `io.rs`'s job.

use super::conn::Kind;
use super::driver::NetDriver;
use super::op;
use super::protocol::{Protocol, Protocols};

impl<P: Protocols> NetDriver<P> {
    /// Pause or resume connection `key`'s input by its state. Called after its bytes were handed
    /// to the protocol, after a flush and after a send made progress; a comparison or two.
    pub(super) fn regulate(&mut self, key: usize) {
        let high = self.cfg.pause_unsent_bytes;
        let Some(c) = self.conns.get_mut(key) else {
            return;
        };
        if c.closing || c.lingering.is_some() || !c.proto.pausable() {
            return;
        }
        let unsent = c.unsent();
        let wants = c.proto.wants_input(&self.protocols);
        if !c.paused {
            if wants && unsent <= high {
                return;
            }
            c.paused = true;
            tracing::trace!(key, unsent, wants, "input paused");
            if c.recv_armed && c.is_socket() {
                // A pipe's read is single-shot: not re-arming it is the pause.
                // SAFETY: a cancel names no memory.
                if !unsafe { op::push(&mut self.ring, &op::cancel::recv(key)) } {
                    tracing::debug!(key, "recv cancel could not be queued; input keeps flowing");
                }
            }
        } else if wants && unsent <= high / 2 {
            if !c.held_input.is_empty() && !self.replay(key) {
                return;
            }
            let Some(c) = self.conns.get_mut(key) else {
                return;
            };
            c.paused = false;
            tracing::trace!(key, unsent, "input resumed");
            match c.kind {
                Kind::Socket(_) | Kind::Direct(_) => self.arm_recv(key),
                Kind::Pipe { .. } => self.arm_read(key),
            }
        }
    }

    /// Hand a paused connection the bytes it received meanwhile, a piece at a time, stopping
    /// where it is backed up again (the rest stays held). Returns whether it may be read again.
    fn replay(&mut self, key: usize) -> bool {
        let high = self.cfg.pause_unsent_bytes;
        let Some(c) = self.conns.get_mut(key) else {
            return false;
        };
        let held = std::mem::take(&mut c.held_input);
        let mut at = 0;
        while at < held.len() {
            let end = held.len().min(at + REPLAY_PIECE);
            c.proto.on_bytes(&self.protocols, &held[at..end], &c.outbox);
            at = end;
            if !c.proto.wants_input(&self.protocols) || c.unsent() > high {
                c.held_input = held[at..].to_vec();
                return false;
            }
        }
        true
    }
}

/// How much held input is replayed before the connection's state is looked at again: one
/// provided buffer's worth, as if it had just arrived.
const REPLAY_PIECE: usize = 4096;
