//! [`ClientProtocols`]: what the connections of a client-only shard (one started by
//! [`run_on_shards`](super::run_on_shards), which serves nothing) speak: only dialed MCP client
//! connections. A serving shard dials MCP connections through its own protocols instead
//! (`runtime`'s `ShardProtocols`), with the same [`McpClientConn`]. No sockets here.

use super::conn::{McpClientConn, McpDial};
use crate::netring::{Outbox, Peer, Protocol, Protocols, Wire};
use std::rc::Rc;

/// The protocols of a client-only shard.
pub(crate) struct ClientProtocols;

impl Protocols for ClientProtocols {
    type Conn = McpClientConn;
    type Dial = McpDial;

    /// A client shard has no listeners, so this is never called; were it, the connection would
    /// be closed at once.
    fn open(&self, _wire: Wire, _outbox: &Rc<Outbox>, _peer: Peer<'_>) -> McpClientConn {
        McpClientConn::unwanted()
    }

    fn dialed(&self, dial: McpDial, outbox: &Rc<Outbox>, _peer: Peer<'_>) -> McpClientConn {
        dial.attach(outbox)
    }
}

impl Protocol for McpClientConn {
    type Shared = ClientProtocols;

    fn on_bytes(&mut self, _shared: &ClientProtocols, data: &[u8], _outbox: &Rc<Outbox>) {
        McpClientConn::on_bytes(self, data);
    }

    /// The server's input answers the client's output: reading it is what lets that output
    /// drain, so it is never paused.
    fn pausable(&self) -> bool {
        false
    }

    fn busy(&self, eof: bool) -> bool {
        McpClientConn::busy(self, eof)
    }

    fn release_idle(&mut self) {
        McpClientConn::release_idle(self);
    }

    fn tls_failed(&mut self, why: &str) {
        McpClientConn::tls_failed(self, why);
    }

    fn close(&mut self) {
        McpClientConn::close(self);
    }

    fn close_after_send(&self) -> bool {
        McpClientConn::close_after_send(self)
    }
}
