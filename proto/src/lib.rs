//! # ringmcp-proto
//!
//! The Model Context Protocol, sans-IO: JSON-RPC envelopes, protocol revisions, typed messages,
//! newline framing, the legacy session lifecycle, request dispatch and the Streamable HTTP header
//! rules, and the PROXY protocol and `X-Forwarded-For` rules that name a client behind a load
//! balancer. Nothing here owns a socket, a runtime or a clock; every function takes bytes (or parsed
//! values) and returns values, so the whole crate can be fuzzed and benchmarked alone. The server
//! crate (`ringmcp`) does the I/O.
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod client;
pub mod dispatch;
pub mod downgrade;
pub mod forwarded;
pub mod framing;
pub mod jsonrpc;
pub mod pagination;
pub mod proxy;
pub mod ratelimit;
pub mod revision;
pub mod seal;
pub mod session;
pub mod streamable_http;
pub mod types;
pub mod uri_template;

pub use jsonrpc::{ErrorObject, Message, Notification, Parsed, Request, RequestId, Response};
pub use revision::ProtocolVersion;
