//! Shard-local protocol state: sessions, outlets (a connection's outbox in [`crate::netring`], an
//! HTTP exchange), the shard context, tasks, sealed request states and cancellation tokens. It
//! owns no sockets and must not import the SDK ([`crate::sdk`]) or the engine
//! ([`crate::engine`]), which are built on top of it.

mod cancel;
mod durable;
pub(crate) mod ids;
mod outlet;
mod seal;
mod session;
mod shard;
mod task_results;
mod tasks;

pub use cancel::CancelToken;
pub(crate) use cancel::{CancelHost, CancelState};
pub(crate) use durable::{now_ms, Durable, Relay};
pub use outlet::{MsgKind, Outlet};
pub(crate) use seal::{binding, OpenError, StateSeal};
pub(crate) use session::ClientAnswer;
pub use session::Session;
pub(crate) use shard::ListChanges;
pub use shard::ShardCtx;
pub(crate) use shard::ShardMsg;
pub(crate) use task_results::{
    created_legacy, created_modern, detailed_modern, legacy_list, legacy_payload, legacy_task,
};
pub(crate) use tasks::{resolve, settle, store_error, LiveTask, TaskTable};
