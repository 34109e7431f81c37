//! [`McpClientConn`]: the net ring's side of one outbound MCP connection (newline JSON over TCP).
//! It cuts received bytes into lines with `ringmcp_proto`'s ndjson codec and hands each to the
//! connection's [`Link`]; it tells the driver when the link has given the connection up. It
//! also defines what a dial names ([`McpDial`]) and the dialer seam ([`DialMcp`]) that lets a
//! shard whose dial type is larger (a serving shard's) dial MCP connections without this module
//! naming that type. Bytes in only: what goes out is written by the link, through the outbox.

use super::link::Link;
use crate::netring::{Dialer, Outbox};
use ringmcp_proto::framing::ndjson::{Frame, NdjsonCodec};
use std::net::SocketAddr;
use std::rc::Rc;

/// What a dial for an MCP client connection carries to [`Protocols::dialed`]: the link the
/// connection will feed.
///
/// [`Protocols::dialed`]: crate::netring::Protocols::dialed
pub(crate) struct McpDial(pub(super) Rc<Link>);

impl McpDial {
    /// The connection's protocol state, writing to `outbox` (called by the driver once the
    /// connect succeeded, before the dial's future resolves).
    pub(crate) fn attach(self, outbox: &Rc<Outbox>) -> McpClientConn {
        let max_line = self.0.attach(outbox.clone());
        McpClientConn {
            link: Some(self.0),
            codec: NdjsonCodec::new(max_line),
        }
    }
}

/// Dials MCP client connections on the shard's ring, whatever the shard's own dial type: one
/// virtual call per connect, none per byte.
pub(crate) trait DialMcp {
    /// Connect to `addr`; the connection will feed `dial`'s link.
    fn dial_mcp(&self, addr: SocketAddr, dial: McpDial) -> crate::netring::Dialing;
}

impl<D: From<McpDial>> DialMcp for Dialer<D> {
    fn dial_mcp(&self, addr: SocketAddr, dial: McpDial) -> crate::netring::Dialing {
        self.dial(addr, D::from(dial))
    }
}

/// One outbound MCP connection, as the net ring sees it.
pub(crate) struct McpClientConn {
    /// `None` for a connection nobody dialed (a client shard accepts none): it is closed at once.
    link: Option<Rc<Link>>,
    codec: NdjsonCodec,
}

impl McpClientConn {
    /// A connection with no link: closed as soon as the driver looks at it.
    pub(crate) fn unwanted() -> Self {
        McpClientConn {
            link: None,
            codec: NdjsonCodec::new(0),
        }
    }

    /// Bytes from the server.
    pub(crate) fn on_bytes(&mut self, data: &[u8]) {
        let Some(link) = &self.link else { return };
        if link.is_down() {
            return;
        }
        let mut oversize = false;
        self.codec.decode(data, |frame| match frame {
            Frame::Line(line) => link.on_line(line),
            Frame::Oversize => oversize = true,
        });
        if oversize {
            // The answer in that line is lost, so whoever waits for it would wait forever.
            link.fail("the server sent a line over the size limit".into());
        }
    }

    /// Whether answers are still awaited (a stopping shard keeps the connection for them); once
    /// the server has finished sending, none can come.
    pub(crate) fn busy(&self, eof: bool) -> bool {
        !eof && self.link.as_ref().is_some_and(|l| l.busy())
    }

    /// Give back the codec's buffer while the connection is idle.
    pub(crate) fn release_idle(&mut self) {
        self.codec.release();
    }

    /// The driver closed the connection (the server closed it, or the shard stops).
    pub(crate) fn close(&mut self) {
        if let Some(link) = &self.link {
            link.fail("the connection was closed".into());
            link.gone();
        }
    }

    /// The link gave the connection up: close it once what is queued has left.
    pub(crate) fn close_after_send(&self) -> bool {
        self.link.as_ref().is_none_or(|l| l.is_down())
    }
}
