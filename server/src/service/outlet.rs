//! [`Outlet`]: where the JSON-RPC messages for one client go. On a newline transport it is the
//! connection's [`Outbox`] (the net ring's bytes; its `Outlet` impl, adding the newline, lives
//! here so that the net ring knows nothing of messages); on HTTP it is one request's response (plain JSON or an SSE stream) or a
//! session's standing SSE stream; for a session on another shard, the mesh back to the shard that
//! holds the connection.

use crate::netring::Outbox;
use crate::store::LogPos;

/// What a message is, so that an HTTP exchange can choose between JSON and SSE and know when its
/// response is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgKind {
    /// The final answer to the request the outlet serves.
    Response,
    /// The final answer, an error with this JSON-RPC code (HTTP maps some codes to statuses).
    Error(i32),
    /// A notification (progress, log, resource update).
    Notification,
    /// A server-to-client request (elicitation, sampling, roots).
    Request,
}

/// A destination for JSON-RPC messages. `write` appends exactly one JSON message.
pub trait Outlet {
    /// Queue one message.
    fn send(&self, kind: MsgKind, write: &mut dyn FnMut(&mut Vec<u8>));
    /// Whether messages are being dropped (the client is gone).
    fn is_closed(&self) -> bool;
    /// The request this outlet serves ended without an answer (it was cancelled: JSON-RPC sends
    /// nothing). An outlet that frames one response per request (an HTTP exchange) ends that
    /// response here, so the client's connection is not held open for an answer that never
    /// comes; a connection's outbox has nothing to do.
    fn unanswered(&self) {}
    /// Queue one notification that has a place in the cluster's log of notices (a resource
    /// update). A resumable stream numbers its event by `pos`; every other outlet sends it as
    /// any notification.
    fn send_logged(&self, pos: LogPos, write: &mut dyn FnMut(&mut Vec<u8>)) {
        let _ = pos;
        self.send(MsgKind::Notification, write);
    }
}

impl Outlet for Outbox {
    fn send(&self, _kind: MsgKind, write: &mut dyn FnMut(&mut Vec<u8>)) {
        self.send_line(|out| write(out));
    }

    fn is_closed(&self) -> bool {
        Outbox::is_closed(self)
    }
}
