//! The shard's socket path on its own io_uring ring ("net ring"), inside the shard's glommio
//! executor: multishot accept, outbound connects, multishot recv into a provided buffer ring,
//! batched sends. glommio keeps scheduling, timers and channels; the net loop sleeps on an eventfd
//! read through glommio when there is nothing to do. See docs/ARCHITECTURE.md for why (glommio's
//! own sockets cost about 1.7-1.9x the CPU per request of this path here).
//!
//! This module owns the ring and every fd given to it, and knows bytes and sockets only: received
//! bytes go to a connection's [`Protocol`] (opened by the [`Protocols`] the driver is generic
//! over), and whatever the protocol answers is taken out of the connection's [`Outbox`]. It must
//! not import the protocol engine or the HTTP layer.
//!
//! Outbound connections (for the cluster mode: one Redis connection per shard, spoken from the
//! shard's own ring) are asked for through a [`Dialer`](dial::Dialer) from [`NetDriver::dialer`]:
//! `dial(addr, dial)` queues the request and rings the doorbell, the driver makes a non-blocking
//! socket and queues an `IORING_OP_CONNECT`, and the [`Dialing`](dial::Dialing) future resolves to
//! a [`Dialed`](dial::Dialed) connection or to the connect's error. A connected socket joins the
//! slab like an accepted one, its protocol state made by [`Protocols::dialed`] from the caller's
//! [`Protocols::Dial`] value (static dispatch, as for accepted connections). The rules: addresses
//! are resolved before (no lookup on a shard); timeouts and reconnecting are the caller's, and
//! dropping the future gives the dial up (its connect is cancelled, or its connection closed); a
//! failed connect closes its socket and reports the error; a stopping shard cancels its connects
//! and fails new dials, and drains dialed connections like the others; a stdio shard does not
//! dial.

mod bufring;
mod conn;
mod connect;
mod dial;
mod drain;
mod driver;
mod flow;
mod io;
mod linger;
mod listener;
mod op;
mod outbox;
mod protocol;
mod sys;
mod tls;

pub use bufring::BufRing;
pub(crate) use dial::{Dialer, Dialing};
pub use driver::DriverConfig;
pub(crate) use driver::{NetDriver, ShardIo, Source};
pub(crate) use outbox::Outbox;
pub use outbox::ShardSignal;
pub(crate) use protocol::{Peer, Protocol, Protocols, SweepClock, Swept, Wire};
pub use sys::EventFd;
pub(crate) use tls::ClientTls;
