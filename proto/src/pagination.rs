//! Opaque pagination cursors. A cursor encodes a list kind, a digest of the list it pages (given
//! by the caller: the list's keys hashed) and an offset, sealed with the server's [`KeyRing`]
//! (HMAC-SHA256, key id inside), so that a cursor no node of this server minted (or one for
//! another list) is refused with -32602, a cursor minted on one node opens on every other node
//! sharing the ring, and a cursor of a list that changed since (a server whose tools change
//! while it runs) is refused with -32602 saying so rather than cutting a page from another
//! list. The keys come from the caller: this module reads no randomness itself.

use crate::jsonrpc::ErrorObject;
use crate::seal::KeyRing;

/// What a cursor's seal is bound to, so that no other sealed value opens as a cursor.
const CONTEXT: &[u8] = b"mcp-cursor";

/// Which list a cursor belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ListKind {
    /// tools/list
    Tools = 1,
    /// resources/list
    Resources = 2,
    /// resources/templates/list
    ResourceTemplates = 3,
    /// prompts/list
    Prompts = 4,
    /// skills/list (skills extension)
    Skills = 5,
    /// resources/directory/read (skills extension): the children of one directory
    DirChildren = 6,
}

/// Mints and checks cursors with a key ring.
#[derive(Debug, Clone)]
pub struct CursorCodec {
    keys: KeyRing,
}

impl CursorCodec {
    /// A codec sealing with `keys` (secret, and the same on every shard and node).
    pub fn new(keys: KeyRing) -> Self {
        CursorCodec { keys }
    }

    /// The cursor for the page starting at `offset` of list `kind` whose digest is `digest`.
    pub fn mint(&self, kind: ListKind, digest: u64, offset: usize) -> String {
        let mut raw = [0u8; 17];
        raw[0] = kind as u8;
        raw[1..9].copy_from_slice(&digest.to_le_bytes());
        raw[9..].copy_from_slice(&(offset as u64).to_le_bytes());
        self.keys.seal(CONTEXT, &raw)
    }

    /// The offset a cursor names, or -32602 when it was not minted here for this list, or was
    /// minted for the list before it changed (its digest then was not `digest`).
    pub fn open(&self, kind: ListKind, digest: u64, cursor: &str) -> Result<usize, ErrorObject> {
        let invalid = || ErrorObject::invalid_params("invalid cursor");
        let raw = self.keys.open(CONTEXT, cursor).ok_or_else(invalid)?;
        let raw: [u8; 17] = raw.try_into().map_err(|_| invalid())?;
        if raw[0] != kind as u8 {
            return Err(invalid());
        }
        let word = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&raw[at..at + 8]);
            u64::from_le_bytes(w)
        };
        if word(1) != digest {
            return Err(ErrorObject::invalid_params(
                "the list changed since this cursor was issued: list again from the start",
            ));
        }
        usize::try_from(word(9)).map_err(|_| invalid())
    }

    /// Cut one page out of `items`, the list of `kind` whose digest is `digest`.
    pub fn page<'a, T>(
        &self,
        kind: ListKind,
        digest: u64,
        items: &'a [T],
        cursor: Option<&str>,
        page_size: usize,
    ) -> Result<(&'a [T], Option<String>), ErrorObject> {
        let start = match cursor {
            Some(c) => self.open(kind, digest, c)?,
            None => 0,
        };
        if start > items.len() {
            return Err(ErrorObject::invalid_params("invalid cursor"));
        }
        let end = start.saturating_add(page_size.max(1)).min(items.len());
        let next = (end < items.len()).then(|| self.mint(kind, digest, end));
        Ok((&items[start..end], next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_forgery() {
        let ring = |b| KeyRing::single(&[b; 32]).unwrap_or_else(|e| panic!("{e}"));
        let c = CursorCodec::new(ring(1));
        let items: Vec<u32> = (0..5).collect();
        let (p1, next) = c
            .page(ListKind::Tools, 7, &items, None, 2)
            .unwrap_or_default();
        assert_eq!(p1, &[0, 1]);
        let next = next.unwrap_or_default();
        let (p2, _) = c
            .page(ListKind::Tools, 7, &items, Some(&next), 2)
            .unwrap_or_default();
        assert_eq!(p2, &[2, 3]);
        assert!(c.open(ListKind::Prompts, 7, &next).is_err());
        assert!(CursorCodec::new(ring(9))
            .open(ListKind::Tools, 7, &next)
            .is_err());
        assert!(c.open(ListKind::Tools, 7, "bogus").is_err());
        let (last, none) = c
            .page(
                ListKind::Tools,
                7,
                &items,
                Some(&c.mint(ListKind::Tools, 7, 4)),
                2,
            )
            .unwrap_or_default();
        assert_eq!((last, none), (&[4u32][..], None));
        // The list changed since: the cursor is refused, saying why.
        let changed = c
            .page(ListKind::Tools, 8, &items, Some(&next), 2)
            .err()
            .map(|e| e.message)
            .unwrap_or_default();
        assert!(changed.contains("list changed"), "{changed}");
    }
}
