//! [`ShardProtocols`]: what a shard's connections speak, for the net ring. It opens a
//! [`LineConn`] or an [`HttpConn`] for each accepted connection according to its listener's
//! [`Wire`], a [`RedisConn`] for the connection the cluster mode's link dials, and an
//! [`McpClientConn`] for each MCP client connection a task on the shard dials; [`ShardConn`],
//! the enum of them, is the driver's one connection type: every call from the driver is a
//! `match`, not a virtual call. It also carries what the driver tells the shard (stopping) and
//! asks of it (sweeps). It holds no sockets.

use crate::client::{McpClientConn, McpDial};
use crate::cluster::{RedisConn, RedisLink};
use crate::engine::McpService;
use crate::http::{HttpConn, HttpService};
use crate::lines::LineConn;
use crate::netring::{Outbox, Peer, Protocol, Protocols, SweepClock, Swept, Wire};
use std::rc::Rc;

/// The protocols of one shard: the engine, and the HTTP service when it has HTTP listeners.
pub(crate) struct ShardProtocols {
    lines: Rc<McpService>,
    http: Option<Rc<HttpService>>,
    /// The cluster mode's Redis link.
    link: Option<Rc<RedisLink>>,
}

impl ShardProtocols {
    /// Lines over `service`, HTTP over `http` when there is one, and the Redis link of a node
    /// in a cluster.
    pub(crate) fn new(
        service: Rc<McpService>,
        http: Option<Rc<HttpService>>,
        link: Option<Rc<RedisLink>>,
    ) -> Self {
        ShardProtocols {
            lines: service,
            http,
            link,
        }
    }
}

/// One connection's protocol state.
pub(crate) enum ShardConn {
    /// Newline-delimited JSON-RPC.
    Lines(LineConn),
    /// HTTP/1.1 (boxed: it is the larger, and line connections are the many).
    Http(Box<HttpConn>),
    /// The shard's connection to Redis (cluster mode).
    Redis(RedisConn),
    /// An MCP client connection a task on the shard dialed.
    Mcp(McpClientConn),
}

/// What a shard dials: which protocol the outbound connection speaks, with the state it starts
/// from.
pub(crate) enum ShardDial {
    /// The cluster mode's Redis link.
    Redis(Rc<RedisLink>),
    /// An MCP client session.
    Mcp(McpDial),
}

impl From<Rc<RedisLink>> for ShardDial {
    fn from(link: Rc<RedisLink>) -> Self {
        ShardDial::Redis(link)
    }
}

impl From<McpDial> for ShardDial {
    fn from(dial: McpDial) -> Self {
        ShardDial::Mcp(dial)
    }
}

impl Protocols for ShardProtocols {
    type Conn = ShardConn;
    type Dial = ShardDial;

    fn open(&self, wire: Wire, outbox: &Rc<Outbox>, peer: Peer<'_>) -> ShardConn {
        match (wire, &self.http) {
            (Wire::Http, Some(http)) => ShardConn::Http(Box::new(HttpConn::new(http, peer.ip()))),
            _ => ShardConn::Lines(LineConn::new(&self.lines, outbox)),
        }
    }

    fn dialed(&self, dial: ShardDial, outbox: &Rc<Outbox>, _peer: Peer<'_>) -> ShardConn {
        match dial {
            ShardDial::Redis(link) => {
                let epoch = link.attach(outbox.clone());
                ShardConn::Redis(RedisConn::new(link, epoch))
            }
            ShardDial::Mcp(dial) => ShardConn::Mcp(dial.attach(outbox)),
        }
    }

    fn stopping(&self) {
        self.lines.shard().stopping.set(true);
        if let Some(link) = &self.link {
            link.stop();
        }
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
            ShardConn::Redis(r) => r.on_bytes(data),
            ShardConn::Mcp(m) => m.on_bytes(data),
        }
    }

    #[inline]
    fn on_flush(&mut self, shared: &ShardProtocols, outbox: &Rc<Outbox>) {
        if let (ShardConn::Http(h), Some(http)) = (self, &shared.http) {
            h.on_flush(http, outbox);
        }
    }

    #[inline]
    fn wants_input(&self, shared: &ShardProtocols) -> bool {
        match (self, &shared.http) {
            (ShardConn::Http(h), Some(http)) => Protocol::wants_input(&**h, http),
            _ => true,
        }
    }

    /// A dialed connection's input (Redis's replies, an MCP server's answers) answers what it
    /// sent: reading it is what lets its own output drain, so it is never paused.
    fn pausable(&self) -> bool {
        !matches!(self, ShardConn::Redis(_) | ShardConn::Mcp(_))
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
            ShardConn::Redis(r) => !eof && r.busy(),
            ShardConn::Mcp(m) => m.busy(eof),
        }
    }

    fn release_idle(&mut self) {
        match self {
            ShardConn::Lines(l) => l.release_idle(),
            ShardConn::Http(h) => Protocol::release_idle(&mut **h),
            ShardConn::Redis(_) => {}
            ShardConn::Mcp(m) => m.release_idle(),
        }
    }

    fn tls_failed(&mut self, why: &str) {
        if let ShardConn::Mcp(m) = self {
            m.tls_failed(why);
        }
    }

    fn close(&mut self) {
        match self {
            ShardConn::Lines(l) => l.close(),
            ShardConn::Http(h) => Protocol::close(&mut **h),
            ShardConn::Redis(r) => r.close(),
            ShardConn::Mcp(m) => m.close(),
        }
    }

    #[inline]
    fn close_after_send(&self) -> bool {
        match self {
            ShardConn::Lines(l) => l.close_after_send(),
            ShardConn::Http(h) => h.close_after_send(),
            ShardConn::Redis(r) => r.close_after_send(),
            ShardConn::Mcp(m) => m.close_after_send(),
        }
    }
}
