//! The shard's socket path on its own io_uring ring ("net ring"), inside the shard's glommio
//! executor: multishot accept, multishot recv into a provided buffer ring, batched sends. glommio
//! keeps scheduling, timers and channels; the net loop sleeps on an eventfd read through glommio
//! when there is nothing to do. See docs/ARCHITECTURE.md for why (glommio's own sockets cost about
//! 1.7-1.9x the CPU per request of this path here).
//!
//! This module owns the ring and every fd given to it, and knows bytes and sockets only: received
//! bytes go to a connection's [`Protocol`] (opened by the [`Protocols`] the driver is generic
//! over), and whatever the protocol answers is taken out of the connection's [`Outbox`]. It must
//! not import the protocol engine or the HTTP layer.

mod bufring;
mod conn;
mod drain;
mod driver;
mod io;
mod listener;
mod op;
mod outbox;
mod protocol;
mod sys;
mod tls;

pub use bufring::BufRing;
pub use driver::DriverConfig;
pub(crate) use driver::{NetDriver, ShardIo, Source};
pub(crate) use outbox::Outbox;
pub use outbox::ShardSignal;
pub(crate) use protocol::{Peer, Protocol, Protocols, SweepClock, Swept, Wire};
pub use sys::EventFd;
