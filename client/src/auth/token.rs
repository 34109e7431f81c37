//! Talking to token endpoints: the oauth2 client set up for one authorization server and one
//! client identity (its HTTP layer adds a DPoP proof to each request and retries once with the
//! nonce a `use_dpop_nonce` answer carries), form POSTs for the grants oauth2 lacks, token
//! endpoint client authentication for those, and the token set a grant yields. It does not pick
//! grants or scopes.

use base64::Engine as _;
use oauth2::basic::{BasicClient, BasicTokenResponse};
use oauth2::http::{self, header, HeaderValue};
use oauth2::{
    AuthType, AuthUrl, ClientId, ClientSecret, EndpointMaybeSet, EndpointNotSet, EndpointSet,
    RedirectUrl, RequestTokenError, StandardErrorResponse, TokenResponse as _, TokenUrl,
};
use std::cell::RefCell;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::discovery::ServerMetadata;
use super::dpop::DpopKey;
use super::http::Http;
use super::jwt::{SigningKey, ASSERTION_TYPE};
use super::AuthError;

/// How a client authenticates at the token endpoint.
#[derive(Debug, Clone)]
pub(crate) enum ClientAuth {
    /// A public client: `client_id` in the body.
    None,
    /// `client_secret_basic`.
    Basic(String),
    /// `client_secret_post`.
    Post(String),
    /// `private_key_jwt` (RFC 7523 section 2.2).
    PrivateKeyJwt(Arc<SigningKey>),
}

/// A client identity at one authorization server.
#[derive(Debug, Clone)]
pub(crate) struct Credentials {
    pub(crate) client_id: String,
    pub(crate) auth: ClientAuth,
}

/// What a successful grant gave us.
#[derive(Debug, Clone)]
pub(crate) struct TokenSet {
    pub(crate) access_token: String,
    /// True for a DPoP-bound token (`token_type` "DPoP"), presented with the DPoP scheme.
    pub(crate) dpop: bool,
    pub(crate) refresh_token: Option<String>,
    pub(crate) expires_at: Option<Instant>,
}

impl TokenSet {
    fn from_response(response: &BasicTokenResponse) -> Self {
        let dpop = matches!(response.token_type(), oauth2::basic::BasicTokenType::Extension(t) if t.eq_ignore_ascii_case("dpop"));
        Self {
            access_token: response.access_token().secret().clone(),
            dpop,
            refresh_token: response.refresh_token().map(|t| t.secret().clone()),
            expires_at: response
                .expires_in()
                .map(|d| Instant::now() + d.saturating_sub(Duration::from_secs(30))),
        }
    }

    pub(crate) fn expired(&self) -> bool {
        self.expires_at.is_some_and(|at| Instant::now() >= at)
    }
}

/// oauth2's client with the token endpoint set and the authorization endpoint maybe set.
pub(crate) type OAuth =
    BasicClient<EndpointMaybeSet, EndpointNotSet, EndpointNotSet, EndpointNotSet, EndpointSet>;

/// The oauth2 client for `creds` at `server`. For `private_key_jwt` the assertion goes in as
/// extra parameters of each request (`assertion_params`).
pub(crate) fn oauth_client(
    creds: &Credentials,
    server: &ServerMetadata,
    redirect_uri: Option<&str>,
) -> Result<OAuth, AuthError> {
    let token = server
        .token_endpoint
        .as_deref()
        .ok_or_else(|| AuthError::MissingEndpoint {
            issuer: server.issuer.clone(),
            endpoint: "token_endpoint",
        })?;
    let token = TokenUrl::new(token.to_owned()).map_err(|e| bad_url(token, e))?;
    let auth = server
        .authorization_endpoint
        .as_deref()
        .map(|a| AuthUrl::new(a.to_owned()).map_err(|e| bad_url(a, e)))
        .transpose()?;
    let mut client = BasicClient::new(ClientId::new(creds.client_id.clone()))
        .set_auth_uri_option(auth)
        .set_token_uri(token);
    client = match &creds.auth {
        ClientAuth::Basic(secret) => client
            .set_client_secret(ClientSecret::new(secret.clone()))
            .set_auth_type(AuthType::BasicAuth),
        ClientAuth::Post(secret) => client
            .set_client_secret(ClientSecret::new(secret.clone()))
            .set_auth_type(AuthType::RequestBody),
        ClientAuth::None | ClientAuth::PrivateKeyJwt(_) => {
            client.set_auth_type(AuthType::RequestBody)
        }
    };
    if let Some(redirect) = redirect_uri {
        let url = RedirectUrl::new(redirect.to_owned()).map_err(|e| bad_url(redirect, e))?;
        client = client.set_redirect_uri(url);
    }
    Ok(client)
}

