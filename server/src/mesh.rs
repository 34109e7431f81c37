//! The channel mesh between shards: glommio's lock-free `channel_mesh`, with one ordered outgoing
//! queue per peer so that messages sent from synchronous code (a handler, an HTTP exchange) leave
//! in the order they were sent. Generic over the message type, which whoever runs the shards
//! defines (`runtime::MeshMsg`); a layer below it holds a [`MeshPort`] for the one kind of message
//! it sends, so that it never names the others. This module knows nothing of MCP or HTTP.

use glommio::channels::channel_mesh::Senders;
use glommio::channels::local_channel::{self, LocalSender};
use std::cell::Cell;
use std::rc::Rc;

/// This shard's end of the mesh.
pub struct Mesh<M> {
    me: usize,
    queues: Vec<Option<LocalSender<M>>>,
    sent: Cell<u64>,
}

impl<M: Send + 'static> Mesh<M> {
    /// Wrap the joined senders; spawns one draining task per peer on the current executor.
    pub fn new(senders: Senders<M>) -> Rc<Self> {
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
}

impl<M> Mesh<M> {
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
    pub fn send(&self, peer: usize, msg: M) {
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
    pub fn broadcast(&self, make: impl Fn() -> M) {
        for peer in 0..self.queues.len() {
            if peer != self.me {
                self.send(peer, make());
            }
        }
    }
}

/// One kind of message `T` on a mesh whose messages are built from it (`M: From<T>`): what a
/// layer holds that must not name the mesh's whole message type.
pub trait MeshPort<T> {
    /// This shard's index.
    fn me(&self) -> usize;
    /// Number of shards.
    fn shards(&self) -> usize;
    /// Messages sent so far and messages waiting, for metrics.
    fn counts(&self) -> (u64, u64);
    /// Queue `msg` for `peer`.
    fn send(&self, peer: usize, msg: T);
    /// Send a message built by `make` to every other shard.
    fn broadcast(&self, make: &dyn Fn() -> T);
}

impl<M: From<T>, T> MeshPort<T> for Mesh<M> {
    fn me(&self) -> usize {
        Mesh::me(self)
    }

    fn shards(&self) -> usize {
        Mesh::shards(self)
    }

    fn counts(&self) -> (u64, u64) {
        (self.sent(), self.queued())
    }

    fn send(&self, peer: usize, msg: T) {
        Mesh::send(self, peer, M::from(msg));
    }

    fn broadcast(&self, make: &dyn Fn() -> T) {
        Mesh::broadcast(self, || M::from(make()));
    }
}
