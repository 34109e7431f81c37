//! The protocol engine of one shard: turns decoded frames from a connection into handler calls and
//! writes responses and notifications to an [`Outlet`] (a connection's outbox in
//! [`crate::netring`], an HTTP exchange). It owns no sockets; the
//! net ring driver feeds it frames and flushes outboxes.

mod engine;
mod outlet;
mod seal;
mod session;
mod shard;
mod tasks;

pub use engine::{Limits, McpService};
// TODO(layers): temporary re-export; the outbox moved to `netring`, import it from there.
pub use crate::netring::{ConnRef, Outbox, ShardSignal};
pub use outlet::{MsgKind, Outlet};
pub use seal::StateSeal;
pub use session::{ClientAnswer, ClientReply, Session};
pub use shard::ShardCtx;
pub use tasks::{TaskRecord, TaskStore};
