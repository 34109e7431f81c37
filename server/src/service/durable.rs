//! [`Durable`]: the link from a live [`Session`] to its record in a [`SessionStore`], for sessions
//! that outlive their connection (legacy Streamable HTTP and 2024-11-05 `/sse` sessions). The
//! engine reports what changes the durable part (initialize, log level, subscriptions); this
//! module turns it into store calls and a session back from a record. Store failures are logged:
//! the live session goes on, and what was not stored is what another node would not know.

use super::session::{ClientAnswer, Session};
use super::shard::ShardCtx;
use crate::store::{Lookup, SessionChange, SessionRecord, SessionStore, StoreError};
use ringmcp_proto::jsonrpc::RequestId;
use ringmcp_proto::session::LegacySession;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// Carries a client's answers across nodes: in a cluster, a session's requests to its client
/// (elicitation, sampling, roots) wait on the node that sent them, while the client's answer may
/// reach any node. Ids of such requests name their sender (`<origin>:<n>`), and a node that does
/// not hold the request relays the answer there.
pub(crate) trait Relay {
    /// What ids of requests sent from this shard start with: `<node>:<shard>`.
    fn origin(&self) -> &str;
    /// Hand `answer` to request `id` of session `session`, sent from `to` (an origin).
    fn relay(&self, to: &str, session: &str, id: &RequestId, answer: &ClientAnswer);
    /// Cancel the client's request `id` of session `session`, wherever it runs.
    fn cancel(&self, session: &str, id: &RequestId);
    /// Hand a 2024-11-05 `POST /messages` body to the 2024-11-05 session `session`, whose stream
    /// the shard `to` (an origin) holds; `principal` is who posted it.
    fn post(&self, to: &str, session: &str, principal: Option<&str>, body: &[u8]);
}

/// Where a session's durable part is kept.
pub(crate) struct Durable {
    store: Rc<dyn SessionStore>,
    /// The session's id (its `Mcp-Session-Id`).
    id: Rc<str>,
    /// Who created it.
    principal: Option<Arc<str>>,
    /// The store's answer to the create `initialize` started, until whoever answers
    /// `initialize` takes it to wait for it.
    created: RefCell<Option<Lookup<Result<(), StoreError>>>>,
    /// Carries answers to requests sent from other nodes (cluster mode).
    relay: Option<Rc<dyn Relay>>,
}

impl Durable {
    /// Session `id` of `principal`, kept in `store`.
    pub(crate) fn new(
        store: Rc<dyn SessionStore>,
        id: Rc<str>,
        principal: Option<Arc<str>>,
    ) -> Self {
        Durable {
            store,
            id,
            principal,
            created: RefCell::new(None),
            relay: None,
        }
    }

    /// The session's id.
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    /// Answers to this session's requests may reach other nodes: carried by `relay`.
    pub(crate) fn relayed(mut self, relay: Option<Rc<dyn Relay>>) -> Self {
        self.relay = relay;
        self
    }
}

impl Session {
    /// The id of the `n`th request to the client: a number on one node; in a cluster, a string
    /// naming the node and shard that await the answer.
    pub(crate) fn client_request_id(&self, n: u64) -> RequestId {
        match self.durable.as_ref().and_then(|d| d.relay.as_ref()) {
            Some(relay) => RequestId::from_value(&serde_json::Value::String(format!(
                "{}:{n}",
                relay.origin()
            )))
            .unwrap_or_else(|| RequestId::number(n)),
            None => RequestId::number(n),
        }
    }

    /// The client cancelled a request this shard does not run: in a cluster, tell the others.
    pub(crate) fn relay_cancel(&self, id: &RequestId) {
        if let Some(durable) = &self.durable {
            if let Some(relay) = &durable.relay {
                relay.cancel(&durable.id, id);
            }
        }
    }

    /// An answer to no request of this shard: relay it to the node whose id it names, if that is
    /// another one. Returns whether it was sent on.
    pub(crate) fn relay_answer(&self, id: &RequestId, answer: &ClientAnswer) -> bool {
        let Some(durable) = &self.durable else {
            return false;
        };
        let Some(relay) = &durable.relay else {
            return false;
        };
        let serde_json::Value::String(text) = id.to_value() else {
            return false;
        };
        match text.rsplit_once(':') {
            Some((origin, _)) if origin != relay.origin() => {
                relay.relay(origin, &durable.id, id, answer);
                true
            }
            _ => false,
        }
    }
}

/// Milliseconds since the Unix epoch.
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn settle(what: &'static str, id: Rc<str>, lookup: Lookup<Result<(), StoreError>>) {
    match lookup {
        Lookup::Ready(Ok(())) => {}
        Lookup::Ready(Err(e)) => {
            tracing::warn!(session = %short(&id), error = %e, what, "session state not stored")
        }
        Lookup::Later(done) => {
            glommio::spawn_local(async move {
                if let Err(e) = done.await {
                    tracing::warn!(session = %short(&id), error = %e, what, "session state not stored");
                }
            })
            .detach();
        }
    }
}