/// The `client_assertion` parameters for `private_key_jwt`; none for other methods.
pub(crate) fn assertion_params(
    creds: &Credentials,
    issuer: &str,
) -> Result<Vec<(&'static str, String)>, AuthError> {
    match &creds.auth {
        ClientAuth::PrivateKeyJwt(key) => Ok(vec![
            ("client_assertion_type", ASSERTION_TYPE.to_owned()),
            (
                "client_assertion",
                key.client_assertion(&creds.client_id, issuer)?,
            ),
        ]),
        _ => Ok(Vec::new()),
    }
}

/// oauth2's HTTP layer: our client, plus DPoP proofs when a key is given.
pub(crate) struct TokenHttp<'a> {
    http: &'a Http,
    dpop: Option<&'a DpopKey>,
    nonce: RefCell<Option<String>>,
}

impl<'a> TokenHttp<'a> {
    pub(crate) fn new(http: &'a Http, dpop: Option<&'a DpopKey>, nonce: Option<String>) -> Self {
        Self {
            http,
            dpop,
            nonce: RefCell::new(nonce),
        }
    }

    /// The last nonce the authorization server sent, to start the next request with.
    pub(crate) fn into_nonce(self) -> Option<String> {
        self.nonce.into_inner()
    }
}

impl oauth2::SyncHttpClient for TokenHttp<'_> {
    type Error = AuthError;

    fn call(&self, request: oauth2::HttpRequest) -> Result<oauth2::HttpResponse, AuthError> {
        let Some(key) = self.dpop else {
            return self.http.send(request);
        };
        let (parts, body) = request.into_parts();
        let url = parts.uri.to_string();
        let mut retried = false;
        loop {
            let proof = key.proof(
                parts.method.as_str(),
                &url,
                self.nonce.borrow().as_deref(),
                None,
            )?;
            let mut attempt = http::Request::from_parts(parts.clone(), body.clone());
            let value = HeaderValue::from_str(&proof).map_err(|e| AuthError::Key(e.to_string()))?;
            attempt.headers_mut().insert("dpop", value);
            let response = self.http.send(attempt)?;
            let fresh = response
                .headers()
                .get("dpop-nonce")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let asks_nonce = fresh.is_some()
                && oauth_error(response.body()).as_deref() == Some("use_dpop_nonce");
            if fresh.is_some() {
                *self.nonce.borrow_mut() = fresh;
            }
            // RFC 9449 section 8: one retry with the supplied nonce; a second demand is final.
            if asks_nonce && !retried {
                tracing::debug!(%url, "token endpoint asked for a DPoP nonce; retrying");
                retried = true;
                continue;
            }
            return Ok(response);
        }
    }
}

fn oauth_error(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("error")?.as_str().map(str::to_owned)
}

