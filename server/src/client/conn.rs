//! [`McpClientConn`]: the net ring's side of one outbound MCP connection: newline JSON over TCP
//! (this file: it cuts received bytes into lines with `ringmcp_proto`'s ndjson codec and hands
//! each to the connection's [`Link`]), or one keep-alive connection of a Streamable HTTP session
//! ([`McpHttpConn`]). It tells the driver when the link has given the connection up. It also
//! defines what a dial names ([`McpDial`]) and the dialer seam ([`DialMcp`]) that lets a shard
//! whose dial type is larger (a serving shard's) dial MCP connections without this module naming
//! that type. Bytes in only: what goes out is written by the link, through the outbox.

use super::http_conn::McpHttpConn;
use super::link::Link;
use crate::netring::{ClientTls, Dialer, Outbox};
use ringmcp_proto::framing::ndjson::{Frame, NdjsonCodec};
use std::cell::Cell;
use std::net::SocketAddr;
use std::rc::Rc;

/// What a dial for an MCP client connection carries to [`Protocols::dialed`]: the link the
/// connection will feed, and for HTTP which connection of the session's pool it is.
///
/// [`Protocols::dialed`]: crate::netring::Protocols::dialed
pub(crate) struct McpDial(Dial);

enum Dial {
    Lines(Rc<Link>),
    Http {
        link: Rc<Link>,
        slot: usize,
        sent: Rc<Cell<u32>>,
    },
}

impl McpDial {
    /// The one connection of a newline-JSON session.
    pub(super) fn lines(link: Rc<Link>) -> Self {
        McpDial(Dial::Lines(link))
    }

    /// Connection `slot` of an HTTP session's pool, whose requests are counted in `sent`.
    pub(super) fn http(link: Rc<Link>, slot: usize, sent: Rc<Cell<u32>>) -> Self {
        McpDial(Dial::Http { link, slot, sent })
    }

    /// The connection's protocol state, writing to `outbox` (called by the driver once the
    /// connect succeeded, before the dial's future resolves).
    pub(crate) fn attach(self, outbox: &Rc<Outbox>) -> McpClientConn {
        match self.0 {
            Dial::Lines(link) => {
                let max_line = link.attach(outbox.clone());
                McpClientConn(Wire::Lines {
                    link: Some(link),
                    codec: NdjsonCodec::new(max_line),
                })
            }
            Dial::Http { link, slot, sent } => {
                let conn = McpHttpConn::new(link.clone(), slot, sent);
                // Attached after the state exists: attaching writes the first waiting request.
                link.http_attach(slot, outbox.clone());
                McpClientConn(Wire::Http(Box::new(conn)))
            }
        }
    }
}

/// Dials MCP client connections on the shard's ring, whatever the shard's own dial type: one
/// virtual call per connect, none per byte.
pub(crate) trait DialMcp {
    /// Connect to `addr` (over TLS when `tls` says so); the connection will feed `dial`'s link.
    fn dial_mcp(
        &self,
        addr: SocketAddr,
        tls: Option<ClientTls>,
        dial: McpDial,
    ) -> crate::netring::Dialing;
}

impl<D: From<McpDial>> DialMcp for Dialer<D> {
    fn dial_mcp(
        &self,
        addr: SocketAddr,
        tls: Option<ClientTls>,
        dial: McpDial,
    ) -> crate::netring::Dialing {
        self.dial_tls(addr, tls, D::from(dial))
    }
}

/// One outbound MCP connection, as the net ring sees it.
pub(crate) struct McpClientConn(Wire);

enum Wire {
    Lines {
        /// `None` for a connection nobody dialed (a client shard accepts none): it is closed at
        /// once.
        link: Option<Rc<Link>>,
        codec: NdjsonCodec,
    },
    Http(Box<McpHttpConn>),
}

impl McpClientConn {
    /// A connection with no link: closed as soon as the driver looks at it.
    pub(crate) fn unwanted() -> Self {
        McpClientConn(Wire::Lines {
            link: None,
            codec: NdjsonCodec::new(0),
        })
    }

    /// Bytes from the server.
    pub(crate) fn on_bytes(&mut self, data: &[u8]) {
        let (link, codec) = match &mut self.0 {
            Wire::Http(http) => return http.on_bytes(data),
            Wire::Lines { link, codec } => (link, codec),
        };
        let Some(link) = link else { return };
        if link.is_down() {
            return;
        }
        let mut oversize = false;
        codec.decode(data, |frame| match frame {
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
        match &self.0 {
            Wire::Http(http) => http.busy(eof),
            Wire::Lines { link, .. } => !eof && link.as_ref().is_some_and(|l| l.busy()),
        }
    }

    /// Give back the codec's buffer while the connection is idle.
    pub(crate) fn release_idle(&mut self) {
        match &mut self.0 {
            Wire::Http(http) => http.release_idle(),
            Wire::Lines { codec, .. } => codec.release(),
        }
    }

    /// TLS failed: what waits on the connection fails with `why`.
    pub(crate) fn tls_failed(&mut self, why: &str) {
        match &mut self.0 {
            Wire::Http(http) => http.give_up(why.to_owned()),
            Wire::Lines {
                link: Some(link), ..
            } => link.fail(why.to_owned()),
            Wire::Lines { link: None, .. } => {}
        }
    }

    /// The driver closed the connection (the server closed it, or the shard stops).
    pub(crate) fn close(&mut self) {
        match &mut self.0 {
            Wire::Http(http) => http.close(),
            Wire::Lines {
                link: Some(link), ..
            } => {
                link.fail("the connection was closed".into());
                link.gone();
            }
            Wire::Lines { link: None, .. } => {}
        }
    }

    /// The link gave the connection up: close it once what is queued has left.
    pub(crate) fn close_after_send(&self) -> bool {
        match &self.0 {
            Wire::Http(http) => http.close_after_send(),
            Wire::Lines { link, .. } => link.as_ref().is_none_or(|l| l.is_down()),
        }
    }
}