/// The first characters of a session id, enough for a log line (the id is a bearer secret).
fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

impl Session {
    /// `initialize` was answered: keep the session's durable part.
    pub(crate) fn persist_initialized(&self) {
        let Some(durable) = &self.durable else { return };
        let legacy = self.legacy.borrow();
        let Some(revision) = legacy.version() else {
            return;
        };
        let now = now_ms();
        let record = SessionRecord {
            id: durable.id.to_string(),
            revision,
            client_capabilities: legacy.client_capabilities().clone(),
            client_info: legacy.client_info().cloned(),
            log_level: legacy.log_level(),
            subscriptions: self.subscriptions.borrow().iter().cloned().collect(),
            principal: durable.principal.clone(),
            created_ms: now,
            touched_ms: now,
        };
        *durable.created.borrow_mut() = Some(durable.store.create(record));
    }

    /// The store's answer to the create `initialize` started, if it has not been taken: the
    /// answer to `initialize` must wait for it, so that any node finds the session.
    pub(crate) fn take_created(&self) -> Option<Lookup<Result<(), StoreError>>> {
        self.durable.as_ref()?.created.borrow_mut().take()
    }

    /// Let a pending create finish on its own (a transport whose answers do not wait for it).
    pub(crate) fn settle_created(&self) {
        if let (Some(durable), Some(created)) = (&self.durable, self.take_created()) {
            settle("create", durable.id.clone(), created);
        }
    }

    /// The stored session was changed through another node: take its log level and
    /// subscriptions (the rest of the durable part is fixed at `initialize`).
    pub(crate) fn refresh(self: &Rc<Self>, record: SessionRecord, shard: &ShardCtx) {
        if let Some(level) = record.log_level {
            self.legacy.borrow_mut().set_log_level(level);
        }
        let mut subscriptions = self.subscriptions.borrow_mut();
        for uri in &record.subscriptions {
            if !subscriptions.contains(uri) {
                shard.subscribe(uri, self);
            }
        }
        *subscriptions = record.subscriptions.into_iter().collect();
    }

    /// The durable part changed.
    pub(crate) fn persist(&self, change: SessionChange) {
        if let Some(durable) = &self.durable {
            settle(
                "change",
                durable.id.clone(),
                durable.store.change(&durable.id, change),
            );
        }
    }

    /// A session loaded from its record: ready, with the stored log level and subscriptions (the
    /// caller registers the subscriptions with its shard).
    pub(crate) fn restore(
        notify: Option<Rc<dyn super::Outlet>>,
        durable: Durable,
        record: SessionRecord,
    ) -> Self {
        let session = Session::stored(notify, durable);
        *session.legacy.borrow_mut() = LegacySession::restore(
            record.revision,
            record.client_info,
            record.client_capabilities,
            record.log_level,
        );
        session
            .subscriptions
            .borrow_mut()
            .extend(record.subscriptions);
        session
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::MemorySessionStore;
    use ringmcp_proto::revision::ProtocolVersion;
    use ringmcp_proto::types::{InitializeParams, LogLevel};

    fn now<T>(l: Lookup<T>) -> T {
        l.now()
            .unwrap_or_else(|_| panic!("in-memory stores answer at once"))
    }

    #[test]
    fn what_the_engine_changes_reaches_the_store_and_comes_back() {
        let store = Rc::new(MemorySessionStore::new());
        let durable = |store: &Rc<MemorySessionStore>| {
            Durable::new(store.clone(), Rc::from("00abc"), Some(Arc::from("alice")))
        };
        let session = Session::stored(None, durable(&store));
        let params: InitializeParams = serde_json::from_value(serde_json::json!({
            "protocolVersion": "2025-06-18",
            "capabilities": {"roots": {}},
            "clientInfo": {"name": "c", "version": "1"}
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            session.legacy.borrow_mut().initialize(&params).ok(),
            Some(ProtocolVersion::V2025_06_18)
        );
        assert_eq!(
            now(store.load("00abc")),
            Ok(None),
            "nothing before initialize is answered"
        );
        session.persist_initialized();
        session.settle_created();
        session.persist(SessionChange::LogLevel(LogLevel::Warning));
        session.persist(SessionChange::Subscribe("demo://a".into()));
        let record = now(store.load("00abc"))
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("the record was not created"));
        assert_eq!(record.revision, ProtocolVersion::V2025_06_18);
        assert_eq!(record.principal.as_deref(), Some("alice"));
        assert_eq!(record.client_capabilities, serde_json::json!({"roots": {}}));
        let restored = Session::restore(None, durable(&store), record);
        let legacy = restored.legacy.borrow();
        assert_eq!(legacy.version(), Some(ProtocolVersion::V2025_06_18));
        assert_eq!(legacy.log_level(), Some(LogLevel::Warning));
        assert!(
            legacy.admit("tools/list").is_ok(),
            "a restored session serves at once"
        );
        assert!(restored.subscriptions.borrow().contains("demo://a"));
        assert_eq!(legacy.client_info().map(|i| i.name.as_str()), Some("c"));
    }
}
