//! The seam between the net ring and what its connections speak: [`Protocols`] opens the protocol
//! state of each new connection, accepted or dialed, and [`Protocol`] is that state. The driver is
//! generic over them (`NetDriver<P: Protocols>`), so every call across the seam is static dispatch:
//! no box and no virtual call per connection or per received buffer. This module names what the
//! driver asks and tells; it must not know any protocol (no JSON-RPC, no HTTP here).

use super::outbox::Outbox;
use std::net::IpAddr;
use std::os::fd::BorrowedFd;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// What a listener's connections speak. The driver only carries it from the listener to
/// [`Protocols::open`] and to the choice of TLS settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wire {
    /// Newline-delimited JSON-RPC, one legacy session per connection.
    Lines,
    /// HTTP/1.1: Streamable HTTP and the 2024-11-05 HTTP+SSE endpoints.
    Http,
}

/// The peer of a new connection, looked up only if the protocol asks (one `getpeername` saved
/// per connection on protocols that never do).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer<'a>(Option<BorrowedFd<'a>>);

impl<'a> Peer<'a> {
    /// The peer of `socket` (`None`: the stdio pipes, which have no peer address).
    pub(super) fn new(socket: Option<BorrowedFd<'a>>) -> Self {
        Peer(socket)
    }

    /// The peer's address (`None` on the pipes, or if the socket is already gone).
    pub(crate) fn ip(&self) -> Option<IpAddr> {
        self.0.and_then(super::sys::peer_ip)
    }
}

/// What a periodic sweep tells one connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SweepClock {
    /// Now (one clock read per sweep).
    pub now: Instant,
    /// When the connection last received a byte.
    pub last_active: Instant,
    /// A request still arriving after this long is refused.
    pub request_timeout: Duration,
    /// A connection with nothing in flight and silent for this long is closed.
    pub idle_timeout: Duration,
}

/// What the driver should do with a connection after its sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Swept {
    /// Leave it (an answer the protocol queued, a 408 say, leaves through the outbox).
    Keep,
    /// Close it now, for this reason (logged).
    Close(&'static str),
}

/// One connection's protocol state. Received bytes come in (already decrypted when the listener
/// speaks TLS); whatever the protocol answers goes into the connection's [`Outbox`].
pub(crate) trait Protocol {
    /// What every connection of the shard shares (the engine, settings). Passed to each call
    /// rather than held, so that a connection carries no pointer to it.
    type Shared;

    /// Bytes received from the peer.
    fn on_bytes(&mut self, shared: &Self::Shared, data: &[u8], outbox: &Rc<Outbox>);

    /// The connection's outbox is being flushed: a protocol that answers one request at a time
    /// starts the next one here.
    fn on_flush(&mut self, _shared: &Self::Shared, _outbox: &Rc<Outbox>) {}

    /// Whether the driver should go on reading. False pauses the connection's input
    /// (back-pressure: the peer is slowed by TCP flow control) until a later flush finds it true
    /// again; bytes already received still arrive, so the protocol holds a bounded overshoot.
    fn wants_input(&self, _shared: &Self::Shared) -> bool {
        true
    }

    /// Whether the driver may pause this connection's input at all. A connection whose input
    /// answers its own output (a client link to a server) must be read for that output to drain.
    fn pausable(&self) -> bool {
        true
    }

    /// Once a second (when [`Protocols::sweeps`] says so), for a connection with nothing left to
    /// send: time out slow requests and idle connections.
    fn sweep(
        &mut self,
        _shared: &Self::Shared,
        _clock: &SweepClock,
        _outbox: &Rc<Outbox>,
    ) -> Swept {
        Swept::Keep
    }

    /// Whether work is still in flight, so a draining connection (the peer finished sending, or
    /// the shard is stopping) must stay open. `eof`: the peer has finished sending.
    fn busy(&self, eof: bool) -> bool;

    /// The connection has been idle a while (nothing received or sent for a second or more):
    /// give back buffers kept for the next request.
    fn release_idle(&mut self) {}

    /// The connection's TLS layer failed (a refused certificate, a bad record): it closes once
    /// the alert is sent, and [`Protocol::close`] follows. A dialed connection tells whoever
    /// waits on it why.
    fn tls_failed(&mut self, _why: &str) {}

    /// The connection is going away: drop what is in flight.
    fn close(&mut self);

    /// The protocol wants the connection closed once everything queued has been sent.
    fn close_after_send(&self) -> bool {
        false
    }
}

/// Opens the protocol state of new connections, and hears what the driver tells the shard.
pub(crate) trait Protocols: Sized {
    /// One connection's state.
    type Conn: Protocol<Shared = Self>;
    /// What a dial names besides the address: which protocol the outbound connection speaks and
    /// whatever its state starts from (a Redis client's settings, say). Carried from
    /// [`Dialer::dial`](super::dial::Dialer::dial) to [`Protocols::dialed`]. `Infallible` for
    /// protocols that never dial.
    type Dial;

    /// A new connection from a listener speaking `wire` (or the stdio pipes, as [`Wire::Lines`]),
    /// writing to `outbox`.
    fn open(&self, wire: Wire, outbox: &Rc<Outbox>, peer: Peer<'_>) -> Self::Conn;

    /// A connection this shard dialed, now connected, for the dial that named `dial`, writing to
    /// `outbox`. Called before the dial's future resolves, so no byte can arrive before the
    /// protocol is there.
    fn dialed(&self, dial: Self::Dial, outbox: &Rc<Outbox>, peer: Peer<'_>) -> Self::Conn;

    /// The shard has started stopping: no new connections, requests in flight finish.
    fn stopping(&self) {}

    /// Whether connections need the once-a-second [`Protocol::sweep`].
    fn sweeps(&self) -> bool {
        false
    }
}
