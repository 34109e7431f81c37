//! Streamable HTTP (2025-03-26 and later, 2026-07-28 stateless) and the 2024-11-05 HTTP+SSE
//! transport, served from every shard's own listener. Request framing lives in
//! `ringmcp_proto::framing::http`; this module routes requests, keeps the shard's legacy sessions
//! and turns responses into JSON bodies or SSE streams.

mod conn;
mod exchange;
mod replay;
mod service;

pub use conn::HttpConn;
pub use exchange::{Exchange, Pending, ResponseSink, StatusMap};
pub use service::{HttpConfig, HttpMesh, HttpService};
