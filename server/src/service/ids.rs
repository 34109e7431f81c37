//! Ids the server mints for things a client names later (legacy session ids, task ids): an
//! optional node id, the owning shard and 128 random bits, `[<node>.]<shard: 2 hex><32 hex>`. The
//! shard lets any shard route a request to the one that holds the thing; the node part is room
//! for a cluster, where a node names itself and the id says which node minted it. Ids are
//! visible ASCII as `Mcp-Session-Id` requires, and unguessable.

use std::fmt::Write;

/// The longest node id, and its characters: `[A-Za-z0-9_-]`.
const MAX_NODE_LEN: usize = 32;

/// A fresh id minted on `shard` of `node` (none on a single node); `None` when the OS has no
/// randomness to give.
pub(crate) fn mint(node: Option<&str>, shard: usize) -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    // Exactly the id's length: a session keeps this string as its key for its whole life.
    let mut id = String::with_capacity(node.map_or(0, |n| n.len() + 1) + 34);
    if let Some(node) = node {
        id.push_str(node);
        id.push('.');
    }
    let _ = write!(id, "{:02x}", shard.min(0xff));
    for b in bytes {
        let _ = write!(id, "{b:02x}");
    }
    Some(id)
}

/// Where an id was minted: its node (if it names one) and shard. `None` for what no server of
/// this kind minted.
pub(crate) fn origin(id: &str) -> Option<(Option<&str>, usize)> {
    let (node, rest) = match id.split_once('.') {
        Some((node, rest)) if valid_node(node) => (Some(node), rest),
        Some(_) => return None,
        None => (None, id),
    };
    let shard = usize::from_str_radix(rest.get(..2)?, 16).ok()?;
    Some((node, shard))
}

/// Whether `node` may name a node inside ids.
pub(crate) fn valid_node(node: &str) -> bool {
    !node.is_empty()
        && node.len() <= MAX_NODE_LEN
        && node
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_name_their_shard_and_node() {
        let local = mint(None, 3).unwrap_or_default();
        assert_eq!(local.len(), 34);
        assert!(local.starts_with("03"));
        assert_eq!(origin(&local), Some((None, 3)));
        let clustered = mint(Some("node-b"), 17).unwrap_or_default();
        assert!(clustered.starts_with("node-b.11"), "{clustered}");
        assert_eq!(origin(&clustered), Some((Some("node-b"), 17)));
        assert_ne!(mint(None, 0), mint(None, 0), "random part");
        assert!(local.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    }

    #[test]
    fn foreign_ids_have_no_origin() {
        assert_eq!(origin(""), None);
        assert_eq!(origin("x"), None);
        assert_eq!(origin("zz0000"), None);
        assert_eq!(origin("bad node.0a00"), None);
        assert_eq!(origin(".0a00"), None);
    }
}
