//! The protocol engine of one shard: turns decoded frames from a connection into handler calls and
//! writes responses and notifications to that connection's [`Outbox`]. It owns no sockets; the
//! net ring driver feeds it frames and flushes outboxes.

mod engine;
mod outbox;
mod session;
mod shard;

pub use engine::{Limits, McpService};
pub use outbox::{ConnRef, Outbox, ShardSignal};
pub use session::{ClientAnswer, ClientReply, Session};
pub use shard::{MeshMsg, ShardCtx};
