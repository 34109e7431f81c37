//! How a client moves messages: the [`Transport`] trait that HTTP, stdio and TCP implement, and
//! the errors they share. A transport sends each message the protocol layer builds and yields the
//! messages the server sends back, in order; it owns connections, processes and streams, and must
//! not interpret MCP methods (that is `ringmcp_proto::client`'s job).

use ringmcp_proto::client::Outgoing;
use ringmcp_proto::Message;
use std::time::Duration;

/// What waiting a while for a message brought.
#[derive(Debug)]
pub enum Polled {
    /// A message from the server.
    Message(Message),
    /// Nothing within the wait; more may come.
    Quiet,
    /// Nothing more can arrive (the stream or process ended, no stream is open).
    Closed,
}

/// A bidirectional path to one MCP server.
pub trait Transport: Send {
    /// Send one message: a request, a notification, or an answer to a server request.
    fn send(&mut self, message: &Outgoing) -> Result<(), TransportError>;
    /// Send one message whose answer is wanted within `limit`: over HTTP the POST (and the
    /// answer stream it opens) is cut at the limit, as a server may hold the POST's answer.
    fn send_within(
        &mut self,
        message: &Outgoing,
        limit: Option<Duration>,
    ) -> Result<(), TransportError> {
        let _ = limit;
        self.send(message)
    }
    /// The next message from the server, blocking until one arrives; `None` when nothing more
    /// can arrive (the stream or process ended, or, over HTTP, no answer is outstanding).
    fn recv(&mut self) -> Result<Option<Message>, TransportError>;
    /// The next message from the server within `wait`, whether or not an answer is owed (a
    /// listener waits for notifications this way). The default blocks like [`Self::recv`].
    fn recv_timeout(&mut self, wait: Duration) -> Result<Polled, TransportError> {
        let _ = wait;
        Ok(match self.recv()? {
            Some(message) => Polled::Message(message),
            None => Polled::Closed,
        })
    }
    /// Whether an answer to a request sent may still arrive (after [`Self::recv_timeout`] came
    /// back quiet). Over HTTP, not once every answer stream has ended.
    fn answer_possible(&self) -> bool {
        true
    }
    /// The handshake is done (HTTP opens the standalone stream of a legacy session here).
    fn ready(&mut self) -> Result<(), TransportError> {
        Ok(())
    }
    /// End the session (HTTP: `DELETE` it; stdio: close the server's input and wait for it).
    fn close(&mut self) -> Result<(), TransportError>;
}

/// Why a transport failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// The server refused the message with this HTTP status and no JSON-RPC answer.
    #[error("HTTP status {status}: {body}")]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body, for the error message.
        body: String,
    },
    /// An HTTP exchange failed (connection, TLS, protocol).
    #[error("HTTP: {0}")]
    Http(#[from] reqwest::Error),
    /// A socket, pipe or process failed.
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    /// Authorization failed.
    #[error(transparent)]
    Auth(#[from] crate::authorize::AuthError),
    /// The server broke the transport's rules (a stream that cannot be resumed, a bad frame).
    #[error("transport protocol: {0}")]
    Protocol(String),
}

/// The messages in one frame (a JSON-RPC message or batch); unreadable ones are logged and
/// dropped, as a client cannot answer them.
pub(crate) fn parse_frame(bytes: &[u8]) -> Vec<Message> {
    use ringmcp_proto::Parsed;
    let items = match ringmcp_proto::jsonrpc::parse(bytes) {
        Parsed::Single(item) => vec![item],
        Parsed::Batch(items) => items,
    };
    items
        .into_iter()
        .filter_map(|item| match item {
            Ok(message) => Some(message),
            Err(rejected) => {
                tracing::warn!(error = %rejected.error, "dropping an unreadable message from the server");
                None
            }
        })
        .collect()
}
