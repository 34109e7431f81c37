//! What ringmcp's own bench, test kit and client need from the inside, in one place: the engine
//! and its shard state (so a test can run the engine in memory, without sockets), the net ring's
//! provided-buffer ring and eventfd (so the load generator shares them), and the shard mesh (for its
//! benchmark). Not part of the SDK's stable API: server authors use the crate root
//! ([`crate::ServerBuilder`], [`crate::serve`]); these names may change with any release.

pub use crate::engine::{Limits, McpService};
pub use crate::mesh::Mesh;
pub use crate::netring::{BufRing, EventFd, ShardSignal};
pub use crate::service::{MsgKind, Outlet, Session, ShardCtx};
