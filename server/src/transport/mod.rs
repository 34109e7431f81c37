//! Transports: how bytes reach a shard. Each one only prepares file descriptors (listening sockets,
//! stdin/stdout) for the shard's net ring; framing and protocol live elsewhere.

pub mod stdio;
pub mod tcp;
pub mod tls;
