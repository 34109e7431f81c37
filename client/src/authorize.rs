//! The seam between the HTTP transport and authorization: the transport asks an [`Authorize`] for
//! the headers of every request it makes to the MCP server, and hands it every 401 or 403 answer
//! as a [`Challenge`]. This file owns only that contract; the OAuth flows that implement it live
//! in the `auth` module (whose [`AuthError`] the contract reports), and the transport must not
//! learn any OAuth rule.

pub use crate::auth::AuthError;

/// Authorization for requests to one MCP server.
pub trait Authorize: Send {
    /// Headers for a request to the MCP server (Authorization, DPoP); empty before any challenge.
    fn headers(
        &mut self,
        method: &reqwest::Method,
        url: &str,
    ) -> Result<Vec<(String, String)>, AuthError>;
    /// The server answered 401 or 403: authorize and say whether to retry the request.
    fn challenge(&mut self, challenge: &Challenge) -> Result<bool, AuthError>;
}

/// A 401 or 403 answer from the MCP server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The HTTP status (401 or 403).
    pub status: u16,
    /// The URL of the refused request.
    pub url: String,
    /// Every `WWW-Authenticate` header value, in order.
    pub www_authenticate: Vec<String>,
    /// The `DPoP-Nonce` header, if any.
    pub dpop_nonce: Option<String>,
}
