//! [`StateSeal`]: integrity protection for the opaque `requestState` of 2026-07-28 multi
//! round-trip requests. The state a handler chooses is sealed with the server's key ring
//! (`ringmcp_proto::seal`: HMAC-SHA256 with the key id inside) and bound to the request it belongs
//! to, so a client cannot forge or alter it and a retry may land on any shard or node that shares
//! the ring.

use ringmcp_proto::seal::KeyRing;

/// Seals and opens request states with the server's key ring.
#[derive(Clone)]
pub(crate) struct StateSeal {
    keys: KeyRing,
}

impl StateSeal {
    /// A seal keyed with `keys` (the same on every shard and every node).
    pub(crate) fn new(keys: KeyRing) -> Self {
        StateSeal { keys }
    }

    /// The wire form of `state` for a request identified by `binding` (method and name).
    pub(crate) fn seal(&self, binding: &str, state: &str) -> String {
        self.keys.seal(binding.as_bytes(), state.as_bytes())
    }

    /// The state inside `sealed`, if it was sealed for `binding` and not altered.
    pub(crate) fn open(&self, binding: &str, sealed: &str) -> Option<String> {
        String::from_utf8(self.keys.open(binding.as_bytes(), sealed)?).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal(byte: u8) -> StateSeal {
        StateSeal::new(KeyRing::single(&[byte; 32]).unwrap_or_else(|e| panic!("{e}")))
    }

    #[test]
    fn round_trip_and_tampering() {
        let seal7 = seal(7);
        let s = seal7.seal("tools/call\0t", "round-2");
        assert_eq!(seal7.open("tools/call\0t", &s).as_deref(), Some("round-2"));
        assert_eq!(seal7.open("tools/call\0other", &s), None);
        assert_eq!(seal7.open("tools/call\0t", &format!("{s}-TAMPERED")), None);
        assert_eq!(seal(8).open("tools/call\0t", &s), None);
        assert_eq!(seal7.open("tools/call\0t", "garbage"), None);
    }
}
