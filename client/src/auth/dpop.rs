//! DPoP (RFC 9449): a per-client ES256 key made at start, proofs for token requests and for
//! every MCP request (`htm`, `htu` without query or fragment, fresh `jti`, `iat`, `ath` for the
//! access token, `nonce` when a server asked for one), and the nonces each server last sent.
//! Proofs only: whether DPoP is used, and retrying on `use_dpop_nonce`, is decided elsewhere.

use base64::Engine as _;
use jsonwebtoken::jwk::Jwk;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use p256::pkcs8::EncodePrivateKey as _;
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use super::jwt::{now_secs, random_id};
use super::AuthError;

/// The only proof algorithm we make keys for; the server must list it.
pub(crate) const ALGORITHM: &str = "ES256";

/// The client's DPoP key: private half for signing, public half as the header's `jwk`.
pub(crate) struct DpopKey {
    key: EncodingKey,
    jwk: Jwk,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey").finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ProofClaims<'a> {
    jti: String,
    htm: &'a str,
    htu: &'a str,
    iat: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ath: Option<String>,
}

impl DpopKey {
    /// A fresh P-256 key from the OS random source.
    pub(crate) fn generate() -> Result<Self, AuthError> {
        let secret = loop {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| AuthError::Key(e.to_string()))?;
            // A scalar outside the curve order is astronomically rare; draw again.
            if let Ok(secret) = p256::SecretKey::from_slice(&bytes) {
                break secret;
            }
        };
        let der = secret
            .to_pkcs8_der()
            .map_err(|e| AuthError::Key(e.to_string()))?;
        let key = EncodingKey::from_ec_der(der.as_bytes());
        let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256)?;
        Ok(Self { key, jwk })
    }

    /// A proof for one HTTP request; `access_token` binds it to the token (`ath`).
    pub(crate) fn proof(
        &self,
        method: &str,
        url: &str,
        nonce: Option<&str>,
        access_token: Option<&str>,
    ) -> Result<String, AuthError> {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".to_owned());
        header.jwk = Some(self.jwk.clone());
        let claims = ProofClaims {
            jti: random_id()?,
            htm: method,
            htu: htu(url),
            iat: now_secs(),
            nonce,
            ath: access_token.map(ath),
        };
        Ok(jsonwebtoken::encode(&header, &claims, &self.key)?)
    }
}

/// RFC 9449 section 4.2: the target URI without query and fragment.
fn htu(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    &url[..end]
}

/// base64url(SHA-256(access token)).
fn ath(token: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation};

    #[derive(serde::Deserialize)]
    struct Claims {
        jti: String,
        htm: String,
        htu: String,
        nonce: Option<String>,
        ath: Option<String>,
    }

    #[test]
    fn proof_verifies_with_its_own_jwk_and_carries_the_claims() {
        let key = DpopKey::generate().unwrap();
        let proof = key
            .proof("POST", "http://h:1/mcp?x=1#f", Some("n1"), Some("tok"))
            .unwrap();
        let header = jsonwebtoken::decode_header(&proof).unwrap();
        assert_eq!(header.typ.as_deref(), Some("dpop+jwt"));
        let jwk = header.jwk.unwrap();
        let decoding = DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.required_spec_claims.clear();
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<Claims>(&proof, &decoding, &validation).unwrap();
        assert_eq!(data.claims.htm, "POST");
        assert_eq!(data.claims.htu, "http://h:1/mcp");
        assert_eq!(data.claims.nonce.as_deref(), Some("n1"));
        assert_eq!(data.claims.ath.unwrap(), ath("tok"));
        let again = key.proof("POST", "http://h:1/mcp", None, None).unwrap();
        let data2 = jsonwebtoken::decode::<Claims>(&again, &decoding, &validation).unwrap();
        assert_ne!(data.claims.jti, data2.claims.jti);
        // No private part in the public key.
        let text = serde_json::to_string(&jwk).unwrap();
        assert!(!text.contains("\"d\""));
    }

    #[test]
    fn ath_is_the_rfc_example() {
        // RFC 9449 section 7.1 example token and its ath.
        assert_eq!(
            ath("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
