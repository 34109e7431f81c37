//! Sealed values: the opaque strings a server hands a client and must later trust again, such as
//! pagination cursors and the `requestState` of 2026-07-28 multi round-trip requests. A value is
//! sealed with HMAC-SHA256 under a [`KeyRing`]'s current key and carries that key's id, so that any
//! node holding the same ring opens it (a retry may land anywhere behind a load balancer), and a
//! ring that still lists the previous key keeps opening values sealed before a rotation.
//!
//! This module owns the wire form of a sealed value and the key-ring text format. It draws no
//! randomness and reads no file or clock: keys are given by the caller (the server generates one
//! per process when none is configured).

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Bytes of the HMAC-SHA256 tag kept in a sealed value (RFC 2104 allows truncation to half).
const TAG_LEN: usize = 16;
/// Shortest secret accepted for a key.
pub const MIN_KEY_BYTES: usize = 32;
/// Longest key id.
const MAX_KID_LEN: usize = 16;

/// Why a key ring could not be built.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    /// A key id that is empty, too long or has characters other than `[A-Za-z0-9_-]`.
    #[error("key id {0:?} must be 1-16 characters of A-Z a-z 0-9 _ -")]
    BadId(String),
    /// A secret shorter than [`MIN_KEY_BYTES`].
    #[error("key {0:?} has {1} bytes; a cluster key needs at least 32")]
    TooShort(String, usize),
    /// A secret that is not standard base64.
    #[error("key {0:?} is not base64")]
    NotBase64(String),
    /// A line that is not `<id> <base64 secret>`.
    #[error("line {0}: expected `<key id> <base64 secret>`")]
    BadLine(usize),
    /// Two keys with the same id.
    #[error("key id {0:?} appears twice")]
    Duplicate(String),
    /// No key at all.
    #[error("no key given")]
    Empty,
}

/// One secret and the id that names it inside sealed values.
#[derive(Clone)]
pub struct ClusterKey {
    id: String,
    /// HMAC state already keyed (inner and outer pads absorbed), cloned per use.
    mac: HmacSha256,
}

impl std::fmt::Debug for ClusterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret.
        f.debug_struct("ClusterKey").field("id", &self.id).finish()
    }
}

impl ClusterKey {
    /// A key named `id` with secret `secret` (at least [`MIN_KEY_BYTES`] bytes).
    pub fn new(id: &str, secret: &[u8]) -> Result<Self, KeyError> {
        let id_ok = !id.is_empty()
            && id.len() <= MAX_KID_LEN
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(KeyError::BadId(id.to_owned()));
        }
        if secret.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort(id.to_owned(), secret.len()));
        }
        let mac = HmacSha256::new_from_slice(secret)
            .map_err(|_| KeyError::TooShort(id.to_owned(), secret.len()))?;
        Ok(ClusterKey {
            id: id.to_owned(),
            mac,
        })
    }

    /// The key's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    fn tag(&self, context: &[u8], payload: &[u8]) -> [u8; TAG_LEN] {
        let mut mac = self.mac.clone();
        // The context and payload are length-delimited so that no split of the same bytes
        // between them yields the same tag.
        mac.update(&(context.len() as u64).to_le_bytes());
        mac.update(context);
        mac.update(payload);
        let full = mac.finalize().into_bytes();
        let mut tag = [0u8; TAG_LEN];
        tag.copy_from_slice(&full[..TAG_LEN]);
        tag
    }
}

/// The keys a node seals and opens with: the first seals, every one opens.
#[derive(Clone, Debug)]
pub struct KeyRing {
    keys: Vec<ClusterKey>,
}

impl KeyRing {
    /// A ring sealing with `current` and also opening values sealed with `previous` keys.
    pub fn new(current: ClusterKey, previous: Vec<ClusterKey>) -> Result<Self, KeyError> {
        let mut keys = vec![current];
        for key in previous {
            if keys.iter().any(|k| k.id == key.id) {
                return Err(KeyError::Duplicate(key.id));
            }
            keys.push(key);
        }
        Ok(KeyRing { keys })
    }

    /// A ring of one key with the given secret, named `local` (what a single node without a
    /// configured key uses, with a secret drawn from the OS).
    pub fn single(secret: &[u8]) -> Result<Self, KeyError> {
        KeyRing::new(ClusterKey::new("local", secret)?, Vec::new())
    }

    /// Parse the key-ring text format: one key per line, `<key id> <base64 secret>`; blank lines
    /// and lines starting with `#` are skipped; the first key seals, the others still open (keep
    /// the previous key listed for a while after a rotation). Commas separate keys too, so a ring
    /// fits in one environment variable.
    pub fn parse(text: &str) -> Result<Self, KeyError> {
        let mut keys = Vec::new();
        let entries = text
            .lines()
            .enumerate()
            .flat_map(|(n, line)| line.split(',').map(move |part| (n + 1, part.trim())));
        for (line, entry) in entries {
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            let mut words = entry.split_ascii_whitespace();
            let (Some(id), Some(secret), None) = (words.next(), words.next(), words.next()) else {
                return Err(KeyError::BadLine(line));
            };
            let secret = STANDARD
                .decode(secret)
                .map_err(|_| KeyError::NotBase64(id.to_owned()))?;
            keys.push(ClusterKey::new(id, &secret)?);
        }
        let mut keys = keys.into_iter();
        let current = keys.next().ok_or(KeyError::Empty)?;
        KeyRing::new(current, keys.collect())
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        &self.keys[0].id
    }

