//! [`ShardCtx`]: what the protocol engine of one shard shares between its connections: the dirty
//! list, the subscriber index, the [`Broadcast`] that carries resource updates to the other
//! shards, and the shard's [`ShardMsg`] port on the mesh (broadcasts and `/metrics` scrapes).
//! In a cluster, notices go through the [`NoticeLog`] instead, and come back to every shard
//! numbered, so that a legacy GET stream can number its events by the log's positions.

use super::outlet::MsgKind;
use super::session::Session;
use crate::client::Shard;
use crate::mesh::MeshPort;
use crate::metrics::{ShardMetrics, Snapshot};
use crate::netring::ShardSignal;
use crate::store::{Broadcast, LogPos, Notice, NoticeLog};
use ringmcp_proto::jsonrpc;
use ringmcp_proto::types::SubscriptionFilter;
use std::task::Waker;

use serde_json::{json, Map, Value};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};

/// What shards say to each other about shard state.
#[derive(Debug)]
pub enum ShardMsg {
    /// A notice published on another shard, for this shard's listeners.
    Notice(Notice),
    /// A `/metrics` scrape on shard `from` asks for this shard's counters.
    MetricsRequest {
        /// The scraping shard.
        from: usize,
        /// Names the scrape there.
        ticket: u64,
    },
    /// A 2026-07-28 task changed status on another shard: its id, and the task as `tasks/get`
    /// shows it (a JSON object's text).
    TaskStatus {
        /// The task.
        id: String,
        /// `notifications/tasks/status`'s params, without the subscription id.
        task: String,
    },
    /// This shard's counters for a scrape.
    MetricsReply {
        /// The scrape.
        ticket: u64,
        /// The counters.
        snapshot: Box<Snapshot>,
    },
}

/// Which lists of a live set changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ListChanges {
    /// `tools/list`.
    pub(crate) tools: bool,
    /// `prompts/list`.
    pub(crate) prompts: bool,
    /// `resources/list` or `resources/templates/list`.
    pub(crate) resources: bool,
}

/// Whether a `subscriptions/listen` filter asked for one kind of list change.
type Wanted = fn(&SubscriptionFilter) -> bool;

impl ListChanges {
    /// The notification of each list that changed, and whether a listen filter asked for it.
    fn methods(self) -> Vec<(&'static str, Wanted)> {
        let mut methods: Vec<(&'static str, Wanted)> = Vec::new();
        if self.tools {
            methods.push(("notifications/tools/list_changed", |f| {
                f.tools_list_changed == Some(true)
            }));
        }
        if self.prompts {
            methods.push(("notifications/prompts/list_changed", |f| {
                f.prompts_list_changed == Some(true)
            }));
        }
        if self.resources {
            methods.push(("notifications/resources/list_changed", |f| {
                f.resources_list_changed == Some(true)
            }));
        }
        methods
    }
}

/// One node's [`Broadcast`]: the notice goes to every other shard over the mesh.
struct MeshBroadcast(Rc<dyn MeshPort<ShardMsg>>);

impl Broadcast for MeshBroadcast {
    fn publish(&self, notice: Notice) {
        self.0.broadcast(&|| ShardMsg::Notice(notice.clone()));
    }
}

/// Per-shard shared state of the engine.
pub struct ShardCtx {
    /// Shard index (0-based).
    pub id: usize,
    /// Dirty outboxes and the net loop's doorbell.
    pub signal: Rc<ShardSignal>,
    subscribers: RefCell<HashMap<String, Vec<Weak<Session>>>>,
    listeners: RefCell<Vec<Weak<Session>>>,
    /// Legacy sessions told of list changes (a live set only), and the length past which the
    /// gone ones are swept out.
    watchers: RefCell<Vec<Weak<Session>>>,
    sweep_watchers_at: Cell<usize>,
    mesh: RefCell<Option<Rc<dyn MeshPort<ShardMsg>>>>,
    /// Who carries notices beyond this shard: the mesh, and in a cluster the other nodes.
    broadcast: RefCell<Vec<Rc<dyn Broadcast>>>,
    /// The cluster's log of notices, which carries them to every shard of every node.
    log: RefCell<Option<Rc<dyn NoticeLog>>>,
    inflight: Cell<usize>,
    /// This shard's counters (shared with the net ring, which counts connections and bytes).
    pub metrics: Rc<ShardMetrics>,
    /// The shard is draining (not ready).
    pub stopping: Cell<bool>,
    scrapes: RefCell<HashMap<u64, Rc<Scrape>>>,
    next_scrape: Cell<u64>,
    /// What handlers dial MCP client connections through (`None` on a stdio shard, which does
    /// not dial).
    client: RefCell<Option<Shard>>,
}

/// A `/metrics` scrape waiting for the other shards' snapshots.
struct Scrape {
    snapshots: RefCell<Vec<Snapshot>>,
    waiting: Cell<usize>,
    waker: RefCell<Option<Waker>>,
}

impl ShardCtx {
    /// A shard context.
    pub fn new(id: usize, signal: Rc<ShardSignal>) -> Self {
        ShardCtx {
            id,
            signal,
            subscribers: RefCell::new(HashMap::new()),
            listeners: RefCell::new(Vec::new()),
            watchers: RefCell::new(Vec::new()),
            sweep_watchers_at: Cell::new(64),
            mesh: RefCell::new(None),
            broadcast: RefCell::new(Vec::new()),
            log: RefCell::new(None),
            inflight: Cell::new(0),
            metrics: Rc::default(),
            stopping: Cell::new(false),
            scrapes: RefCell::new(HashMap::new()),
            next_scrape: Cell::new(0),
            client: RefCell::new(None),
        }
    }

