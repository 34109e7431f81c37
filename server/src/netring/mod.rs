//! The shard's socket path on its own io_uring ring ("net ring"), inside the shard's glommio
//! executor: multishot accept, multishot recv into a provided buffer ring, batched sends. glommio
//! keeps scheduling, timers and channels; the net loop sleeps on an eventfd read through glommio
//! when there is nothing to do. See docs/ARCHITECTURE.md for why (glommio's own sockets cost about
//! 1.7-1.9x the CPU per request of this path here).
//!
//! This module owns the ring and every fd given to it. It knows nothing of MCP beyond handing
//! decoded frames to the [`crate::service::McpService`] and taking bytes out of outboxes.

mod bufring;
mod driver;
mod tls;

pub use bufring::BufRing;
pub use driver::{DriverConfig, NetDriver, Source, Wire};
