//! [`Authenticator`]: bearer-token authorization of HTTP requests, as the MCP authorization
//! specification asks of a resource server (OAuth 2.1, RFC 6750 challenges, RFC 9728 protected
//! resource metadata, RFC 8707 audience binding).
//!
//! It validates `Authorization: Bearer` tokens, either as JWTs (signature checked against a JWKS
//! file, static PEM public keys or an HMAC secret; then issuer, audience, expiry, not-before and
//! required scopes) or as static opaque tokens read from a file, and names the principal a token
//! stands for. It also renders the `WWW-Authenticate` challenge and the metadata document. It owns
//! no sockets and no sessions: the HTTP layer binds sessions to the principal it returns. It is
//! built once at start-up and shared read-only by every shard.

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Who a request acts for: `<issuer> <subject>` for a JWT, `token:<name>` for a static token.
pub(crate) type Principal = Arc<str>;

/// Settings of bearer-token authorization (all from `ringmcp serve` options).
#[derive(Debug, Clone, Default)]
pub struct AuthConfig {
    /// A JWKS document (`{"keys": [...]}`) with the issuer's public keys.
    pub jwks_file: Option<PathBuf>,
    /// PEM public keys (RSA, EC P-256/P-384 or Ed25519) that may sign tokens.
    pub public_key_files: Vec<PathBuf>,
    /// A file holding an HMAC secret (HS256/384/512 tokens).
    pub hmac_secret_file: Option<PathBuf>,
    /// Static opaque tokens: one `<token> <principal>` per line; `#` starts a comment.
    pub tokens_file: Option<PathBuf>,
    /// Accepted `iss` values (JWTs must carry one of them when this is not empty).
    pub issuers: Vec<String>,
    /// Accepted `aud` values; empty means the canonical resource URI alone.
    pub audiences: Vec<String>,
    /// The canonical URI of this MCP server (its `resource` in RFC 9728); derived from the bound
    /// address and endpoint when not set.
    pub resource: Option<String>,
    /// Authorization servers named in the metadata document.
    pub authorization_servers: Vec<String>,
    /// Scopes every token must grant (403 `insufficient_scope` otherwise).
    pub required_scopes: Vec<String>,
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    pub leeway_secs: u64,
}

impl AuthConfig {
    /// Whether any credential source is configured (authorization is on).
    pub fn enabled(&self) -> bool {
        self.jwks_file.is_some()
            || !self.public_key_files.is_empty()
            || self.hmac_secret_file.is_some()
            || self.tokens_file.is_some()
    }
}

/// Why authorization could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum AuthSetupError {
    /// A key, JWKS or token file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A key, JWKS or token file was read but is not what it should be.
    #[error("{path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// JWT verification keys were given but no audience can be derived.
    #[error("authorization: {0}")]
    Config(String),
}

/// Why a request was refused. Maps to RFC 6750 challenges.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No bearer token at all (401, no error code).
    #[error("authorization required")]
    Missing,
    /// The token is malformed, expired, not for this resource or not signed by a trusted key
    /// (401 `invalid_token`).
    #[error("invalid token: {0}")]
    InvalidToken(String),
    /// The token is valid but lacks a required scope (403 `insufficient_scope`).
    #[error("insufficient scope")]
    InsufficientScope,
}

/// A trusted verification key and the algorithms it may verify.
struct VerifyKey {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

/// A verified token, ready to be cached until it expires.
#[derive(Debug, Clone)]
pub struct Grant {
    /// Who the token stands for.
    pub principal: Principal,
    /// Unix seconds after which the grant is void (`u64::MAX` for static tokens).
    pub expires: u64,
}

/// Validates bearer tokens; shared by every shard.
pub struct Authenticator {
    keys: Vec<VerifyKey>,
    /// SHA-256 of each static token -> its principal (hashing keeps lookups from comparing
    /// secrets byte by byte).
    tokens: HashMap<[u8; 32], Principal>,
    issuers: Vec<String>,
    audiences: Vec<String>,
    required_scopes: Vec<String>,
    leeway: u64,
    resource: String,
    metadata_url: String,
    metadata: Vec<u8>,
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("keys", &self.keys.len())
            .field("tokens", &self.tokens.len())
            .field("resource", &self.resource)
            .finish()
    }
}