/// Run an oauth2 token request and turn its answer into a token set.
pub(crate) fn finish(
    url: &str,
    result: Result<
        BasicTokenResponse,
        RequestTokenError<AuthError, StandardErrorResponse<oauth2::basic::BasicErrorResponseType>>,
    >,
) -> Result<TokenSet, AuthError> {
    match result {
        Ok(response) => Ok(TokenSet::from_response(&response)),
        Err(RequestTokenError::ServerResponse(e)) => Err(AuthError::Token {
            url: url.to_owned(),
            error: e.error().as_ref().to_owned(),
            description: e.error_description().cloned(),
        }),
        Err(RequestTokenError::Request(e)) => Err(e),
        Err(RequestTokenError::Parse(e, _)) => Err(AuthError::Token {
            url: url.to_owned(),
            error: "malformed token response".to_owned(),
            description: Some(e.to_string()),
        }),
        Err(RequestTokenError::Other(reason)) => Err(AuthError::Token {
            url: url.to_owned(),
            error: reason,
            description: None,
        }),
    }
}

/// POST a grant oauth2 has no builder for (jwt-bearer, token exchange) and read the standard
/// token response.
pub(crate) fn post_grant(
    client: &TokenHttp<'_>,
    url: &str,
    creds: Option<&Credentials>,
    mut params: Vec<(&str, String)>,
) -> Result<BasicTokenResponse, AuthError> {
    let mut builder = http::Request::builder()
        .method(http::Method::POST)
        .uri(url)
        .header(header::ACCEPT, "application/json")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    match creds.map(|c| (c.client_id.as_str(), &c.auth)) {
        Some((id, ClientAuth::Basic(secret))) => {
            builder = builder.header(header::AUTHORIZATION, basic_auth(id, secret));
        }
        Some((id, ClientAuth::Post(secret))) => {
            params.push(("client_id", id.to_owned()));
            params.push(("client_secret", secret.clone()));
        }
        Some((id, ClientAuth::None | ClientAuth::PrivateKeyJwt(_))) => {
            params.push(("client_id", id.to_owned()));
        }
        None => {}
    }
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter().map(|(k, v)| (*k, v.as_str())))
        .finish()
        .into_bytes();
    let request = builder.body(body).map_err(|e| bad_url(url, e))?;
    let response = oauth2::SyncHttpClient::call(client, request)?;
    if response.status() != http::StatusCode::OK {
        let parsed: Option<serde_json::Value> = serde_json::from_slice(response.body()).ok();
        let field = |k: &str| {
            parsed
                .as_ref()
                .and_then(|v| v.get(k))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        return Err(AuthError::Token {
            url: url.to_owned(),
            error: field("error").unwrap_or_else(|| format!("HTTP {}", response.status().as_u16())),
            description: field("error_description"),
        });
    }
    serde_json::from_slice(response.body()).map_err(|e| AuthError::Token {
        url: url.to_owned(),
        error: "malformed token response".to_owned(),
        description: Some(e.to_string()),
    })
}

/// `client_secret_basic` as RFC 6749 section 2.3.1 has it: each part form-urlencoded first.
fn basic_auth(id: &str, secret: &str) -> String {
    let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let raw = format!("{}:{}", enc(id), enc(secret));
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

pub(crate) fn token_set(response: &BasicTokenResponse) -> TokenSet {
    TokenSet::from_response(response)
}

fn bad_url(url: &str, e: impl std::fmt::Display) -> AuthError {
    AuthError::Url {
        url: url.to_owned(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_auth_urlencodes_each_part() {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(basic_auth("a b:c", "s&t").trim_start_matches("Basic "))
            .unwrap();
        assert_eq!(String::from_utf8(decoded).unwrap(), "a+b%3Ac:s%26t");
    }

    #[test]
    fn dpop_token_type_is_recognised() {
        let response: BasicTokenResponse = serde_json::from_str(
            r#"{"access_token":"t","token_type":"DPoP","expires_in":3600,"refresh_token":"r"}"#,
        )
        .unwrap();
        let set = token_set(&response);
        assert!(set.dpop);
        assert_eq!(set.refresh_token.as_deref(), Some("r"));
        assert!(!set.expired());
        let bearer: BasicTokenResponse =
            serde_json::from_str(r#"{"access_token":"t","token_type":"Bearer"}"#).unwrap();
        assert!(!token_set(&bearer).dpop);
    }
}
