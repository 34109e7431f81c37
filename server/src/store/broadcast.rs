//! [`Broadcast`]: notices that concern every session that listens, wherever it is held. Today a
//! resource changed; list changes join them with tools that change at run time. One node carries
//! them over the shards' channel mesh; a cluster would also publish them to the other nodes.
//! Delivery is at most once: a listener that misses a notice re-reads.

/// What is broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `notifications/resources/updated` for the subscribers of this URI.
    ResourceUpdated(String),
}

/// Carries notices to the listeners beyond this shard: the other shards and, in a cluster, the
/// other nodes. A shard delivers to its own listeners itself, without a round trip.
pub trait Broadcast {
    /// Send `notice` to every other shard (and node).
    fn publish(&self, notice: Notice);
}
