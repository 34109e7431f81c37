//! [`Broadcast`]: notices that concern every session that listens, wherever it is held: a resource
//! changed, a list changed. One node runs it over the shards' channel mesh; a cluster would also
//! publish to the other nodes. Delivery is at most once: a listener that misses a notice re-reads.

/// Which list changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangedList {
    /// `notifications/tools/list_changed`.
    Tools,
    /// `notifications/resources/list_changed`.
    Resources,
    /// `notifications/prompts/list_changed`.
    Prompts,
}

/// What is broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `notifications/resources/updated` for the subscribers of this URI.
    ResourceUpdated(String),
    /// A list changed, for every session that asked to hear of it.
    ListChanged(ChangedList),
}

/// Sends notices to every listener: those of this shard, of the other shards and, in a cluster,
/// of the other nodes.
pub trait Broadcast {
    /// Deliver `notice` to every listener, this shard's included.
    fn publish(&self, notice: Notice);
}
