//! Opaque pagination cursors. A cursor encodes a list kind and an offset, sealed with the
//! server's [`KeyRing`] (HMAC-SHA256, key id inside), so that a cursor no node of this server
//! minted (or one for another list) is refused with -32602, and a cursor minted on one node opens
//! on every other node sharing the ring. The keys come from the caller: this module reads no
//! randomness itself.

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

    /// The cursor for the page starting at `offset` of list `kind`.
    pub fn mint(&self, kind: ListKind, offset: usize) -> String {
        let mut raw = [0u8; 9];
        raw[0] = kind as u8;
        raw[1..].copy_from_slice(&(offset as u64).to_le_bytes());
        self.keys.seal(CONTEXT, &raw)
    }

    /// The offset a cursor names, or -32602 when it was not minted here for this list.
    pub fn open(&self, kind: ListKind, cursor: &str) -> Result<usize, ErrorObject> {
        let invalid = || ErrorObject::invalid_params("invalid cursor");
        let raw = self.keys.open(CONTEXT, cursor).ok_or_else(invalid)?;
        let raw: [u8; 9] = raw.try_into().map_err(|_| invalid())?;
        if raw[0] != kind as u8 {
            return Err(invalid());
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&raw[1..]);
        usize::try_from(u64::from_le_bytes(word)).map_err(|_| invalid())
    }

    /// Cut one page out of `items`.
    pub fn page<'a, T>(
        &self,
        kind: ListKind,
        items: &'a [T],
        cursor: Option<&str>,
        page_size: usize,
    ) -> Result<(&'a [T], Option<String>), ErrorObject> {
        let start = match cursor {
            Some(c) => self.open(kind, c)?,
            None => 0,
        };
        if start > items.len() {
            return Err(ErrorObject::invalid_params("invalid cursor"));
        }
        let end = start.saturating_add(page_size.max(1)).min(items.len());
        let next = (end < items.len()).then(|| self.mint(kind, end));
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
        let (p1, next) = c.page(ListKind::Tools, &items, None, 2).unwrap_or_default();
        assert_eq!(p1, &[0, 1]);
        let next = next.unwrap_or_default();
        let (p2, _) = c
            .page(ListKind::Tools, &items, Some(&next), 2)
            .unwrap_or_default();
        assert_eq!(p2, &[2, 3]);
        assert!(c.open(ListKind::Prompts, &next).is_err());
        assert!(CursorCodec::new(ring(9))
            .open(ListKind::Tools, &next)
            .is_err());
        assert!(c.open(ListKind::Tools, "bogus").is_err());
        let (last, none) = c
            .page(
                ListKind::Tools,
                &items,
                Some(&c.mint(ListKind::Tools, 4)),
                2,
            )
            .unwrap_or_default();
        assert_eq!((last, none), (&[4u32][..], None));
    }
}
