//! The protocol engine of one shard: turns decoded frames from a connection into handler calls and
//! writes responses and notifications to an [`Outlet`] (a connection's [`Outbox`], an HTTP
//! exchange). It owns no sockets; the
//! net ring driver feeds it frames and flushes outboxes.

mod engine;
mod outbox;
mod outlet;
mod seal;
mod session;
mod shard;
mod tasks;

pub use engine::{Limits, McpService};
pub use outbox::{ConnRef, Outbox, ShardSignal};
pub use outlet::{MsgKind, Outlet};
pub use seal::StateSeal;
pub use session::{ClientAnswer, ClientReply, Session};
pub use shard::ShardCtx;
pub use tasks::{TaskRecord, TaskStore};