    /// Let handlers dial MCP client connections on this shard's net ring through `shard`.
    pub(crate) fn set_client_shard(&self, shard: Shard) {
        *self.client.borrow_mut() = Some(shard);
    }

    /// The handle handlers dial MCP client connections through, if this shard dials.
    pub(crate) fn client_shard(&self) -> Option<Shard> {
        self.client.borrow().clone()
    }

    /// Attach this shard's port on the mesh; notices then reach the other shards over it.
    pub fn set_mesh(&self, mesh: Rc<dyn MeshPort<ShardMsg>>) {
        self.add_broadcast(Rc::new(MeshBroadcast(mesh.clone())));
        *self.mesh.borrow_mut() = Some(mesh);
    }

    /// Notices published on this shard also go through `broadcast`.
    fn add_broadcast(&self, broadcast: Rc<dyn Broadcast>) {
        self.broadcast.borrow_mut().push(broadcast);
    }

    /// Publish notices through `log`, which numbers them and carries them to every shard of every
    /// node, this one included (see [`Self::deliver_logged`]).
    pub(crate) fn set_notice_log(&self, log: Rc<dyn NoticeLog>) {
        *self.log.borrow_mut() = Some(log);
    }

    fn mesh(&self) -> Option<Rc<dyn MeshPort<ShardMsg>>> {
        self.mesh.borrow().clone()
    }

    /// A message from another shard.
    pub fn on_mesh(&self, msg: ShardMsg) {
        match msg {
            ShardMsg::Notice(notice) => self.deliver(&notice, None),
            ShardMsg::MetricsRequest { from, ticket } => {
                if let Some(mesh) = self.mesh() {
                    let snapshot = Box::new(self.snapshot());
                    mesh.send(from, ShardMsg::MetricsReply { ticket, snapshot });
                }
            }
            ShardMsg::MetricsReply { ticket, snapshot } => self.metrics_reply(ticket, *snapshot),
            ShardMsg::TaskStatus { id, task } => self.deliver_task_status(&id, &task),
        }
    }

    /// Requests running on this shard.
    pub fn inflight(&self) -> usize {
        self.inflight.get()
    }

    pub(crate) fn request_started(&self) {
        self.inflight.set(self.inflight.get() + 1);
    }

    pub(crate) fn request_finished(&self) {
        self.inflight.set(self.inflight.get().saturating_sub(1));
    }

