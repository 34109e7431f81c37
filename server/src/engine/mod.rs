//! [`McpService`], the protocol engine of one shard: frame -> JSON-RPC message -> lifecycle / era
//! check -> handler -> response bytes, written to an [`Outlet`] (a connection's outbox, an HTTP
//! exchange).
//!
//! Cheap methods (lists, ping, discover, completion) are answered inline. Handler calls (tools,
//! resource reads, prompts) run as shard-local tasks: they are registered in the session's in-flight
//! table so that `notifications/cancelled` can stop them, and a panic inside one becomes -32603 for
//! that request only.
//!
//! This module owns the engine value, its construction and the entry points (a frame, a parsed
//! message or batch); each kind of request is answered in its own file. It owns no sockets and
//! must not import `http`, `netring` or `runtime`: they sit above it, as it sits above
//! [`crate::sdk`] and [`crate::service`].

mod calls;
mod cancel_switch;
mod complete;
mod dispatch;
mod errors;
mod handshake;
mod limits;
mod lists;
mod live;
mod prompts;
mod reply;
mod resources;
mod rounds;
mod skills;
mod subscriptions;
mod task_ops;
mod tools;

pub use limits::Limits;

use crate::sdk::{LiveRegistry, Registry};
use crate::service::{MsgKind, Outlet, Session, ShardCtx, StateSeal, TaskTable};
use crate::store::{MemoryOnceStore, MemoryTaskStore, OnceStore, TaskStore, DEFAULT_MAX_CLAIMS};
use reply::{send_once, BatchReply, Sink};
use ringmcp_proto::dispatch::{Era, ResultShape};
use ringmcp_proto::framing::Frame;
use ringmcp_proto::jsonrpc::{self, ErrorObject, Message, Parsed, Rejected, RequestId};
use ringmcp_proto::pagination::CursorCodec;
use ringmcp_proto::revision::ProtocolVersion;
use ringmcp_proto::seal::KeyRing;
use ringmcp_proto::types::CacheScope;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::Arc;

/// The engine of one shard.
pub struct McpService {
    /// This shard's copy of the set it serves (swapped when a live set changes).
    registry: RefCell<Rc<Registry>>,
    /// Where the set comes from, and the generation of it this shard serves.
    live: LiveRegistry,
    /// This shard's handle on a live set, for handlers (`None` for a fixed one): each request
    /// clones this `Rc`, never the `Arc` every shard shares.
    live_handle: Option<Rc<LiveRegistry>>,
    generation: Cell<u64>,
    shape: ResultShape,
    cursors: CursorCodec,
    seal: Rc<StateSeal>,
    /// Where single-use request states are spent.
    once: Rc<dyn OnceStore>,
    tasks: Rc<TaskTable>,
    epoch: std::time::Instant,
    limits: Limits,
    shard: Rc<ShardCtx>,
}

/// A request in progress: its id, era and revision.
struct Call {
    id: RequestId,
    era: Era,
    version: ProtocolVersion,
}

impl McpService {
    /// An engine serving `registry` on `shard`; `keys` (cursors, request states) must be the
    /// same on every shard.
    pub fn new(
        registry: Arc<Registry>,
        limits: Limits,
        shard: Rc<ShardCtx>,
        keys: KeyRing,
    ) -> Self {
        let live = LiveRegistry::fixed(Registry::clone(&registry));
        Self::following(live, limits, shard, keys)
    }

    /// An engine serving the set of `live` on `shard`, switching to each new one
    /// ([`Self::follow_registry`]).
    pub fn following(
        live: LiveRegistry,
        limits: Limits,
        shard: Rc<ShardCtx>,
        keys: KeyRing,
    ) -> Self {
        // The generation first: a set published in between is newer than it says, and is
        // swapped in again, harmlessly, rather than missed.
        let generation = live.generation();
        let registry = live.current();
        let shape = ResultShape::new(registry.info(), limits.cache_ttl_ms, CacheScope::Public);
        let tasks = TaskTable::new(
            shard.id,
            None,
            Rc::new(MemoryTaskStore::new(limits.max_tasks)),
            limits.task_ttl,
            limits.task_poll,
        );
        tasks.tell_status_to(&shard);
        McpService {
            registry: RefCell::new(Rc::new(Registry::clone(&registry))),
            live_handle: live.is_live().then(|| Rc::new(live.clone())),
            live,
            generation: Cell::new(generation),
            shape,
            cursors: CursorCodec::new(keys.clone()),
            seal: Rc::new(StateSeal::new(keys)),
            once: Rc::new(MemoryOnceStore::new(DEFAULT_MAX_CLAIMS)),
            epoch: std::time::Instant::now(),
            tasks,
            limits,
            shard,
        }
    }

