//! Ending connections on time: the once-a-second sweeps (each protocol's request and idle timeouts,
//! TLS handshakes not finished by their deadline), connections whose peer finished sending (EOF),
//! and the shard's shutdown (close the listeners, cancel the connects in flight, give requests in
//! flight the grace period, then close what is left). Only connections on the draining list are
//! looked at each turn, so idle connections cost nothing here outside the sweeps.

use super::driver::NetDriver;
use super::protocol::{Protocol, Protocols, SweepClock, Swept};
use std::time::{Duration, Instant};

/// A connection with nothing received or sent for this long gives back the buffers it keeps for
/// its next request (one sweep later at most), so that idle connections cost little: a busy one
/// keeps them and allocates nothing per request.
const IDLE_RELEASE: Duration = Duration::from_secs(1);

impl<P: Protocols> NetDriver<P> {
    /// Listener back-off, EOF and shutdown bookkeeping. Touches only connections that are
    /// draining (EOF seen) unless the shard is stopping, so idle connections cost nothing here.
    pub(super) fn maintain(&mut self) {
        let now = Instant::now();
        // Every connection may stall a write, so the sweep runs whenever there are any.
        if !self.conns.is_empty() && now >= self.next_sweep {
            self.next_sweep = now + Duration::from_secs(1);
            self.sweep_conns(now);
            self.sweep_handshakes(now);
            let signal = self.signal.clone();
            glommio::spawn_local(async move {
                glommio::timer::sleep(Duration::from_secs(1)).await;
                signal.ring();
            })
            .detach();
        }
        self.resume_listeners(now);
        if self.stop_requested() && self.stopping_since.is_none() {
            tracing::info!(
                shard = self.shard,
                "stopping: no new connections; finishing requests in flight"
            );
            self.stopping_since = Some(now);
            self.protocols.stopping();
            self.close_listeners();
            self.draining = self.conns.iter().map(|(k, c)| (k, c.gen)).collect();
        }
        if self.stopping_since.is_some() && !self.connecting.is_empty() {
            // Each connect is cancelled once; this only retries a cancel that could not be
            // queued.
            self.cancel_connects(true);
        }
        if self.draining.is_empty() {
            return;
        }
        let grace = self.cfg.shutdown_grace;
        let stopping = self.stopping_since;
        let mut draining = std::mem::take(&mut self.draining);
        draining.retain(|&(key, gen)| {
            let Some(c) = self.conns.get(key) else {
                return false;
            };
            // The slot may hold a newer connection by now.
            if c.gen != gen || c.closing {
                return false;
            }
            if let Some(deadline) = c.lingering {
                if now >= deadline {
                    self.closed.push(key);
                    return false;
                }
                return true;
            }
            let idle = !c.proto.busy(c.eof) && c.flushed() && c.held_input.is_empty();
            let expired = c
                .eof_at
                .or(stopping)
                .is_some_and(|t| now.duration_since(t) >= grace);
            if idle || expired {
                self.closed.push(key);
                return false;
            }
            true
        });
        self.draining = draining;
        for key in std::mem::take(&mut self.closed) {
            self.close_conn(key, "finished");
        }
        if !self.draining.is_empty() && !self.tick_armed.replace(true) {
            // Come back to re-check deadlines even if nothing else happens.
            let signal = self.signal.clone();
            let armed = self.tick_armed.clone();
            glommio::spawn_local(async move {
                glommio::timer::sleep(Duration::from_millis(20)).await;
                armed.set(false);
                signal.ring();
            })
            .detach();
        }
    }

    /// Stalled, slow and idle connections. A socket with output waiting and no byte sent for the
    /// write-stall timeout is dropped (its peer reads nothing). For the others each protocol
    /// decides from its own state and the timeouts (HTTP answers 408 to a request still
    /// incomplete after the request timeout, and closes a connection with nothing in flight and
    /// no byte for the idle timeout). Runs once a second and touches every connection.
    fn sweep_conns(&mut self, now: Instant) {
        let sweeps = self.protocols.sweeps();
        let stall = self.cfg.write_stall_timeout;
        let mut clock = SweepClock {
            now,
            last_active: now,
            request_timeout: self.cfg.http_request_timeout,
            idle_timeout: self.cfg.http_idle_timeout,
        };
        let mut ended = Vec::new();
        for (key, c) in self.conns.iter_mut() {
            if c.closing || c.lingering.is_some() {
                continue;
            }
            if !c.flushed() {
                let socket = c.is_socket();
                if socket && now.duration_since(c.send_progress) >= stall {
                    tracing::warn!(
                        key,
                        unsent = c.unsent(),
                        "dropping connection: peer does not read (no byte sent for the write-stall timeout)"
                    );
                    ended.push((key, "write stalled"));
                }
                continue;
            }
            let quiet_since = c.last_active.max(c.send_progress);
            if !c.paused && now.duration_since(quiet_since) >= IDLE_RELEASE {
                c.release_idle();
                c.proto.release_idle();
            }
            if !sweeps {
                continue;
            }
            clock.last_active = c.last_active;
            if let Swept::Close(why) = c.proto.sweep(&self.protocols, &clock, &c.outbox) {
                ended.push((key, why));
            }
        }
        for (key, why) in ended {
            self.close_conn(key, why);
        }
    }

    /// TLS handshakes not finished by their deadline are dropped; finished ones leave the list.
    fn sweep_handshakes(&mut self, now: Instant) {
        let mut late = Vec::new();
        self.handshakes.retain(|&(key, gen, deadline)| {
            let Some(c) = self.conns.get(key) else {
                return false;
            };
            if c.gen != gen || c.closing || !c.tls.as_ref().is_some_and(|t| t.handshaking()) {
                return false;
            }
            if now >= deadline {
                late.push(key);
                return false;
            }
            true
        });
        for key in late {
            tracing::debug!(key, "TLS handshake not finished in time");
            self.close_conn(key, "TLS handshake timeout");
        }
    }

    pub(super) fn finished(&self) -> bool {
        if self.stdio {
            return self.conns.is_empty();
        }
        // A connect in flight still names its socket and address: wait for its (cancelled)
        // completion.
        self.stopping_since.is_some() && self.conns.is_empty() && self.connecting.is_empty()
    }
}