    /// The wire form of `payload`, bound to `context` (a value sealed for one context does not
    /// open in another): `<key id>.<base64url payload>.<base64url tag>`.
    pub fn seal(&self, context: &[u8], payload: &[u8]) -> String {
        let key = &self.keys[0];
        let tag = key.tag(context, payload);
        let mut out = String::with_capacity(
            key.id.len() + 2 + (payload.len() * 4).div_ceil(3) + (TAG_LEN * 4).div_ceil(3),
        );
        out.push_str(&key.id);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(payload, &mut out);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(tag, &mut out);
        out
    }

    /// The payload inside `sealed`, if a key of this ring sealed it for `context` and nothing
    /// was altered; `None` for anything else (unknown key id included).
    pub fn open(&self, context: &[u8], sealed: &str) -> Option<Vec<u8>> {
        let (id, rest) = sealed.split_once('.')?;
        let (body, tag) = rest.split_once('.')?;
        let key = self.keys.iter().find(|k| k.id == id)?;
        let payload = URL_SAFE_NO_PAD.decode(body).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        let expected = key.tag(context, &payload);
        // Constant-time comparison: a timing difference must not reveal how much of a forged
        // tag was right.
        let same = tag.len() == TAG_LEN
            && tag
                .iter()
                .zip(expected.iter())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then_some(payload)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> ClusterKey {
        ClusterKey::new(id, &[byte; 32]).unwrap_or_else(|e| panic!("{e}"))
    }

    fn ring(keys: Vec<ClusterKey>) -> KeyRing {
        let mut keys = keys.into_iter();
        let first = keys.next().unwrap_or_else(|| key("a", 1));
        KeyRing::new(first, keys.collect()).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn round_trip_carries_the_key_id() {
        let r = ring(vec![key("k1", 1)]);
        let s = r.seal(b"cursor", b"\x01\x02");
        assert!(s.starts_with("k1."), "{s}");
        assert_eq!(r.open(b"cursor", &s), Some(vec![1, 2]));
    }

    #[test]
    fn other_context_other_key_and_tampering_are_refused() {
        let r = ring(vec![key("k1", 1)]);
        let s = r.seal(b"cursor", b"page-2");
        assert_eq!(r.open(b"state", &s), None);
        assert_eq!(ring(vec![key("k1", 2)]).open(b"cursor", &s), None);
        assert_eq!(ring(vec![key("k2", 1)]).open(b"cursor", &s), None);
        let forged = s.replacen("k1.", "k1.A", 1);
        assert_eq!(r.open(b"cursor", &forged), None);
        assert_eq!(r.open(b"cursor", &format!("{s}A")), None);
        assert_eq!(r.open(b"cursor", "garbage"), None);
        assert_eq!(r.open(b"cursor", "k1.."), None);
        // Moving bytes between context and payload changes the tag.
        assert_ne!(
            r.seal(b"ab", b"c").rsplit('.').next(),
            r.seal(b"a", b"bc").rsplit('.').next()
        );
    }

    #[test]
    fn rotation_keeps_opening_values_of_the_previous_key() {
        let old = ring(vec![key("old", 1)]);
        let sealed_before = old.seal(b"state", b"round-1");
        let rotated = ring(vec![key("new", 2), key("old", 1)]);
        assert_eq!(rotated.current_id(), "new");
        assert_eq!(
            rotated.open(b"state", &sealed_before).as_deref(),
            Some(&b"round-1"[..])
        );
        let sealed_after = rotated.seal(b"state", b"round-2");
        assert!(sealed_after.starts_with("new."));
        // A node not yet rotated cannot open the new key's values.
        assert_eq!(old.open(b"state", &sealed_after), None);
    }

    #[test]
    fn parse_accepts_lines_comments_and_commas() {
        let secret = STANDARD.encode([7u8; 32]);
        let other = STANDARD.encode([8u8; 40]);
        let r = KeyRing::parse(&format!("# ring\n\nk2 {secret}\nk1 {other}\n"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.current_id(), "k2");
        let one_line =
            KeyRing::parse(&format!("k2 {secret}, k1 {other}")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            one_line.open(b"c", &r.seal(b"c", b"x")),
            Some(b"x".to_vec())
        );
    }

    #[test]
    fn parse_refuses_what_is_not_a_key() {
        let secret = STANDARD.encode([7u8; 32]);
        let short = STANDARD.encode([7u8; 31]);
        assert_eq!(KeyRing::parse("").err(), Some(KeyError::Empty));
        assert_eq!(KeyRing::parse("# only\n").err(), Some(KeyError::Empty));
        assert_eq!(KeyRing::parse("k1").err(), Some(KeyError::BadLine(1)));
        assert_eq!(
            KeyRing::parse(&format!("k1 {secret} extra")).err(),
            Some(KeyError::BadLine(1))
        );
        assert_eq!(
            KeyRing::parse(&format!("k1 {short}")).err(),
            Some(KeyError::TooShort("k1".into(), 31))
        );
        assert_eq!(
            KeyRing::parse("k1 !!!").err(),
            Some(KeyError::NotBase64("k1".into()))
        );
        assert_eq!(
            KeyRing::parse(&format!("bad.id {secret}")).err(),
            Some(KeyError::BadId("bad.id".into()))
        );
        assert_eq!(
            KeyRing::parse(&format!("k1 {secret}\nk1 {secret}")).err(),
            Some(KeyError::Duplicate("k1".into()))
        );
    }

    #[test]
    fn debug_does_not_print_the_secret() {
        let text = format!("{:?}", ring(vec![key("k1", 0x41)]));
        assert!(text.contains("k1") && !text.contains("65, 65"), "{text}");
    }
}