    pub(crate) fn subscribe(&self, uri: &str, session: &Rc<Session>) {
        self.subscribers
            .borrow_mut()
            .entry(uri.to_owned())
            .or_default()
            .push(Rc::downgrade(session));
    }

    pub(crate) fn add_listener(&self, session: &Rc<Session>) {
        self.listeners.borrow_mut().push(Rc::downgrade(session));
    }

    /// A 2026-07-28 task changed status: the listen streams of this node that asked about it
    /// hear `notifications/tasks/status`, here and over the mesh on the other shards.
    pub(crate) fn publish_task_status(&self, id: &str, task: &str) {
        self.deliver_task_status(id, task);
        if let Some(mesh) = self.mesh() {
            mesh.broadcast(&|| ShardMsg::TaskStatus {
                id: id.to_owned(),
                task: task.to_owned(),
            });
        }
    }

    fn deliver_task_status(&self, id: &str, task: &str) {
        let Ok(Value::Object(fields)) = serde_json::from_str::<Value>(task) else {
            return;
        };
        self.tell_listens(
            "notifications/tasks/status",
            |filter| {
                filter
                    .tasks
                    .as_ref()
                    .is_some_and(|t| t.task_ids.iter().any(|t| t == id))
            },
            |params| params.extend(fields.clone()),
        );
    }

    /// Tell `session` (a legacy one) of list changes. Sessions that ended are swept out as the
    /// list doubles, so it stays within twice the live ones.
    pub(crate) fn add_watcher(&self, session: &Rc<Session>) {
        let mut watchers = self.watchers.borrow_mut();
        if watchers.len() >= self.sweep_watchers_at.get() {
            watchers.retain(|w| w.strong_count() > 0);
            self.sweep_watchers_at.set((watchers.len() * 2).max(64));
        }
        watchers.push(Rc::downgrade(session));
    }

    /// The set changed: each legacy session hears `notifications/*/list_changed` for each list
    /// that changed, and each `subscriptions/listen` stream for those it asked about.
    pub(crate) fn lists_changed(&self, changes: ListChanges) {
        let methods = changes.methods();
        if methods.is_empty() {
            return;
        }
        self.watchers.borrow_mut().retain(|weak| {
            let Some(s) = weak.upgrade() else {
                return false;
            };
            for (method, _) in &methods {
                s.notify(None, &mut |out| {
                    jsonrpc::write_notification(out, method, &json!({}))
                });
            }
            true
        });
        for (method, wanted) in &methods {
            self.tell_listens(method, wanted, |_| {});
        }
    }

    /// Deliver an update to every shard: through the cluster's log when there is one (it comes
    /// back to this shard numbered), here and over the mesh otherwise.
    pub fn publish_resource_updated(&self, uri: &str) {
        let notice = Notice::ResourceUpdated(uri.to_owned());
        let log = self.log.borrow().clone();
        if log.is_some_and(|log| log.publish(&notice)) {
            return;
        }
        self.publish_unlogged(notice);
    }

    /// Deliver `notice` on this node only, unnumbered: here, and over the mesh to the other
    /// shards (what a single node does, and a cluster node whose log is unreachable).
    pub(crate) fn publish_unlogged(&self, notice: Notice) {
        self.deliver(&notice, None);
        let broadcasts = self.broadcast.borrow().clone();
        for broadcast in broadcasts {
            broadcast.publish(notice.clone());
        }
    }

    /// A notice from the cluster's log, at `pos`, for this shard's listeners.
    pub fn deliver_logged(&self, notice: &Notice, pos: LogPos) {
        self.deliver(notice, Some(pos));
    }

    /// This shard's metrics now.
    pub fn snapshot(&self) -> Snapshot {
        let mut snap = self.metrics.snapshot(self.id, self.inflight.get() as u64);
        if let Some(mesh) = self.mesh() {
            let (sent, queued) = mesh.counts();
            snap.set_mesh(sent, queued);
        }
        snap
    }

