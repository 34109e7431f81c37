//! [`ShardProtocols`]: what a shard's connections speak, for the net ring. It opens a
//! [`LineConn`] or an [`HttpConn`] for each new connection according to its listener's [`Wire`],
//! and [`ShardConn`], the enum of the two, is the driver's one connection type: every call from
//! the driver is a `match`, not a virtual call. It also carries what the driver tells the shard
//! (stopping) and asks of it (sweeps). It holds no sockets.

use crate::engine::McpService;
use crate::http::{HttpConn, HttpService};
use crate::lines::LineConn;
use crate::netring::{Outbox, Peer, Protocol, Protocols, SweepClock, Swept, Wire};
use std::convert::Infallible;
use std::rc::Rc;

/// The protocols of one shard: the engine, and the HTTP service when it has HTTP listeners.
pub(crate) struct ShardProtocols {
    lines: Rc<McpService>,
    http: Option<Rc<HttpService>>,
}

impl ShardProtocols {
    /// Lines over `service`, and HTTP over `http` when there is one.
    pub(crate) fn new(service: Rc<McpService>, http: Option<Rc<HttpService>>) -> Self {
        ShardProtocols {
            lines: service,
            http,
        }
    }
}

/// One connection's protocol state.
pub(crate) enum ShardConn {
    /// Newline-delimited JSON-RPC.
    Lines(LineConn),
    /// HTTP/1.1 (boxed: it is the larger, and line connections are the many).
    Http(Box<HttpConn>),
}

impl Protocols for ShardProtocols {
    type Conn = ShardConn;
    /// Shards do not dial yet (the cluster mode's Redis connection will).
    type Dial = Infallible;

    fn open(&self, wire: Wire, outbox: &Rc<Outbox>, peer: Peer<'_>) -> ShardConn {
        match (wire, &self.http) {
            (Wire::Http, Some(http)) => ShardConn::Http(Box::new(HttpConn::new(http, peer.ip()))),
            _ => ShardConn::Lines(LineConn::new(&self.lines, outbox)),
        }
    }

    fn dialed(&self, dial: Infallible, _outbox: &Rc<Outbox>, _peer: Peer<'_>) -> ShardConn {
        match dial {}
    }

    fn stopping(&self) {
        self.lines.shard().stopping.set(true);
    }

    fn sweeps(&self) -> bool {
        self.http.is_some()
    }
}

impl Protocol for ShardConn {
    type Shared = ShardProtocols;

    #[inline]
    fn on_bytes(&mut self, shared: &ShardProtocols, data: &[u8], outbox: &Rc<Outbox>) {
        match self {
            ShardConn::Lines(l) => l.on_bytes(&shared.lines, data, outbox),
            ShardConn::Http(h) => {
                if let Some(http) = &shared.http {
                    Protocol::on_bytes(&mut **h, http, data, outbox);
                }
            }
        }
    }

    #[inline]
    fn on_flush(&mut self, shared: &ShardProtocols, outbox: &Rc<Outbox>) {
        if let (ShardConn::Http(h), Some(http)) = (self, &shared.http) {
            h.on_flush(http, outbox);
        }
    }

    fn sweep(&mut self, shared: &ShardProtocols, clock: &SweepClock, outbox: &Rc<Outbox>) -> Swept {
        match (self, &shared.http) {
            (ShardConn::Http(h), Some(http)) => h.sweep(http, clock, outbox),
            _ => Swept::Keep,
        }
    }

    fn busy(&self, eof: bool) -> bool {
        match self {
            ShardConn::Lines(l) => l.busy(eof),
            ShardConn::Http(h) => h.busy(eof),
        }
    }

    fn close(&mut self) {
        match self {
            ShardConn::Lines(l) => l.close(),
            ShardConn::Http(h) => Protocol::close(&mut **h),
        }
    }

    #[inline]
    fn close_after_send(&self) -> bool {
        match self {
            ShardConn::Lines(l) => l.close_after_send(),
            ShardConn::Http(h) => h.close_after_send(),
        }
    }
}
