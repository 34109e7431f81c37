//! # ringmcp-client
//!
//! The client side of the Model Context Protocol for programs that call MCP servers: a blocking
//! client for scripts and command-line tools, the authorization an MCP client owes a protected
//! server, and the `ringmcp client` command line. The protocol itself (ids, envelopes of both
//! eras, the multi-round-trip loop) is sans-IO in `ringmcp-proto`'s `client` module; this crate
//! adds sockets, processes, HTTP and OAuth, and must not grow protocol rules of its own.
#![warn(missing_docs, unreachable_pub)]

pub mod auth;
