//! The JWTs this client signs for itself: RFC 7523 client assertions for `private_key_jwt`
//! token endpoint authentication, plus the random identifiers and timestamps every signed JWT
//! (including DPoP proofs, `dpop.rs`) carries. Signing only: which endpoint gets the assertion
//! is the grant's business.

use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;
use std::time::{SystemTime, UNIX_EPOCH};

use super::AuthError;

/// The `client_assertion_type` of RFC 7523 section 2.2.
pub(crate) const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How long a client assertion stays valid: long enough for clock skew, short enough that a
/// leaked one is useless soon.
const ASSERTION_LIFETIME_SECS: u64 = 300;

/// A private key for `private_key_jwt`, read from PKCS#8 PEM.
pub(crate) struct SigningKey {
    key: EncodingKey,
    algorithm: Algorithm,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material.
        f.debug_struct("SigningKey")
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct AssertionClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    iat: u64,
    exp: u64,
    jti: String,
}

impl SigningKey {
    /// An EC or RSA private key in PKCS#8 PEM, for the JWS algorithm named `algorithm`
    /// (`ES256`, `ES384`, `RS256`, ...).
    pub(crate) fn from_pem(pem: &str, algorithm: &str) -> Result<Self, AuthError> {
        let algorithm: Algorithm = algorithm.parse().map_err(|_| {
            AuthError::Config(format!("unsupported signing algorithm {algorithm:?}"))
        })?;
        let key = match algorithm {
            Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(pem.as_bytes())?,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => EncodingKey::from_rsa_pem(pem.as_bytes())?,
            Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes())?,
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                return Err(AuthError::Config(
                    "private_key_jwt needs an asymmetric algorithm".to_owned(),
                ))
            }
        };
        Ok(Self { key, algorithm })
    }

    /// A client assertion (RFC 7523 section 3): `iss` = `sub` = the client ID, `aud` = the
    /// authorization server's issuer.
    pub(crate) fn client_assertion(
        &self,
        client_id: &str,
        audience: &str,
    ) -> Result<String, AuthError> {
        let iat = now_secs();
        let claims = AssertionClaims {
            iss: client_id,
            sub: client_id,
            aud: audience,
            iat,
            exp: iat + ASSERTION_LIFETIME_SECS,
            jti: random_id()?,
        };
        Ok(jsonwebtoken::encode(
            &Header::new(self.algorithm),
            &claims,
            &self.key,
        )?)
    }
}

/// Seconds since the Unix epoch; 0 on a clock before 1970 (the server then refuses the JWT,
/// which is the right outcome for a broken clock).
pub(crate) fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// 128 random bits, base64url: JWT IDs, and anything else that must not repeat.
pub(crate) fn random_id() -> Result<String, AuthError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Key(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_id().unwrap(), random_id().unwrap());
        assert_eq!(random_id().unwrap().len(), 22);
    }

    #[test]
    fn client_assertion_claims_and_signature() {
        use jsonwebtoken::{DecodingKey, Validation};
        use p256::pkcs8::{EncodePrivateKey as _, EncodePublicKey as _, LineEnding};
        let secret = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
        let pem = secret.to_pkcs8_pem(LineEnding::LF).unwrap();
        let public = secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .unwrap();
        let key = SigningKey::from_pem(&pem, "ES256").unwrap();
        let jwt = key.client_assertion("cid", "http://as.example").unwrap();
        let mut validation = Validation::new(Algorithm::ES256);
        validation.set_audience(&["http://as.example"]);
        validation.set_issuer(&["cid"]);
        let decoding = DecodingKey::from_ec_pem(public.as_bytes()).unwrap();
        let data = jsonwebtoken::decode::<serde_json::Value>(&jwt, &decoding, &validation).unwrap();
        assert_eq!(data.claims["sub"], "cid");
        assert!(data.claims["jti"].is_string());
        // Another audience does not verify.
        validation.set_audience(&["http://other"]);
        assert!(jsonwebtoken::decode::<serde_json::Value>(&jwt, &decoding, &validation).is_err());
    }

    #[test]
    fn symmetric_algorithms_are_refused() {
        assert!(matches!(
            SigningKey::from_pem("", "HS256"),
            Err(AuthError::Config(_))
        ));
        assert!(matches!(
            SigningKey::from_pem("", "XX1"),
            Err(AuthError::Config(_))
        ));
    }
}
