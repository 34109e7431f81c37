//! [`LineConn`]: a newline-delimited JSON-RPC connection (raw TCP, TLS, stdio) as the net ring's
//! [`Protocol`]: the line codec and the connection's one legacy session, whose frames go to the
//! shard's [`McpService`]. Answers reach the connection's [`Outbox`] through its `Outlet` impl.
//! Nothing here touches a socket.

use crate::engine::McpService;
use crate::netring::{Outbox, Protocol};
use crate::service::{Outlet, Session};
use ringmcp_proto::framing::NdjsonCodec;
use std::rc::Rc;

/// One line connection's protocol state.
pub(crate) struct LineConn {
    session: Rc<Session>,
    /// The connection's outbox, as the session's outlet.
    outlet: Rc<dyn Outlet>,
    codec: NdjsonCodec,
}

impl LineConn {
    /// A connection answering into `outbox`, with the engine's message limit.
    pub(crate) fn new(service: &McpService, outbox: &Rc<Outbox>) -> Self {
        let outlet: Rc<dyn Outlet> = outbox.clone();
        LineConn {
            session: Rc::new(Session::connection(outlet.clone())),
            outlet,
            codec: NdjsonCodec::new(service.max_message_bytes()),
        }
    }
}

impl Protocol for LineConn {
    type Shared = Rc<McpService>;

    fn on_bytes(&mut self, service: &Rc<McpService>, data: &[u8], _outbox: &Rc<Outbox>) {
        let (session, outlet) = (&self.session, &self.outlet);
        self.codec
            .decode(data, |frame| service.on_frame(session, outlet, frame));
    }

    fn busy(&self, _eof: bool) -> bool {
        self.session.inflight() > 0
    }

    fn release_idle(&mut self) {
        self.codec.release();
        self.session.release_idle();
    }

    fn close(&mut self) {
        self.session.close();
    }
}
