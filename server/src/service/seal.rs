//! [`StateSeal`]: integrity protection for the opaque `requestState` of 2026-07-28 multi
//! round-trip requests. The state a handler chooses is sealed with the server's key ring
//! (`ringmcp_proto::seal`: HMAC-SHA256 with the key id inside) together with its expiry and, for
//! single-use state, a random nonce; the seal is bound to the request it belongs to (method, tool
//! or prompt name or resource URI, and the authenticated principal), so a client cannot forge,
//! alter or move it to another request or another principal, and a retry may land on any shard or
//! node that shares the ring. It reads no clock: callers pass the time.

use ringmcp_proto::seal::KeyRing;

/// Version of the sealed payload's layout: `1.<expiry ms>.<nonce>.<state>`.
const LAYOUT: &str = "1";

/// Why a sealed state was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum OpenError {
    /// Not sealed by this ring for this request and principal, or altered.
    #[error("requestState integrity check failed")]
    Tampered,
    /// Sealed as it is, but past its expiry.
    #[error("requestState expired; send the request again without it")]
    Expired,
}

/// What a verified sealed state holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Opened {
    /// The handler's state.
    pub(crate) state: String,
    /// When it stops being accepted, in milliseconds since the Unix epoch.
    pub(crate) expires_ms: u64,
    /// The nonce of a single-use state, to be claimed before the handler sees the state.
    pub(crate) nonce: Option<String>,
}

/// What a state is bound to: `method`, `name` (tool or prompt name, resource URI) and
/// `principal` (none when auth is off). The name is length-prefixed and the principal comes last
/// with a marker, so no name or principal can shift bytes into another part, and "no principal"
/// differs from every principal, the empty one included.
pub(crate) fn binding(method: &str, name: &str, principal: Option<&str>) -> String {
    match principal {
        Some(p) => format!("{method}\0{}:{name}\0+{p}", name.len()),
        None => format!("{method}\0{}:{name}\0-", name.len()),
    }
}

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

    /// The wire form of `state` for the request `binding` names ([`binding`]), accepted until
    /// `expires_ms` and, with a `nonce`, once.
    pub(crate) fn seal(
        &self,
        binding: &str,
        state: &str,
        expires_ms: u64,
        nonce: Option<&str>,
    ) -> String {
        let nonce = nonce.unwrap_or("");
        let payload = format!("{LAYOUT}.{expires_ms}.{nonce}.{state}");
        self.keys.seal(binding.as_bytes(), payload.as_bytes())
    }

    /// What `sealed` holds, if it was sealed for `binding`, not altered and not expired at
    /// `now_ms`.
    pub(crate) fn open(
        &self,
        binding: &str,
        sealed: &str,
        now_ms: u64,
    ) -> Result<Opened, OpenError> {
        let payload = self
            .keys
            .open(binding.as_bytes(), sealed)
            .ok_or(OpenError::Tampered)?;
        let payload = String::from_utf8(payload).map_err(|_| OpenError::Tampered)?;
        // A payload that opened was written by `seal`: one that does not parse was sealed in
        // another layout (a node of another version), and is refused as unverifiable.
        let mut parts = payload.splitn(4, '.');
        let (Some(LAYOUT), Some(expires), Some(nonce), Some(state)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(OpenError::Tampered);
        };
        let expires_ms: u64 = expires.parse().map_err(|_| OpenError::Tampered)?;
        if now_ms >= expires_ms {
            return Err(OpenError::Expired);
        }
        Ok(Opened {
            state: state.to_owned(),
            expires_ms,
            nonce: (!nonce.is_empty()).then(|| nonce.to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    fn seal(byte: u8) -> StateSeal {
        StateSeal::new(KeyRing::single(&[byte; 32]).unwrap_or_else(|e| panic!("{e}")))
    }

    fn tool(name: &str, principal: Option<&str>) -> String {
        binding("tools/call", name, principal)
    }

    #[test]
    fn round_trip_and_tampering() {
        let seal7 = seal(7);
        let t = tool("t", None);
        let s = seal7.seal(&t, "round-2.with.dots", NOW + 1000, None);
        let opened = seal7.open(&t, &s, NOW).map(|o| o.state);
        assert_eq!(opened.as_deref(), Ok("round-2.with.dots"));
        let tampered = Err(OpenError::Tampered);
        assert_eq!(seal7.open(&tool("other", None), &s, NOW), tampered);
        assert_eq!(seal7.open(&t, &format!("{s}-TAMPERED"), NOW), tampered);
        assert_eq!(seal(8).open(&t, &s, NOW), tampered);
        assert_eq!(seal7.open(&t, "garbage", NOW), tampered);
        let prompt = binding("prompts/get", "t", None);
        assert_eq!(seal7.open(&prompt, &s, NOW), tampered);
    }

    #[test]
    fn bound_to_the_principal() {
        let seal7 = seal(7);
        let alice = seal7.seal(&tool("t", Some("alice")), "x", NOW + 1000, None);
        assert!(seal7.open(&tool("t", Some("alice")), &alice, NOW).is_ok());
        for other in [Some("bob"), None, Some(""), Some("alic")] {
            assert_eq!(
                seal7.open(&tool("t", other), &alice, NOW),
                Err(OpenError::Tampered),
                "{other:?}"
            );
        }
        // "No principal" is not the empty principal.
        let anonymous = seal7.seal(&tool("t", None), "x", NOW + 1000, None);
        assert!(seal7.open(&tool("t", None), &anonymous, NOW).is_ok());
        assert_eq!(
            seal7.open(&tool("t", Some("")), &anonymous, NOW),
            Err(OpenError::Tampered)
        );
        // Nor can bytes move between the name and the principal.
        assert_ne!(
            binding("tools/call", "x\0+p", None),
            binding("tools/call", "x", Some("p\0-"))
        );
    }

    #[test]
    fn expires() {
        let seal7 = seal(7);
        let t = tool("t", None);
        let s = seal7.seal(&t, "x", NOW + 1000, None);
        assert_eq!(
            seal7.open(&t, &s, NOW + 999).map(|o| o.expires_ms),
            Ok(NOW + 1000)
        );
        assert_eq!(seal7.open(&t, &s, NOW + 1000), Err(OpenError::Expired));
        // A time to live of zero: expired when it is sealed.
        let now = seal7.seal(&t, "x", NOW, None);
        assert_eq!(seal7.open(&t, &now, NOW), Err(OpenError::Expired));
        // An altered expiry is tampering, not a later expiry.
        let forged = seal7.seal(&t, "x", NOW + 1000, None).replace('.', "");
        assert_eq!(seal7.open(&t, &forged, NOW), Err(OpenError::Tampered));
    }

    #[test]
    fn single_use_nonce_round_trips() {
        let seal7 = seal(7);
        let t = tool("t", Some("alice"));
        let once = seal7.seal(&t, "", NOW + 1000, Some("00ff"));
        let opened = seal7.open(&t, &once, NOW);
        assert_eq!(
            opened,
            Ok(Opened {
                state: String::new(),
                expires_ms: NOW + 1000,
                nonce: Some("00ff".into()),
            })
        );
        let many = seal7.seal(&t, "s", NOW + 1000, None);
        assert_eq!(seal7.open(&t, &many, NOW).map(|o| o.nonce), Ok(None));
    }
}
