//! [`SessionStore`]: the durable part of a legacy (2025-03-26 .. 2025-11-25) session: what any
//! node needs to serve the session's next request. The live part (requests in flight, the open
//! GET stream, answers the server awaits from the client) stays on the shard that holds the
//! session and is rebuilt, empty, wherever the session is loaded.

use super::{Lookup, StoreError};
use ringmcp_proto::revision::ProtocolVersion;
use ringmcp_proto::types::{Implementation, LogLevel};
use serde_json::Value;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

/// What outlives the node that answered `initialize`.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionRecord {
    /// The `Mcp-Session-Id`.
    pub id: String,
    /// The negotiated revision.
    pub revision: ProtocolVersion,
    /// The capabilities the client declared.
    pub client_capabilities: Value,
    /// Who the client said it is.
    pub client_info: Option<Implementation>,
    /// The level asked with `logging/setLevel`, if any.
    pub log_level: Option<LogLevel>,
    /// URIs of `resources/subscribe`.
    pub subscriptions: BTreeSet<String>,
    /// Who may use the session (the authenticated principal that created it), when auth is on.
    pub principal: Option<Arc<str>>,
    /// Milliseconds since the Unix epoch when the session was created.
    pub created_ms: u64,
    /// Milliseconds since the Unix epoch of the last use a store was told of.
    pub touched_ms: u64,
}

/// A change to a stored session, made through whichever node serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionChange {
    /// `logging/setLevel`.
    LogLevel(LogLevel),
    /// `resources/subscribe`.
    Subscribe(String),
    /// `resources/unsubscribe`.
    Unsubscribe(String),
}

/// Where legacy sessions are kept. Every method names a session by id, so that an implementation
/// can be a key per session on a network store with a time to live.
pub trait SessionStore {
    /// Keep a new session. Completes before `initialize` is answered, so that a session a client
    /// was told of can be found by every node.
    fn create(&self, record: SessionRecord) -> Lookup<Result<(), StoreError>>;

    /// The session named `id`; `Ok(None)` when there is none (never created, deleted or expired:
    /// the client's cue to initialize again), an error when the store cannot tell.
    fn load(&self, id: &str) -> Lookup<Result<Option<SessionRecord>, StoreError>>;

    /// Apply a change to the stored session (no-op when it is gone).
    fn change(&self, id: &str, change: SessionChange) -> Lookup<Result<(), StoreError>>;

    /// The session was used at `now_ms`: keep it alive. Fire and forget; implementations may
    /// batch these.
    fn touch(&self, id: &str, now_ms: u64);

    /// Forget the session; `true` when there was one. Once this completes, no node loads it.
    fn remove(&self, id: &str) -> Lookup<Result<bool, StoreError>>;

    /// How often a session in use is worth a [`Self::touch`]: a network store refreshes a time
    /// to live with it, and touching more often only costs.
    fn touch_every(&self) -> Duration {
        Duration::from_secs(1)
    }

    /// A count that grows whenever a copy of a session loaded by this process may have gone
    /// stale (another node changed or deleted it). Read it when a load completes; while it has
    /// not moved, the copy is current and [`Self::stale`] need not be asked.
    fn generation(&self) -> u64 {
        0
    }

    /// Whether the copy of session `id` loaded when [`Self::generation`] read `at` may differ
    /// from the stored session (the holder loads it again).
    fn stale(&self, _id: &str, _at: u64) -> bool {
        false
    }

    /// Hear the ids of sessions whose copies went stale, as soon as the store learns of it (a
    /// holder with a stream open refreshes at once rather than on the next request).
    fn on_stale(&self, _listener: Box<dyn Fn(&str)>) {}

    /// Why the store cannot answer now, if it cannot (`/ready` says so).
    fn unavailable(&self) -> Option<String> {
        None
    }
}

/// What a single node runs: each shard's table of live sessions is the only copy of a session,
/// so there is nothing to keep twice (an idle session costs what it did before the seam), and a
/// session no shard holds does not exist.
#[derive(Debug, Default)]
pub struct LocalSessions;

impl SessionStore for LocalSessions {
    fn create(&self, _record: SessionRecord) -> Lookup<Result<(), StoreError>> {
        Lookup::Ready(Ok(()))
    }

