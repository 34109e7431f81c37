//! # ringmcp
//!
//! A Model Context Protocol server runtime and SDK, thread-per-core on io_uring: each pinned core
//! runs one glommio executor with its own listener (SO_REUSEPORT), connection slab and sessions;
//! the protocol itself lives in the sans-IO crate [`ringmcp_proto`].
//!
//! Register tools, resources and prompts with [`ServerBuilder`], then serve the [`Registry`] with
//! [`serve`]:
//!
//! ```no_run
//! use ringmcp::{serve, HandlerError, ServeOptions, ServerBuilder, Transport};
//! use ringmcp_proto::types::CallToolResult;
//!
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! struct Shout { text: String }
//!
//! let registry = ServerBuilder::new("shouter", "1.0.0")
//!     .tool("shout", "Upper-cases text", |_ctx, a: Shout| async move {
//!         Ok::<_, HandlerError>(CallToolResult::text(a.text.to_uppercase()))
//!     })
//!     .build()
//!     .expect("valid registry");
//! serve(registry, ServeOptions::new(Transport::Stdio)).expect("server ran");
//! ```
#![warn(missing_docs, unreachable_pub)]

mod auth;
pub mod client;
mod cluster;
mod engine;
mod http;
pub mod internals;
mod lines;
mod mesh;
mod metrics;
mod netring;
mod runtime;
pub mod sdk;
mod service;
pub mod store;
pub mod telemetry;
mod transport;

mod serve;

pub use auth::AuthConfig;
pub use cluster::{ClusterConfig, ClusterConfigError, JoinError, RedisUrl};
pub use engine::Limits;
pub use http::HttpConfig;
pub use netring::DriverConfig;
pub use ringmcp_proto as proto;
pub use runtime::ServeError;
pub use sdk::{
    BuildError, CancelToken, HandlerError, InputRequiredBuilder, LiveRegistry, PromptDef, Registry,
    RequestContext, ResourceDef, ServerBuilder, TemplateDef,
};
pub use serve::{serve, serve_live, ServeOptions, Transport};
pub use transport::tls::{load_server_config as load_tls_config, TlsError};
