//! The channel mesh between shards: glommio's lock-free `channel_mesh`, with one ordered outgoing
//! queue per peer so that messages sent from synchronous code (a handler, an HTTP exchange) leave
//! in the order they were sent. Carries broadcasts (resource updates) and the HTTP requests and
//! response bytes of legacy sessions that live on another shard.

use crate::http::HttpMesh;
use crate::metrics::Snapshot;
use glommio::channels::channel_mesh::Senders;
use glommio::channels::local_channel::{self, LocalSender};
use std::cell::Cell;
use std::rc::Rc;

/// A message between shards.
#[derive(Debug)]
pub enum MeshMsg {
    /// A resource changed: tell local subscribers.
    ResourceUpdated(String),
    /// HTTP traffic for a session owned by the receiving shard, or its answer.
    Http(HttpMesh),
    /// A `/metrics` scrape on shard `from` asks for this shard's counters.
    MetricsRequest {
        /// The scraping shard.
        from: usize,
        /// Names the scrape there.
        ticket: u64,
    },
    /// This shard's counters for a scrape.
    MetricsReply {
        /// The scrape.
        ticket: u64,
        /// The counters.
        snapshot: Box<Snapshot>,
    },
}

/// This shard's end of the mesh.
pub struct Mesh {
    me: usize,
    queues: Vec<Option<LocalSender<MeshMsg>>>,
    sent: Cell<u64>,
}

impl Mesh {
    /// Wrap the joined senders; spawns one draining task per peer on the current executor.
    pub fn new(senders: Senders<MeshMsg>) -> Rc<Mesh> {
        let senders = Rc::new(senders);
        let me = senders.peer_id();
        let queues = (0..senders.nr_consumers())
            .map(|peer| {
                if peer == me {
                    return None;
                }
                let (tx, rx) = local_channel::new_unbounded();
                let senders = senders.clone();
                glommio::spawn_local(async move {
                    while let Some(msg) = rx.recv().await {
                        if senders.send_to(peer, msg).await.is_err() {
                            tracing::debug!(peer, "mesh peer gone");
                            break;
                        }
                    }
                })
                .detach();
                Some(tx)
            })
            .collect();
        Rc::new(Mesh {
            me,
            queues,
            sent: Cell::new(0),
        })
    }

    /// This shard's index.
    pub fn me(&self) -> usize {
        self.me
    }

    /// Number of shards.
    pub fn shards(&self) -> usize {
        self.queues.len()
    }

    /// Messages waiting in this shard's outgoing queues.
    pub fn queued(&self) -> u64 {
        self.queues.iter().flatten().map(|q| q.len() as u64).sum()
    }

    /// Messages sent so far.
    pub fn sent(&self) -> u64 {
        self.sent.get()
    }

    /// Queue `msg` for `peer` (dropped, with a log line, if the peer is gone).
    pub fn send(&self, peer: usize, msg: MeshMsg) {
        self.sent.set(self.sent.get() + 1);
        match self.queues.get(peer).and_then(Option::as_ref) {
            Some(tx) => {
                if tx.try_send(msg).is_err() {
                    tracing::debug!(peer, "mesh queue closed; message dropped");
                }
            }
            None => tracing::debug!(peer, "no such mesh peer"),
        }
    }

    /// Send a message built by `make` to every other shard.
    pub fn broadcast(&self, make: impl Fn() -> MeshMsg) {
        for peer in 0..self.queues.len() {
            if peer != self.me {
                self.send(peer, make());
            }
        }
    }
}
