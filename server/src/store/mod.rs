//! The store seams: the state a cluster of nodes would keep outside any one process, behind traits,
//! with today's in-memory implementations as the defaults. [`SessionStore`] holds the durable part
//! of a legacy session, [`EventStore`] the numbered events of a stream for `Last-Event-ID`,
//! [`TaskStore`] the status, result and input requests of tasks, [`OnceStore`] the spent nonces
//! of single-use request states, and [`Broadcast`] carries resource updates to whoever listens
//! beyond the shard ([`NoticeLog`] across a cluster, numbered so that streams resume).
//!
//! A lookup answers at once when the answer is at hand ([`Lookup::Ready`], every call of an
//! in-memory store) and with a future otherwise ([`Lookup::Later`], a store on the network), so
//! the hit path costs no allocation and no await. Traits here name plain data only: process-local
//! state (in-flight tokens, waiting futures, outlets, wakers) stays on the shard and never passes
//! through a store. This layer imports nothing of the engine, the SDK or the transports.

mod broadcast;
mod events;
mod once;
mod session;
mod tasks;

pub use broadcast::{BadLogPos, Broadcast, LogPos, LoggedNotice, Notice, NoticeLog};
pub use events::{EventStore, MemoryEventStore, StoredEvent};
pub use once::{MemoryOnceStore, OnceStore, DEFAULT_MAX_CLAIMS};
pub use session::{LocalSessions, MemorySessionStore, SessionChange, SessionRecord, SessionStore};

pub use tasks::{Changed, MemoryTaskStore, TaskChange, TaskInfo, TaskPage, TaskState, TaskStore};

use std::future::{Future, IntoFuture};
use std::pin::Pin;

/// Why a store could not answer. Callers turn it into a clear client error (HTTP 503 with
/// JSON-RPC -32000 naming the cause), never into "not found".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    /// The store cannot be reached (connection lost, not yet connected).
    #[error("state store unavailable: {0}")]
    Unavailable(String),
    /// The store is reachable but too slow: the bounded queue of commands is full.
    #[error("state store overloaded")]
    Overloaded,
    /// The store holds no more: a configured limit was reached.
    #[error("state store full: {0}")]
    Full(String),
}

/// A store's answer: at once, or later.
pub enum Lookup<T> {
    /// The answer, without waiting.
    Ready(T),
    /// The answer once the store replies.
    Later(Pin<Box<dyn Future<Output = T>>>),
}

impl<T> Lookup<T> {
    /// The answer if it is at hand; the lookup itself (to await) if not.
    pub fn now(self) -> Result<T, Lookup<T>> {
        match self {
            Lookup::Ready(value) => Ok(value),
            later => Err(later),
        }
    }
}

impl<T: 'static> IntoFuture for Lookup<T> {
    type Output = T;
    type IntoFuture = Pin<Box<dyn Future<Output = T>>>;

    fn into_future(self) -> Self::IntoFuture {
        match self {
            Lookup::Ready(value) => Box::pin(std::future::ready(value)),
            Lookup::Later(future) => future,
        }
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Lookup<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Lookup::Ready(value) => f.debug_tuple("Ready").field(value).finish(),
            Lookup::Later(_) => f.write_str("Later(..)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_answers_now_and_later_waits() {
        assert_eq!(Lookup::Ready(3).now().ok(), Some(3));
        let later: Lookup<i32> = Lookup::Later(Box::pin(async { 4 }));
        let Err(later) = later.now() else {
            panic!("a later lookup answered at once")
        };
        assert_eq!(futures_lite::future::block_on(later.into_future()), 4);
        assert_eq!(
            futures_lite::future::block_on(Lookup::Ready(5).into_future()),
            5
        );
    }
}
