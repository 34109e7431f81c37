//! [`StateSeal`]: integrity protection for the opaque `requestState` of 2026-07-28 multi
//! round-trip requests. The state a handler chooses is sent as `base64url(state).base64url(mac)`
//! with an HMAC-SHA256 over the request it belongs to, keyed with a secret every shard shares, so
//! a client cannot forge or alter it and a retry may land on any shard.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Seals and opens request states with a process-wide secret.
#[derive(Clone)]
pub struct StateSeal {
    key: [u8; 32],
}

impl StateSeal {
    /// A seal keyed with `key` (random per process; the same on every shard).
    pub fn new(key: [u8; 32]) -> Self {
        StateSeal { key }
    }

    fn mac(&self, binding: &str, state: &[u8]) -> Option<HmacSha256> {
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(binding.as_bytes());
        mac.update(&[0]);
        mac.update(state);
        Some(mac)
    }

    /// The wire form of `state` for a request identified by `binding` (method and name).
    pub fn seal(&self, binding: &str, state: &str) -> String {
        let tag = self
            .mac(binding, state.as_bytes())
            .map(|m| m.finalize().into_bytes().to_vec())
            .unwrap_or_default();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(state),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The state inside `sealed`, if it was sealed here for `binding` and not altered.
    pub fn open(&self, binding: &str, sealed: &str) -> Option<String> {
        let (body, tag) = sealed.split_once('.')?;
        let state = URL_SAFE_NO_PAD.decode(body).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(binding, &state)?.verify_slice(&tag).ok()?;
        String::from_utf8(state).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tampering() {
        let seal = StateSeal::new([7; 32]);
        let s = seal.seal("tools/call\0t", "round-2");
        assert_eq!(seal.open("tools/call\0t", &s).as_deref(), Some("round-2"));
        assert_eq!(seal.open("tools/call\0other", &s), None);
        assert_eq!(seal.open("tools/call\0t", &format!("{s}-TAMPERED")), None);
        assert_eq!(StateSeal::new([8; 32]).open("tools/call\0t", &s), None);
        assert_eq!(seal.open("tools/call\0t", "garbage"), None);
    }
}
