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

pub mod auth;
pub mod engine;
pub mod http;
pub mod internals;
pub mod lines;
pub mod mesh;
pub mod metrics;
pub mod netring;
pub mod runtime;
pub mod sdk;
pub mod service;
pub mod store;
pub mod telemetry;
pub mod transport;

mod serve;

pub use ringmcp_proto as proto;
pub use sdk::{
    BuildError, HandlerError, PromptDef, Registry, RequestContext, ResourceDef, ServerBuilder,
    TemplateDef,
};
pub use serve::{serve, ServeOptions, Transport};
