//! Streamable HTTP (2025-03-26 and later, 2026-07-28 stateless) and the 2024-11-05 HTTP+SSE
//! transport, served from every shard's own listener. Request framing lives in
//! `ringmcp_proto::framing::http` and the header rules in `ringmcp_proto::streamable_http`; this
//! module routes requests (`router`), checks who may send them (`security`), forwards those for
//! sessions of other shards (`forward`), keeps the shard's legacy sessions (`sessions`), answers
//! each transport (`stateless`, `legacy`, `legacy_sse`), holds `initialize` answers until the session
//! is stored (`held`) and turns responses into JSON bodies or SSE
//! streams (`exchange`, `replay`).

mod config;
mod conn;
mod exchange;
mod forward;
mod held;
mod legacy;
mod legacy_sse;
mod replay;
mod router;
mod security;
mod sessions;
mod stateless;

pub use config::HttpConfig;
pub(crate) use conn::HttpConn;
pub(crate) use forward::{HttpMesh, HttpPort};
pub(crate) use router::{HttpService, SessionHome};
