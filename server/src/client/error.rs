//! [`ShardClientError`]: why an operation of a shard's MCP client failed. It owns the error type
//! only; the protocol's own failures come from `ringmcp_proto::client` and are wrapped here, not
//! redefined.

use ringmcp_proto::client::ClientError;
use std::io;

/// Why a [`ShardClient`](super::ShardClient) operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ShardClientError {
    /// The connection could not be made (refused, unreachable, or the shard's net ring is
    /// stopping).
    #[error("cannot connect: {0}")]
    Connect(#[source] io::Error),
    /// The connection ended (the server closed it, sent something unreadable, or the client was
    /// closed) before the answer came.
    #[error("connection closed: {0}")]
    Closed(String),
    /// This request's answer will not come (its HTTP response ended or broke without it); the
    /// session itself is still usable.
    #[error("no answer: {0}")]
    Lost(String),
    /// The URL given to [`ShardClient::connect_url`](super::ShardClient::connect_url) cannot be
    /// used (unparseable, an unknown scheme, no host), or its host name did not resolve.
    #[error("bad server address: {0}")]
    Address(String),
    /// The server answered, but not with what the operation needs (a JSON-RPC error, an
    /// unsupported version, a malformed result).
    #[error(transparent)]
    Protocol(#[from] ClientError),
}
