//! Opaque pagination cursors. A cursor encodes a list kind and an offset, tagged with a keyed hash
//! so that a cursor this server did not mint (or one for another list) is refused with -32602.
//! The key comes from the caller (the server draws it from the OS at start-up): this module reads
//! no randomness itself.

use crate::jsonrpc::ErrorObject;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use std::hash::{DefaultHasher, Hash, Hasher};

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
}

/// Mints and checks cursors with a secret key.
#[derive(Debug, Clone, Copy)]
pub struct CursorCodec {
    key: [u64; 2],
}

impl CursorCodec {
    /// A codec keyed with `key` (keep it secret and the same on every shard).
    pub fn new(key: [u64; 2]) -> Self {
        CursorCodec { key }
    }

    fn tag(&self, kind: ListKind, offset: u64) -> u64 {
        let mut h = DefaultHasher::new();
        (self.key, kind as u8, offset).hash(&mut h);
        h.finish()
    }

    /// The cursor for the page starting at `offset` of list `kind`.
    pub fn mint(&self, kind: ListKind, offset: usize) -> String {
        let offset = offset as u64;
        let mut raw = [0u8; 17];
        raw[0] = kind as u8;
        raw[1..9].copy_from_slice(&offset.to_le_bytes());
        raw[9..].copy_from_slice(&self.tag(kind, offset).to_le_bytes());
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// The offset a cursor names, or -32602 when it was not minted here for this list.
    pub fn open(&self, kind: ListKind, cursor: &str) -> Result<usize, ErrorObject> {
        let invalid = || ErrorObject::invalid_params("invalid cursor");
        let raw = URL_SAFE_NO_PAD.decode(cursor).map_err(|_| invalid())?;
        let raw: [u8; 17] = raw.try_into().map_err(|_| invalid())?;
        if raw[0] != kind as u8 {
            return Err(invalid());
        }
        let mut word = [0u8; 8];
        word.copy_from_slice(&raw[1..9]);
        let offset = u64::from_le_bytes(word);
        word.copy_from_slice(&raw[9..]);
        if u64::from_le_bytes(word) != self.tag(kind, offset) {
            return Err(invalid());
        }
        usize::try_from(offset).map_err(|_| invalid())
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
        let c = CursorCodec::new([1, 2]);
        let items: Vec<u32> = (0..5).collect();
        let (p1, next) = c.page(ListKind::Tools, &items, None, 2).unwrap_or_default();
        assert_eq!(p1, &[0, 1]);
        let next = next.unwrap_or_default();
        let (p2, _) = c
            .page(ListKind::Tools, &items, Some(&next), 2)
            .unwrap_or_default();
        assert_eq!(p2, &[2, 3]);
        assert!(c.open(ListKind::Prompts, &next).is_err());
        assert!(CursorCodec::new([9, 9])
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
