//! # ringmcp-client
//!
//! The client side of the Model Context Protocol for programs that call MCP servers: a blocking
//! client for scripts and command-line tools, the authorization an MCP client owes a protected
//! server, and the `ringmcp client` command line. The protocol itself (ids, envelopes of both
//! eras, the multi-round-trip loop) is sans-IO in `ringmcp-proto`'s `client` module; this crate
//! adds sockets, processes, HTTP and OAuth, and must not grow protocol rules of its own.
//!
//! ```no_run
//! use ringmcp_client::{Client, ConnectOptions};
//! use serde_json::json;
//!
//! # fn main() -> Result<(), ringmcp_client::ClientError> {
//! // 2026-07-28 when the server speaks it, else the legacy `initialize`.
//! let mut client = Client::connect_http("http://localhost:8080/mcp", ConnectOptions::default())?;
//! for tool in client.list_tools()? {
//!     println!("{}", tool["name"]);
//! }
//! let result = client.call_tool("add", json!({ "a": 2, "b": 3 }))?;
//! println!("{result}");
//! client.close()
//! # }
//! ```
//!
//! Transports: [`http::HttpTransport`] (Streamable HTTP), [`sse::SseTransport`] (2024-11-05
//! HTTP+SSE), [`stream::LineTransport`] (a spawned
//! process's stdio, or TCP), or any [`Transport`] given to [`Client::connect`].
#![warn(missing_docs, unreachable_pub)]

pub mod auth;
pub mod authorize;
pub mod blocking;
pub mod calls;
pub mod cli;
pub mod conformance;
pub mod http;
pub mod listen;
pub mod skills;
pub mod sse;
pub mod stream;
pub mod tasks;
pub mod transport;

pub use authorize::{AuthError, Authorize, Challenge};
pub use blocking::{Client, ClientError, ConnectOptions};
pub use calls::{CallOptions, OnProgress};
pub use listen::{Heard, Listener};
pub use ringmcp_proto::client::{ClientHandler, DefaultHandler, Era, Notice};
pub use ringmcp_proto::types::SubscriptionFilter;
pub use transport::{Polled, Transport, TransportError};
