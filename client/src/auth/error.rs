//! The one error type of the authorization module. Each variant names the rule or the exchange
//! that failed, so a caller (and the log) can tell a refusal the specification demands (a
//! mismatched `resource`, `issuer` or `iss`) from a server that is merely unreachable. It owns no
//! logic and must not depend on any other auth file.

/// Why authorizing a request to an MCP server failed.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// The HTTP exchange itself failed (connection, TLS, timeout).
    #[error("HTTP request to {url} failed: {source}")]
    Http {
        /// The URL asked for.
        url: String,
        /// What reqwest reported.
        #[source]
        source: reqwest::Error,
    },
    /// A URL from the configuration or from a server could not be parsed or used.
    #[error("invalid URL {url:?}: {reason}")]
    Url {
        /// The offending text.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// A metadata or registration document was not the JSON it should be.
    #[error("malformed JSON from {url}: {source}")]
    Json {
        /// Where the document came from.
        url: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// An endpoint answered with a status this step cannot use.
    #[error("{url} answered HTTP {status}")]
    Status {
        /// The URL asked for.
        url: String,
        /// The HTTP status.
        status: u16,
    },
    /// The protected resource metadata names a resource this server URL does not belong to
    /// (RFC 9728 section 3.3): authorizing would mint a token for someone else.
    #[error("protected resource metadata is for {resource:?}, not for {server:?}")]
    ResourceMismatch {
        /// The `resource` the metadata published.
        resource: String,
        /// The MCP server URL we talk to.
        server: String,
    },
    /// The protected resource metadata lists no authorization server.
    #[error("protected resource metadata at {url} lists no authorization server")]
    NoAuthorizationServer {
        /// Where the metadata came from.
        url: String,
    },
    /// No authorization server metadata at any well-known URL of this issuer.
    #[error("no authorization server metadata found for issuer {issuer:?}")]
    MetadataNotFound {
        /// The issuer identifier.
        issuer: String,
    },
    /// The authorization server metadata claims another issuer than the one it was fetched
    /// for (RFC 8414 section 3.3); none of its endpoints may be used.
    #[error("authorization server metadata for {expected:?} claims issuer {found:?}")]
    IssuerMismatch {
        /// The issuer the well-known URL was built from.
        expected: String,
        /// The `issuer` inside the document.
        found: String,
    },
    /// The authorization server lacks an endpoint this flow needs.
    #[error("authorization server {issuer:?} has no {endpoint}")]
    MissingEndpoint {
        /// The issuer.
        issuer: String,
        /// Which endpoint (`authorization_endpoint`, `token_endpoint`, ...).
        endpoint: &'static str,
    },
    /// No way to identify this client to the authorization server: no pre-registered
    /// credentials for it, no client ID metadata document support, no registration endpoint.
    #[error("no client identity for authorization server {issuer:?}")]
    NoClientIdentity {
        /// The issuer.
        issuer: String,
    },
    /// The authorization response was not a redirect to our redirect URI carrying a code.
    #[error("unusable authorization response: {reason}")]
    AuthorizationResponse {
        /// What was wrong with it.
        reason: String,
    },
    /// The authorization server refused the authorization request.
    #[error("authorization denied: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    AuthorizationDenied {
        /// The OAuth `error` code.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// The `state` in the authorization response is not the one we sent (CSRF).
    #[error("authorization response state does not match the request")]
    StateMismatch,
    /// RFC 9207: the authorization response's `iss` is missing while the server advertised it,
    /// or differs from the issuer the request was sent to (mix-up attack).
    #[error("authorization response iss {} does not match issuer {expected:?}", found.as_deref().map_or_else(|| "absent".to_owned(), |f| format!("{f:?}")))]
    IssMismatch {
        /// The issuer the request went to.
        expected: String,
        /// The `iss` received, `None` when absent.
        found: Option<String>,
    },
    /// The token endpoint (or the identity provider's) refused a grant.
    #[error("token request to {url} failed: {error}{}", description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Token {
        /// The token endpoint.
        url: String,
        /// The OAuth `error` code, or a short reason when the answer was not an OAuth error.
        error: String,
        /// The `error_description`, if any.
        description: Option<String>,
    },
    /// Too many authorization attempts in a row without a request getting through.
    #[error("gave up after {attempts} authorization attempts")]
    RetryLimit {
        /// How many attempts were made.
        attempts: u32,
    },
    /// Signing a JWT (client assertion or DPoP proof) failed.
    #[error("JWT signing failed: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
    /// A key could not be made or read.
    #[error("key error: {0}")]
    Key(String),
    /// The options (or the conformance context) are incomplete or contradictory.
    #[error("authorization configuration: {0}")]
    Config(String),
}
