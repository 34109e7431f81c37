//! The seam between a transport and an authorizer: the transport asks for the headers of each
//! request to the MCP server and reports 401/403 answers; the authorizer owns everything else
//! (discovery, registration, tokens). This copy mirrors `client/src/authorize.rs` on the client
//! core's branch until the two are merged; it must not grow transport or OAuth logic.

use super::AuthError;

/// What a transport needs from whatever authorizes its requests.
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

/// A 401 or 403 answer from the MCP server, as the transport saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The HTTP status (401 or 403).
    pub status: u16,
    /// The URL of the request that was refused.
    pub url: String,
    /// Every `WWW-Authenticate` header value, in order.
    pub www_authenticate: Vec<String>,
    /// The `DPoP-Nonce` header, when the server sent one.
    pub dpop_nonce: Option<String>,
}