    /// Every shard's metrics: this one's, and the others' over the mesh (those that do not answer
    /// within a second are left out).
    pub async fn gather_metrics(&self) -> Vec<Snapshot> {
        let mine = self.snapshot();
        let Some(mesh) = self.mesh() else {
            return vec![mine];
        };
        let ticket = self.next_scrape.get() + 1;
        self.next_scrape.set(ticket);
        let scrape = Rc::new(Scrape {
            snapshots: RefCell::new(vec![mine]),
            waiting: Cell::new(mesh.shards().saturating_sub(1)),
            waker: RefCell::new(None),
        });
        self.scrapes.borrow_mut().insert(ticket, scrape.clone());
        mesh.broadcast(&|| ShardMsg::MetricsRequest {
            from: self.id,
            ticket,
        });
        let wait = std::future::poll_fn(|cx| {
            if scrape.waiting.get() == 0 {
                return std::task::Poll::Ready(());
            }
            *scrape.waker.borrow_mut() = Some(cx.waker().clone());
            std::task::Poll::Pending
        });
        futures_lite::future::or(
            wait,
            glommio::timer::sleep(std::time::Duration::from_secs(1)),
        )
        .await;
        self.scrapes.borrow_mut().remove(&ticket);
        let snapshots = std::mem::take(&mut *scrape.snapshots.borrow_mut());
        snapshots
    }

    /// Another shard's answer to a scrape of ours.
    fn metrics_reply(&self, ticket: u64, snapshot: Snapshot) {
        let scrape = self.scrapes.borrow().get(&ticket).cloned();
        if let Some(scrape) = scrape {
            scrape.snapshots.borrow_mut().push(snapshot);
            scrape.waiting.set(scrape.waiting.get().saturating_sub(1));
            if let Some(w) = scrape.waker.borrow_mut().take() {
                w.wake();
            }
        }
    }

    /// Tell this shard's subscribers of the resource that it changed (`pos`: the notice's place
    /// in the cluster's log, if it has one).
    fn deliver(&self, notice: &Notice, pos: Option<LogPos>) {
        let Notice::ResourceUpdated(uri) = notice;
        let uri = uri.as_str();
        let mut subs = self.subscribers.borrow_mut();
        if let Some(list) = subs.get_mut(uri) {
            list.retain(|weak| {
                let Some(s) = weak.upgrade() else {
                    return false;
                };
                if !s.subscriptions.borrow().contains(uri) || !s.has_notify_outlet() {
                    return false;
                }
                s.notify(pos, &mut |out| notice.write_notification(out));
                true
            });
            if list.is_empty() {
                subs.remove(uri);
            }
        }
        drop(subs);
        self.tell_listens(
            "notifications/resources/updated",
            |filter| {
                filter
                    .resource_subscriptions
                    .as_ref()
                    .is_some_and(|l| l.iter().any(|u| u == uri))
            },
            |params| {
                params.insert("uri".into(), Value::String(uri.to_owned()));
            },
        );
    }

    /// Send `method` on every open `subscriptions/listen` stream of this shard whose filter
    /// `asked` for it, its params made by `params` beside the stream's subscription id. Streams
    /// that closed, and sessions gone, are swept out on the way.
    fn tell_listens(
        &self,
        method: &str,
        asked: impl Fn(&SubscriptionFilter) -> bool,
        params: impl Fn(&mut Map<String, Value>),
    ) {
        self.listeners.borrow_mut().retain(|weak| {
            let Some(s) = weak.upgrade() else {
                return false;
            };
            let mut listens = s.listens.borrow_mut();
            listens.retain(|(_, _, outlet)| !outlet.is_closed());
            for (id, _, outlet) in listens.iter().filter(|(_, f, _)| asked(f)) {
                let mut fields = Map::new();
                params(&mut fields);
                fields.insert(
                    "_meta".into(),
                    json!({ "io.modelcontextprotocol/subscriptionId": id.to_value() }),
                );
                let fields = Value::Object(fields);
                outlet.send(MsgKind::Notification, &mut |out| {
                    jsonrpc::write_notification(out, method, &fields)
                });
            }
            !listens.is_empty()
        });
    }
}
