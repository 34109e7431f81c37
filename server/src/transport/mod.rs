//! Transports: how bytes reach a shard. Each one only prepares file descriptors (listening sockets,
//! stdin/stdout) for the shard's net ring; framing and protocol live elsewhere.

pub(crate) mod stdio;
pub(crate) mod tcp;
pub(crate) mod tls;
