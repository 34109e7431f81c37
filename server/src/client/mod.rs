//! MCP clients on the shard runtime: outbound MCP sessions over TCP (newline-delimited JSON) or
//! Streamable HTTP (plain or TLS) on a shard's own net ring, driven by futures, so that one core
//! holds thousands of client sessions without a thread each. [`run_on_shards`] starts shards that serve nothing and runs a
//! future on each; [`ShardClient::connect_url`] (or `connect`, `connect_http`) dials from one of
//! them and shakes hands (either era), and its requests resolve when their answers arrive.
//!
//! ```no_run
//! use ringmcp::client::{run_on_shards, ShardClient, ShardConnectOptions, ShardsOptions};
//! use ringmcp::proto::client::Era;
//!
//! let url = "http://127.0.0.1:8080/mcp"; // or tcp://HOST:PORT, https://...
//! let answers = run_on_shards(ShardsOptions::new(vec![0]), move |shard| async move {
//!     let client = ShardClient::connect_url(&shard, url, ShardConnectOptions::new(Era::Auto)).await?;
//!     let result = client.call_tool("echo", serde_json::json!({ "text": "hi" })).await;
//!     client.close().await;
//!     result
//! })
//! .expect("the shards ran");
//! ```
//!
//! The message logic (handshakes, retries, input rounds) is `ringmcp_proto::client`'s; this
//! module moves its messages over the net ring and keeps the futures' state. It must not open
//! sockets itself (dials go through the net ring's dialer) nor depend on the serving side
//! (engine, HTTP, runtime): a serving shard reaches it through the `Dial` it owns.

mod api;
mod conn;
mod error;
mod http;
mod http_conn;
mod link;
mod protocols;
mod run;
mod target;

pub use api::{ShardClient, ShardConnectOptions};
pub(crate) use conn::{McpClientConn, McpDial};
pub use error::ShardClientError;
pub use http::HttpEndpoint;
pub use run::{run_on_shards, Shard, ShardsError, ShardsOptions};
