//! [`Broadcast`]: notices that concern every session that listens, wherever it is held. Today a
//! resource changed; list changes join them with tools that change at run time. One node carries
//! them over the shards' channel mesh, at most once: a listener that misses a notice re-reads.
//!
//! A cluster keeps a [`NoticeLog`] instead: every notice is stored once, under a [`LogPos`], and
//! then heard by every shard of every node with that position. The position is what makes the
//! notices resumable across nodes: a legacy session's GET stream is the log read through the
//! session's subscriptions, so a client that reconnects with the position it last saw gets the
//! rest from any node, and a node that lost its connection to the log reads what it missed.

use super::{Lookup, StoreError};
use ringmcp_proto::jsonrpc;
use serde_json::json;
use std::fmt;
use std::str::FromStr;

/// What is broadcast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `notifications/resources/updated` for the subscribers of this URI.
    ResourceUpdated(String),
}

impl Notice {
    /// The notification a subscriber gets, as one JSON-RPC message.
    pub fn write_notification(&self, out: &mut Vec<u8>) {
        let Notice::ResourceUpdated(uri) = self;
        jsonrpc::write_notification(
            out,
            "notifications/resources/updated",
            &json!({ "uri": uri }),
        );
    }
}

/// Carries notices to the listeners beyond this shard: the other shards of the node. A shard
/// delivers to its own listeners itself, without a round trip.
pub trait Broadcast {
    /// Send `notice` to every other shard.
    fn publish(&self, notice: Notice);
}

/// A notice's place in a [`NoticeLog`]: two numbers, ordered, written `<ms>-<seq>` (the form
/// Redis gives stream entries, so a position is the entry's id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPos {
    /// The log's clock when the notice was stored, in milliseconds.
    pub ms: u64,
    /// Order among the notices of that millisecond.
    pub seq: u64,
}

impl fmt::Display for LogPos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The text is not `<ms>-<seq>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a log position: {0:?}")]
pub struct BadLogPos(String);

impl FromStr for LogPos {
    type Err = BadLogPos;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadLogPos(s.chars().take(64).collect());
        let (ms, seq) = s.split_once('-').ok_or_else(bad)?;
        Ok(LogPos {
            ms: ms.parse().map_err(|_| bad())?,
            seq: seq.parse().map_err(|_| bad())?,
        })
    }
}

/// A logged notice and its place.
pub type LoggedNotice = (LogPos, Notice);

/// Notices stored once for a whole cluster, each heard by every shard of every node with its
/// [`LogPos`] (the shard's listener gets it as [`ShardCtx::deliver_logged`] would).
///
/// [`ShardCtx::deliver_logged`]: crate::service::ShardCtx::deliver_logged
pub trait NoticeLog {
    /// Store `notice` and publish it to every shard, this one included. `false` when the log
    /// cannot take it now (unreachable): the caller then delivers on its own node, unnumbered.
    fn publish(&self, notice: &Notice) -> bool;

    /// At most `max` kept notices after `last`, oldest first. A position older than the log's
    /// oldest gives what is kept: there is no telling what was missed before it.
    fn after(&self, last: LogPos, max: usize) -> Lookup<Result<Vec<LoggedNotice>, StoreError>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_read_back_as_written_and_order_by_time_then_sequence() {
        let a: LogPos = "1733000000000-7".parse().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.to_string(), "1733000000000-7");
        let b = LogPos { ms: a.ms, seq: 8 };
        let c = LogPos {
            ms: a.ms + 1,
            seq: 0,
        };
        assert!(a < b && b < c);
        for bad in [
            "",
            "12",
            "12-",
            "-3",
            "a-1",
            "1-b",
            "1-2-3",
            "18446744073709551616-0",
        ] {
            assert!(bad.parse::<LogPos>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn a_resource_notice_reads_as_the_subscribers_notification() {
        let mut out = Vec::new();
        Notice::ResourceUpdated("demo://counter".into()).write_notification(&mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["method"], "notifications/resources/updated");
        assert_eq!(v["params"]["uri"], "demo://counter");
    }
}