    fn load(&self, _id: &str) -> Lookup<Result<Option<SessionRecord>, StoreError>> {
        Lookup::Ready(Ok(None))
    }

    fn change(&self, _id: &str, _change: SessionChange) -> Lookup<Result<(), StoreError>> {
        Lookup::Ready(Ok(()))
    }

    fn touch(&self, _id: &str, _now_ms: u64) {}

    fn remove(&self, _id: &str) -> Lookup<Result<bool, StoreError>> {
        Lookup::Ready(Ok(false))
    }
}

/// Every session's record in a map: the reference implementation of the seam (what a network
/// store must behave like), used by the tests.
#[derive(Debug, Default)]
pub struct MemorySessionStore {
    sessions: RefCell<HashMap<String, SessionRecord>>,
}

impl MemorySessionStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl SessionStore for MemorySessionStore {
    fn create(&self, record: SessionRecord) -> Lookup<Result<(), StoreError>> {
        self.sessions.borrow_mut().insert(record.id.clone(), record);
        Lookup::Ready(Ok(()))
    }

    fn load(&self, id: &str) -> Lookup<Result<Option<SessionRecord>, StoreError>> {
        Lookup::Ready(Ok(self.sessions.borrow().get(id).cloned()))
    }

    fn change(&self, id: &str, change: SessionChange) -> Lookup<Result<(), StoreError>> {
        if let Some(record) = self.sessions.borrow_mut().get_mut(id) {
            match change {
                SessionChange::LogLevel(level) => record.log_level = Some(level),
                SessionChange::Subscribe(uri) => {
                    record.subscriptions.insert(uri);
                }
                SessionChange::Unsubscribe(uri) => {
                    record.subscriptions.remove(&uri);
                }
            }
        }
        Lookup::Ready(Ok(()))
    }

    fn touch(&self, id: &str, now_ms: u64) {
        if let Some(record) = self.sessions.borrow_mut().get_mut(id) {
            record.touched_ms = record.touched_ms.max(now_ms);
        }
    }

    fn remove(&self, id: &str) -> Lookup<Result<bool, StoreError>> {
        Lookup::Ready(Ok(self.sessions.borrow_mut().remove(id).is_some()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str) -> SessionRecord {
        SessionRecord {
            id: id.into(),
            revision: ProtocolVersion::V2025_11_25,
            client_capabilities: serde_json::json!({"roots": {}}),
            client_info: None,
            log_level: None,
            subscriptions: BTreeSet::new(),
            principal: Some(Arc::from("alice")),
            created_ms: 10,
            touched_ms: 10,
        }
    }

    fn now<T>(l: Lookup<T>) -> T {
        match l.now() {
            Ok(v) => v,
            Err(_) => panic!("the in-memory store must answer at once"),
        }
    }

    #[test]
    fn create_load_change_touch_remove() {
        let store = MemorySessionStore::new();
        assert_eq!(now(store.load("s1")), Ok(None));
        now(store.create(record("s1"))).unwrap_or_else(|e| panic!("{e}"));
        now(store.change("s1", SessionChange::LogLevel(LogLevel::Error)))
            .unwrap_or_else(|e| panic!("{e}"));
        now(store.change("s1", SessionChange::Subscribe("file:///a".into())))
            .unwrap_or_else(|e| panic!("{e}"));
        now(store.change("s1", SessionChange::Subscribe("file:///b".into())))
            .unwrap_or_else(|e| panic!("{e}"));
        now(store.change("s1", SessionChange::Unsubscribe("file:///a".into())))
            .unwrap_or_else(|e| panic!("{e}"));
        store.touch("s1", 50);
        store.touch("s1", 20);
        let got = now(store.load("s1"))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("s1 is gone"));
        assert_eq!(got.log_level, Some(LogLevel::Error));
        assert_eq!(
            got.subscriptions.into_iter().collect::<Vec<_>>(),
            vec!["file:///b".to_string()]
        );
        assert_eq!(got.touched_ms, 50, "a late touch must not move time back");
        assert_eq!(now(store.remove("s1")), Ok(true));
        assert_eq!(now(store.remove("s1")), Ok(false));
        assert_eq!(now(store.load("s1")), Ok(None));
        // A change to a session that is gone creates nothing.
        now(store.change("s1", SessionChange::Subscribe("x".into())))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(now(store.load("s1")), Ok(None));
    }
}