    /// Spend single-use request states in `store` instead of this engine's own memory: one
    /// store shared by every shard of a node, or by every node of a cluster, so that a state used
    /// once is refused wherever its retry lands.
    pub fn with_once_store(mut self, store: Rc<dyn OnceStore>) -> Self {
        self.once = store;
        self
    }

    /// Keep tasks in `store` instead of this shard's own memory: a store shared by the nodes of
    /// a cluster, so that any node answers `tasks/*` for a task any node runs. Task ids minted
    /// here then name `node`.
    pub fn with_task_store(mut self, store: Rc<dyn TaskStore>, node: Option<Rc<str>>) -> Self {
        self.tasks = TaskTable::new(
            self.shard.id,
            node,
            store,
            self.limits.task_ttl,
            self.limits.task_poll,
        );
        self.tasks.tell_status_to(&self.shard);
        self
    }

    /// The set this shard serves now (a request keeps the one it started with). With a live
    /// set, a request that starts after an update returned sees the new set, on every shard:
    /// the generation is read first (one atomic load, written only by updates).
    pub(crate) fn registry(&self) -> Rc<Registry> {
        if self.live.is_live() {
            self.look_for_new_set();
        }
        self.registry.borrow().clone()
    }

    /// The shard this engine runs on.
    pub fn shard(&self) -> &Rc<ShardCtx> {
        &self.shard
    }

    /// The message limit (for the line codec).
    pub fn max_message_bytes(&self) -> usize {
        self.limits.max_message_bytes
    }

    /// Handle one decoded line from `session`; answers go to `outlet`.
    pub fn on_frame(
        self: &Rc<Self>,
        session: &Rc<Session>,
        outlet: &Rc<dyn Outlet>,
        frame: Frame<'_>,
    ) {
        match frame {
            Frame::Oversize => {
                tracing::debug!(
                    limit = self.limits.max_message_bytes,
                    "oversize message discarded"
                );
                let e = ErrorObject::invalid_request(format!(
                    "message exceeds the {} byte limit",
                    self.limits.max_message_bytes
                ));
                send_once(&**outlet, MsgKind::Error(e.code), |out| {
                    jsonrpc::write_error(out, None, &e)
                });
            }
            Frame::Line(bytes) => self.on_parsed(session, outlet, jsonrpc::parse(bytes)),
        }
    }

    /// Handle one parsed message (or batch) from `session`; answers go to `outlet`.
    pub fn on_parsed(
        self: &Rc<Self>,
        session: &Rc<Session>,
        outlet: &Rc<dyn Outlet>,
        parsed: Parsed,
    ) {
        match parsed {
            Parsed::Single(Ok(msg)) => {
                let sink = Sink {
                    session: session.clone(),
                    outlet: outlet.clone(),
                    batch: None,
                    meter: None,
                };
                self.on_message(&sink, msg, false)
            }
            Parsed::Single(Err(Rejected { id, error })) => {
                send_once(&**outlet, MsgKind::Error(error.code), |out| {
                    jsonrpc::write_error(out, id.as_ref(), &error)
                })
            }
            Parsed::Batch(items) => self.on_batch(session, outlet, items),
        }
    }

    fn on_batch(
        self: &Rc<Self>,
        session: &Rc<Session>,
        outlet: &Rc<dyn Outlet>,
        items: Vec<Result<Message, Rejected>>,
    ) {
        let version = session.legacy.borrow().version();
        if !version.is_some_and(ProtocolVersion::allows_batches) {
            let why = match version {
                Some(v) => format!("JSON-RPC batches are not part of protocol revision {v}"),
                None => "JSON-RPC batches are only accepted on initialized 2025-03-26 sessions"
                    .to_owned(),
            };
            let e = ErrorObject::invalid_request(why);
            send_once(&**outlet, MsgKind::Error(e.code), |out| {
                jsonrpc::write_error(out, None, &e)
            });
            return;
        }
        let expecting = items
            .iter()
            .filter(|m| !matches!(m, Ok(Message::Notification(_)) | Ok(Message::Response(_))))
            .count();
        let reply = Rc::new(BatchReply {
            outlet: outlet.clone(),
            parts: RefCell::new(Vec::new()),
            pending: Cell::new(expecting + 1),
        });
        let sink = Sink {
            session: session.clone(),
            outlet: outlet.clone(),
            batch: Some(reply.clone()),
            meter: None,
        };
        for item in items {
            match item {
                Ok(msg) => self.on_message(&sink, msg, true),
                Err(Rejected { id, error }) => sink.error(id.as_ref(), &error),
            }
        }
        // The extra count keeps the reply open until every item has been dispatched.
        reply.finish_one();
    }
}
