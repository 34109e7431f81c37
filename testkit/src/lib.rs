//! # ringmcp-testkit
//!
//! What ringmcp's tests, benches and fuzz targets share, so that they read like the protocol (the
//! h2-support way): [`msg`] builds requests and notifications (`msg::call(7, "echo").args(..)`,
//! `.stateless()` for a 2026-07-28 request), and [`expect`] checks answers
//! (`expect::error(&answer, 7, -32602)`), and [`engine`] runs one shard's engine in memory on
//! the [`executor`] every in-memory test shares. Nothing here opens a socket or spawns a process.
#![warn(missing_docs, unreachable_pub)]

pub mod engine;
pub mod executor;
pub mod expect;
pub mod msg;

/// The stateless revision.
pub const STATELESS: &str = "2026-07-28";
/// The session-based revisions, oldest first.
pub const SESSIONFUL: [&str; 4] = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"];