fn read(path: &Path) -> Result<Vec<u8>, AuthSetupError> {
    std::fs::read(path).map_err(|source| AuthSetupError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn invalid(path: &Path, reason: impl ToString) -> AuthSetupError {
    AuthSetupError::Invalid {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

const RSA_ALGS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];

type PemParser = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;

/// A PEM public key of any supported kind.
fn pem_key(path: &Path, pem: &[u8]) -> Result<VerifyKey, AuthSetupError> {
    let text = String::from_utf8_lossy(pem);
    let attempts: [(PemParser, &[Algorithm]); 3] = [
        (DecodingKey::from_rsa_pem, &RSA_ALGS),
        (
            DecodingKey::from_ec_pem,
            &[Algorithm::ES256, Algorithm::ES384],
        ),
        (DecodingKey::from_ed_pem, &[Algorithm::EdDSA]),
    ];
    if text.contains("PRIVATE KEY") {
        return Err(invalid(path, "holds a private key; give the public key"));
    }
    for (parse, algorithms) in attempts {
        if let Ok(key) = parse(pem) {
            return Ok(VerifyKey {
                kid: None,
                key,
                algorithms: algorithms.to_vec(),
            });
        }
    }
    Err(invalid(
        path,
        "not a PEM RSA, EC (P-256/P-384) or Ed25519 public key",
    ))
}

fn jwks_keys(path: &Path, json: &[u8]) -> Result<Vec<VerifyKey>, AuthSetupError> {
    let set: JwkSet = serde_json::from_slice(json).map_err(|e| invalid(path, e))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        if !jwk.is_supported() {
            tracing::warn!(kid = ?jwk.common.key_id, "skipping a JWKS key of an unsupported kind");
            continue;
        }
        let key = DecodingKey::from_jwk(jwk).map_err(|e| invalid(path, e))?;
        let algorithms = match jwk.common.key_algorithm {
            // A JWKS `alg` that is not a signature algorithm (e.g. RSA-OAEP) is not for us.
            Some(alg) => match format!("{alg:?}").parse::<Algorithm>() {
                Ok(a) => vec![a],
                Err(_) => continue,
            },
            None => key.family().algorithms().to_vec(),
        };
        keys.push(VerifyKey {
            kid: jwk.common.key_id.clone(),
            key,
            algorithms,
        });
    }
    if keys.is_empty() {
        return Err(invalid(path, "no usable key in the JWKS"));
    }
    Ok(keys)
}

fn static_tokens(path: &Path, text: &[u8]) -> Result<HashMap<[u8; 32], Principal>, AuthSetupError> {
    let text = std::str::from_utf8(text).map_err(|e| invalid(path, e))?;
    let mut tokens = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut parts = line.split_whitespace();
        let (Some(token), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(invalid(
                path,
                format!("line {}: expected `<token> <principal>`", n + 1),
            ));
        };
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        tokens.insert(digest, Principal::from(format!("token:{name}")));
    }
    if tokens.is_empty() {
        return Err(invalid(path, "no token in the file"));
    }
    Ok(tokens)
}

/// The RFC 9728 well-known URL of `resource`: the well-known path goes between host and path.
fn metadata_url_of(resource: &str) -> String {
    let (scheme, rest) = resource.split_once("://").unwrap_or(("https", resource));
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = path.trim_end_matches('/');
    format!("{scheme}://{host}/.well-known/oauth-protected-resource{path}")
}

impl Authenticator {
    /// Read every configured key and token file. `default_resource` is used when the config
    /// names none (e.g. `http://127.0.0.1:8080/mcp`).
    pub fn new(config: &AuthConfig, default_resource: &str) -> Result<Self, AuthSetupError> {
        let mut keys = Vec::new();
        if let Some(path) = &config.jwks_file {
            keys.extend(jwks_keys(path, &read(path)?)?);
        }
        for path in &config.public_key_files {
            keys.push(pem_key(path, &read(path)?)?);
        }
        if let Some(path) = &config.hmac_secret_file {
            let secret = read(path)?;
            let secret = secret.trim_ascii();
            if secret.len() < 32 {
                return Err(invalid(path, "an HMAC secret needs at least 32 bytes"));
            }
            keys.push(VerifyKey {
                kid: None,
                key: DecodingKey::from_secret(secret),
                algorithms: vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
            });
        }
        let tokens = match &config.tokens_file {
            Some(path) => static_tokens(path, &read(path)?)?,
            None => HashMap::new(),
        };
        let resource = config
            .resource
            .clone()
            .unwrap_or_else(|| default_resource.to_owned());
        if !resource.starts_with("http://") && !resource.starts_with("https://") {
            return Err(AuthSetupError::Config(format!(
                "the resource URI {resource:?} must be an absolute http(s) URI"
            )));
        }
        let audiences = if config.audiences.is_empty() {
            vec![resource.clone()]
        } else {
            config.audiences.clone()
        };
        let metadata_url = metadata_url_of(&resource);
        let mut doc = serde_json::json!({
            "resource": resource,
            "authorization_servers": config.authorization_servers,
            "bearer_methods_supported": ["header"],
        });
        if !config.required_scopes.is_empty() {
            doc["scopes_supported"] = serde_json::json!(config.required_scopes);
        }
        if !keys.is_empty() {
            let mut algs: Vec<String> = keys
                .iter()
                .flat_map(|k| k.algorithms.iter().map(|a| format!("{a:?}")))
                .collect();
            algs.sort();
            algs.dedup();
            doc["resource_signing_alg_values_supported"] = serde_json::json!(algs);
        }
        Ok(Authenticator {
            keys,
            tokens,
            issuers: config.issuers.clone(),
            audiences,
            required_scopes: config.required_scopes.clone(),
            leeway: config.leeway_secs,
            resource,
            metadata_url,
            metadata: doc.to_string().into_bytes(),
        })
    }

    /// The canonical resource URI tokens must be issued for.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where the protected resource metadata is served (absolute URL).
    pub fn metadata_url(&self) -> &str {
        &self.metadata_url
    }

    /// The path part of [`Authenticator::metadata_url`].
    pub fn metadata_path(&self) -> &str {
        let rest = self
            .metadata_url
            .split_once("://")
            .map_or("", |(_, rest)| rest);
        rest.find('/').map_or("/", |i| &rest[i..])
    }

    /// The protected resource metadata document (RFC 9728), JSON.
    pub fn metadata(&self) -> &[u8] {
        &self.metadata
    }

    /// The bearer token of an `Authorization` header value, if it is one.
    pub fn bearer(header: Option<&str>) -> Result<&str, AuthError> {
        let value = header.ok_or(AuthError::Missing)?.trim();
        let (scheme, token) = value.split_once(' ').ok_or(AuthError::Missing)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(AuthError::Missing);
        }
        let token = token.trim();
        if token.is_empty() {
            return Err(AuthError::InvalidToken("empty bearer token".into()));
        }
        Ok(token)
    }

    /// Validate one bearer token. `now` is Unix seconds.
    pub fn verify(&self, token: &str, now: u64) -> Result<Grant, AuthError> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        if let Some(principal) = self.tokens.get(&digest) {
            return Ok(Grant {
                principal: principal.clone(),
                expires: u64::MAX,
            });
        }
        if self.keys.is_empty() || token.bytes().filter(|&b| b == b'.').count() != 2 {
            return Err(AuthError::InvalidToken("unknown token".into()));
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| AuthError::InvalidToken(format!("malformed JWT: {e}")))?;
        let mut last = AuthError::InvalidToken("no trusted key for this token".into());
        let candidates = self.keys.iter().filter(|k| {
            k.algorithms.contains(&header.alg)
                && match (&header.kid, &k.kid) {
                    (Some(want), Some(have)) => want == have,
                    _ => true,
                }
        });
        for key in candidates {
            let mut validation = Validation::new(header.alg);
            validation.leeway = self.leeway;
            validation.validate_nbf = true;
            validation.set_required_spec_claims(&["exp", "aud", "sub"]);
            validation.set_audience(&self.audiences);
            if !self.issuers.is_empty() {
                validation.set_issuer(&self.issuers);
                validation.required_spec_claims.insert("iss".into());
            }
            match jsonwebtoken::decode::<serde_json::Map<String, serde_json::Value>>(
                token,
                &key.key,
                &validation,
            ) {
                Ok(data) => return self.grant(&data.claims, now),
                Err(e) => {
                    use jsonwebtoken::errors::ErrorKind;
                    let why = match e.kind() {
                        ErrorKind::InvalidSignature => "bad signature".to_owned(),
                        ErrorKind::ExpiredSignature => "token expired".to_owned(),
                        ErrorKind::ImmatureSignature => "token not valid yet".to_owned(),
                        ErrorKind::InvalidAudience => {
                            "token not issued for this resource".to_owned()
                        }
                        ErrorKind::InvalidIssuer => "untrusted issuer".to_owned(),
                        ErrorKind::MissingRequiredClaim(c) => format!("missing claim {c}"),
                        other => format!("{other:?}"),
                    };
                    last = AuthError::InvalidToken(why);
                    // A signature mismatch may mean another key of the set: try it. Anything
                    // else is about the claims and will not change with the key.
                    if !matches!(e.kind(), ErrorKind::InvalidSignature) {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    fn grant(
        &self,
        claims: &serde_json::Map<String, serde_json::Value>,
        now: u64,
    ) -> Result<Grant, AuthError> {
        let sub = claims
            .get("sub")
            .and_then(|s| s.as_str())
            .ok_or_else(|| AuthError::InvalidToken("sub must be a string".into()))?;
        let iss = claims.get("iss").and_then(|s| s.as_str()).unwrap_or("");
        if !self.required_scopes.is_empty() {
            let granted: Vec<&str> = match claims.get("scope").or_else(|| claims.get("scp")) {
                Some(serde_json::Value::String(s)) => s.split_whitespace().collect(),
                Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
                _ => Vec::new(),
            };
            if !self
                .required_scopes
                .iter()
                .all(|need| granted.contains(&need.as_str()))
            {
                return Err(AuthError::InsufficientScope);
            }
        }
        let expires = claims
            .get("exp")
            .and_then(|e| e.as_u64())
            .map_or(now, |e| e.saturating_add(self.leeway));
        Ok(Grant {
            principal: Principal::from(format!("{iss} {sub}")),
            expires,
        })
    }

    /// HTTP status, `WWW-Authenticate` value and JSON body for a refusal.
    pub fn challenge(&self, error: &AuthError) -> (u16, String, Vec<u8>) {
        let mut header = format!("Bearer resource_metadata=\"{}\"", self.metadata_url);
        if !self.required_scopes.is_empty() {
            header.push_str(&format!(", scope=\"{}\"", self.required_scopes.join(" ")));
        }
        let (status, code, description) = match error {
            AuthError::Missing => (401, None, "authorization required".to_owned()),
            AuthError::InvalidToken(why) => (401, Some("invalid_token"), why.clone()),
            AuthError::InsufficientScope => (
                403,
                Some("insufficient_scope"),
                "the token lacks a required scope".to_owned(),
            ),
        };
        if let Some(code) = code {
            let quoted = description.replace(['"', '\\'], "'");
            header.push_str(&format!(
                ", error=\"{code}\", error_description=\"{quoted}\""
            ));
        }
        let body = serde_json::json!({
            "error": code.unwrap_or("unauthorized"),
            "error_description": description,
        })
        .to_string()
        .into_bytes();
        (status, header, body)
    }
}

#[cfg(test)]
mod tests;
