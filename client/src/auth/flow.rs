//! The authorization code grant with PKCE (S256), `state`, RFC 8707 `resource` and the RFC 9207
//! `iss` checks, and the user agent that carries the authorization request. The built-in agent
//! is headless: it GETs the authorization URL with redirects off and reads the response from the
//! 302 `Location`, which is what an authorization server that needs no login does (test servers,
//! pre-consented clients); an interactive client supplies its own agent. Scope choice and
//! retries belong to `client.rs`.

use oauth2::{AuthorizationCode, CsrfToken, PkceCodeChallenge, Scope};
use url::Url;

use super::discovery::{parse_url, ServerMetadata};
use super::http::Http;
use super::token::{self, Credentials, TokenHttp, TokenSet};
use super::AuthError;

/// Carries an authorization request to the authorization server and brings the response back.
pub trait UserAgent: Send {
    /// Take the user to `authorize_url`; return the URL the authorization server redirected to
    /// (the redirect URI with the response in its query).
    fn authorize(&mut self, authorize_url: &str, redirect_uri: &str) -> Result<String, AuthError>;
}

/// The agent for servers that answer the authorization request with an immediate redirect.
#[derive(Debug, Clone)]
pub struct Headless {
    http: Http,
}

impl Headless {
    /// A headless agent with its own HTTP client.
    pub fn new() -> Result<Self, AuthError> {
        Ok(Self { http: Http::new()? })
    }

    pub(crate) fn with(http: Http) -> Self {
        Self { http }
    }
}

impl UserAgent for Headless {
    fn authorize(&mut self, authorize_url: &str, _redirect_uri: &str) -> Result<String, AuthError> {
        let answer = self
            .http
            .get(authorize_url, "text/html, application/json")?;
        match answer.location {
            Some(location) if (300..400).contains(&answer.status) => Ok(location),
            _ => Err(AuthError::AuthorizationResponse {
                reason: format!(
                    "the authorization endpoint answered HTTP {} without a redirect (it wants a user)",
                    answer.status
                ),
            }),
        }
    }
}

/// One authorization code grant.
pub(crate) struct CodeGrant<'a> {
    pub(crate) server: &'a ServerMetadata,
    pub(crate) creds: &'a Credentials,
    pub(crate) redirect_uri: &'a str,
    pub(crate) scopes: &'a [String],
    pub(crate) resource: Option<&'a str>,
}

/// Run the grant: authorization request through `agent`, checks on the response, token request.
pub(crate) fn authorization_code(
    grant: &CodeGrant<'_>,
    agent: &mut dyn UserAgent,
    token_http: &TokenHttp<'_>,
) -> Result<TokenSet, AuthError> {
    let client = token::oauth_client(grant.creds, grant.server, Some(grant.redirect_uri))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client
        .authorize_url(CsrfToken::new_random)
        .map_err(|_| AuthError::MissingEndpoint {
            issuer: grant.server.issuer.clone(),
            endpoint: "authorization_endpoint",
        })?
        .set_pkce_challenge(challenge)
        .add_scopes(grant.scopes.iter().cloned().map(Scope::new));
    if let Some(resource) = grant.resource {
        request = request.add_extra_param("resource", resource);
    }
    let (url, state) = request.url();
    tracing::debug!(issuer = %grant.server.issuer, scopes = ?grant.scopes, "authorization request");
    let redirected = agent.authorize(url.as_str(), grant.redirect_uri)?;
    let code = read_response(
        &redirected,
        grant.redirect_uri,
        state.secret(),
        grant.server,
    )?;

    let mut exchange = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier);
    if let Some(resource) = grant.resource {
        exchange = exchange.add_extra_param("resource", resource);
    }
    for (k, v) in token::assertion_params(grant.creds, &grant.server.issuer)? {
        exchange = exchange.add_extra_param(k, v);
    }
    let endpoint = grant.server.token_endpoint.as_deref().unwrap_or_default();
    token::finish(endpoint, exchange.request(token_http))
}

/// The code from an authorization response, after the checks that must pass before the code
/// goes anywhere: it came to our redirect URI, `state` matches, and `iss` (RFC 9207) is the
/// issuer we sent the request to, compared as plain strings.
pub(crate) fn read_response(
    redirected: &str,
    redirect_uri: &str,
    state: &str,
    server: &ServerMetadata,
) -> Result<String, AuthError> {
    let got = parse_url(redirected)?;
    let want = parse_url(redirect_uri)?;
    if !same_endpoint(&got, &want) {
        return Err(AuthError::AuthorizationResponse {
            reason: format!("redirected to {redirected}, not to {redirect_uri}"),
        });
    }
    let param = |name: &str| {
        got.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    if param("state").as_deref() != Some(state) {
        return Err(AuthError::StateMismatch);
    }
    let iss = param("iss");
    let advertised = server.authorization_response_iss_parameter_supported == Some(true);
    match &iss {
        Some(found) if found != &server.issuer => {
            return Err(AuthError::IssMismatch {
                expected: server.issuer.clone(),
                found: iss,
            })
        }
        None if advertised => {
            return Err(AuthError::IssMismatch {
                expected: server.issuer.clone(),
                found: None,
            })
        }
        _ => {}
    }
    if let Some(error) = param("error") {
        return Err(AuthError::AuthorizationDenied {
            error,
            description: param("error_description"),
        });
    }
    param("code").ok_or_else(|| AuthError::AuthorizationResponse {
        reason: "no code in the authorization response".to_owned(),
    })
}

fn same_endpoint(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
        && a.path() == b.path()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(advertised: Option<bool>) -> ServerMetadata {
        ServerMetadata {
            issuer: "http://localhost:9".to_owned(),
            authorization_response_iss_parameter_supported: advertised,
            ..ServerMetadata::default()
        }
    }

    const CB: &str = "http://localhost:3000/callback";

    #[test]
    fn iss_rules() {
        let ok = "http://localhost:3000/callback?code=c&state=s&iss=http%3A%2F%2Flocalhost%3A9";
        assert_eq!(
            read_response(ok, CB, "s", &server(Some(true))).unwrap(),
            "c"
        );
        // Not advertised, absent: proceed.
        let plain = "http://localhost:3000/callback?code=c&state=s";
        assert_eq!(read_response(plain, CB, "s", &server(None)).unwrap(), "c");
        // Advertised, absent: refuse.
        assert!(matches!(
            read_response(plain, CB, "s", &server(Some(true))),
            Err(AuthError::IssMismatch { found: None, .. })
        ));
        // Present and wrong, advertised or not; a trailing slash is a different string.
        for iss in [
            "https%3A%2F%2Fevil.example.com",
            "http%3A%2F%2Flocalhost%3A9%2F",
        ] {
            let bad = format!("{CB}?code=c&state=s&iss={iss}");
            for adv in [None, Some(true)] {
                assert!(matches!(
                    read_response(&bad, CB, "s", &server(adv)),
                    Err(AuthError::IssMismatch { found: Some(_), .. })
                ));
            }
        }
    }

    #[test]
    fn state_and_redirect_target_are_checked() {
        let s = server(None);
        assert!(matches!(
            read_response(&format!("{CB}?code=c&state=x"), CB, "s", &s),
            Err(AuthError::StateMismatch)
        ));
        assert!(matches!(
            read_response("http://evil:3000/callback?code=c&state=s", CB, "s", &s),
            Err(AuthError::AuthorizationResponse { .. })
        ));
        assert!(matches!(
            read_response(&format!("{CB}?error=access_denied&state=s"), CB, "s", &s),
            Err(AuthError::AuthorizationDenied { .. })
        ));
    }
}
