//! `OAuthClient`, the authorizer a transport holds: it answers `headers` from the token of the
//! authorization server the resource currently names, and on a 401/403 it rediscovers, picks
//! scopes (the challenge's, else the resource's, never dropping what was asked before, plus
//! `offline_access` when the server lists it), refreshes before re-authorizing, and runs the
//! configured grant, at most three times in a row without a request getting through. Tokens and
//! registrations are kept per issuer. Every exchange is blocking HTTP: it runs on the caller's
//! thread, which must not be a shard's.

use std::collections::HashMap;

use super::discovery::{self, Discovered};
use super::dpop::{self, DpopKey};
use super::flow::{self, CodeGrant, Headless, UserAgent};
use super::grants::{self, EnterpriseIdp, Target};
use super::http::Http;
use super::registration::{PreRegistered, Profile, Registrations};
use super::token::{TokenHttp, TokenSet};
use super::www_authenticate as wwwa;
use super::AuthError;
use crate::authorize::{Authorize, Challenge};

/// Authorization attempts allowed in a row before giving up: a server that keeps refusing
/// fresh tokens would otherwise loop us forever.
const MAX_ATTEMPTS: u32 = 3;

/// The scope that asks for a refresh token (SEP-2207).
const OFFLINE_ACCESS: &str = "offline_access";

/// How the client gets its tokens.
#[derive(Debug, Clone, Default)]
pub enum Grant {
    /// The authorization code grant with PKCE, through the user agent.
    #[default]
    AuthorizationCode,
    /// The client credentials grant, with pre-registered credentials (a secret or a key).
    ClientCredentials,
    /// The JWT bearer grant with a workload identity assertion (SEP-1933).
    JwtBearer {
        /// The workload's JWT.
        assertion: String,
    },
    /// Enterprise-managed authorization (SEP-990): token exchange at the identity provider,
    /// then the JWT bearer grant with pre-registered credentials.
    Enterprise(EnterpriseIdp),
}

/// What an `OAuthClient` is built from.
#[derive(Debug, Clone)]
pub struct OAuthOptions {
    /// `client_name` for dynamic registration.
    pub client_name: String,
    /// The redirect URI for the authorization code grant.
    pub redirect_uri: String,
    /// This client's metadata document URL, used as its client ID where supported.
    pub client_metadata_document_url: Option<String>,
    /// Credentials registered beforehand.
    pub pre_registered: Vec<PreRegistered>,
    /// The grant to use.
    pub grant: Grant,
    /// Bind tokens with DPoP (RFC 9449) when the authorization server supports ES256 proofs.
    pub dpop: bool,
}

impl Default for OAuthOptions {
    fn default() -> Self {
        Self {
            client_name: "ringmcp-client".to_owned(),
            redirect_uri: "http://localhost:3000/callback".to_owned(),
            client_metadata_document_url: None,
            pre_registered: Vec::new(),
            grant: Grant::AuthorizationCode,
            dpop: false,
        }
    }
}

/// An OAuth authorizer for requests to one MCP server.
pub struct OAuthClient {
    grant: Grant,
    dpop_wanted: bool,
    profile: Profile,
    http: Http,
    agent: Box<dyn UserAgent>,
    registrations: Registrations,
    tokens: HashMap<String, TokenSet>,
    current: Option<Discovered>,
    scopes: Vec<String>,
    dpop_key: Option<DpopKey>,
    as_nonces: HashMap<String, String>,
    rs_nonce: Option<String>,
    rs_nonce_retried: bool,
    attempts: u32,
    awaiting_outcome: bool,
}

impl std::fmt::Debug for OAuthClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Tokens stay out of logs.
        f.debug_struct("OAuthClient")
            .field("issuer", &self.current.as_ref().map(|c| &c.server.issuer))
            .field("scopes", &self.scopes)
            .finish_non_exhaustive()
    }
}

impl OAuthClient {
    /// A client that carries authorization requests with the headless agent.
    pub fn new(options: OAuthOptions) -> Result<Self, AuthError> {
        let http = Http::new()?;
        let agent = Box::new(Headless::with(http.clone()));
        Ok(Self::build(options, http, agent))
    }

    /// A client whose authorization requests go through `agent` (a browser, a test double).
    pub fn with_agent(options: OAuthOptions, agent: Box<dyn UserAgent>) -> Result<Self, AuthError> {
        Ok(Self::build(options, Http::new()?, agent))
    }

    fn build(options: OAuthOptions, http: Http, agent: Box<dyn UserAgent>) -> Self {
        Self {
            grant: options.grant,
            dpop_wanted: options.dpop,
            profile: Profile {
                client_name: options.client_name,
                redirect_uri: options.redirect_uri,
                metadata_document_url: options.client_metadata_document_url,
                pre_registered: options.pre_registered,
            },
            http,
            agent,
            registrations: Registrations::default(),
            tokens: HashMap::new(),
            current: None,
            scopes: Vec::new(),
            dpop_key: None,
            as_nonces: HashMap::new(),
            rs_nonce: None,
            rs_nonce_retried: false,
            attempts: 0,
            awaiting_outcome: false,
        }
    }

    fn current_token(&self) -> Option<&TokenSet> {
        let issuer = &self.current.as_ref()?.server.issuer;
        self.tokens.get(issuer)
    }

    /// Refresh the current token if it has expired and can be refreshed; a failure only logs,
    /// since the server's 401 will start a full authorization.
    fn refresh_if_expired(&mut self) {
        let Some(current) = self.current.clone() else {
            return;
        };
        let refresh = match self.tokens.get(&current.server.issuer) {
            Some(token) if token.expired() => token.refresh_token.clone(),
            _ => None,
        };
        if let Some(refresh) = refresh {
            if let Err(error) = self.refresh(&current, &refresh) {
                tracing::warn!(%error, "refreshing an expired token failed");
            }
        }
    }

    fn refresh(&mut self, at: &Discovered, refresh_token: &str) -> Result<(), AuthError> {
        let creds = self
            .registrations
            .credentials(&self.http, &at.server, &self.profile)?;
        let issuer = at.server.issuer.clone();
        let dpop = if self.ensure_dpop(at)? {
            self.dpop_key.as_ref()
        } else {
            None
        };
        let token_http = TokenHttp::new(&self.http, dpop, self.as_nonces.get(&issuer).cloned());
        let scopes = Vec::new();
        let target = Target {
            server: &at.server,
            creds: &creds,
            scopes: &scopes,
            resource: at.resource.as_deref(),
        };
        let result = grants::refresh(&target, refresh_token, &token_http);
        if let Some(nonce) = token_http.into_nonce() {
            self.as_nonces.insert(issuer.clone(), nonce);
        }
        let set = result?;
        tracing::info!(%issuer, "refreshed the access token");
        self.tokens.insert(issuer, set);
        Ok(())
    }

    /// Whether tokens from `at` are DPoP-bound (DPoP wanted and ES256 proofs supported there);
    /// makes the key on first use.
    fn ensure_dpop(&mut self, at: &Discovered) -> Result<bool, AuthError> {
        let supported = at
            .server
            .dpop_signing_alg_values_supported
            .as_ref()
            .is_some_and(|algs| algs.iter().any(|a| a == dpop::ALGORITHM));
        if !(self.dpop_wanted && supported) {
            return Ok(false);
        }
        if self.dpop_key.is_none() {
            self.dpop_key = Some(DpopKey::generate()?);
        }
        Ok(true)
    }

    /// Run the configured grant against `at` for `scopes`.
    fn obtain(&mut self, at: &Discovered, scopes: &[String]) -> Result<TokenSet, AuthError> {
        let creds = self
            .registrations
            .credentials(&self.http, &at.server, &self.profile)?;
        let issuer = at.server.issuer.clone();
        let nonce = self.as_nonces.get(&issuer).cloned();
        // Disjoint borrows: the key and HTTP client are read while the agent is used mutably.
        let dpop = if self.ensure_dpop(at)? {
            self.dpop_key.as_ref()
        } else {
            None
        };
        let token_http = TokenHttp::new(&self.http, dpop, nonce);
        let target = Target {
            server: &at.server,
            creds: &creds,
            scopes,
            resource: at.resource.as_deref(),
        };
        let result = match &self.grant {
            Grant::AuthorizationCode => {
                let code = CodeGrant {
                    server: &at.server,
                    creds: &creds,
                    redirect_uri: &self.profile.redirect_uri,
                    scopes,
                    resource: at.resource.as_deref(),
                };
                flow::authorization_code(&code, self.agent.as_mut(), &token_http)
            }
            Grant::ClientCredentials => grants::client_credentials(&target, &token_http),
            Grant::JwtBearer { assertion } => grants::jwt_bearer(&target, assertion, &token_http),
            Grant::Enterprise(idp) => {
                // The identity provider is another server: no DPoP nonce of ours applies there.
                let idp_http = TokenHttp::new(&self.http, None, None);
                grants::id_jag(&target, idp, &idp_http)
                    .and_then(|jag| grants::jwt_bearer(&target, &jag, &token_http))
            }
        };
        if let Some(nonce) = token_http.into_nonce() {
            self.as_nonces.insert(issuer, nonce);
        }
        result
    }

    /// Scopes for the next grant: the challenge's, else the resource's, added to those asked
    /// for before (SEP-2350), plus `offline_access` when this server lists it and the grant
    /// can yield refresh tokens.
    fn choose_scopes(&mut self, challenged: Option<&str>, at: &Discovered) -> Vec<String> {
        let fresh: Vec<String> = match challenged {
            Some(scope) => scope.split_whitespace().map(str::to_owned).collect(),
            None => at.resource_scopes.clone().unwrap_or_default(),
        };
        union_into(&mut self.scopes, fresh);
        let mut request = self.scopes.clone();
        let offers_offline = at
            .server
            .scopes_supported
            .as_ref()
            .is_some_and(|s| s.iter().any(|x| x == OFFLINE_ACCESS));
        if offers_offline && matches!(self.grant, Grant::AuthorizationCode) {
            union_into(&mut request, [OFFLINE_ACCESS.to_owned()]);
        }
        request
    }
}

fn union_into(into: &mut Vec<String>, more: impl IntoIterator<Item = String>) {
    for scope in more {
        if !into.contains(&scope) {
            into.push(scope);
        }
    }
}

impl Authorize for OAuthClient {
    fn headers(
        &mut self,
        method: &reqwest::Method,
        url: &str,
    ) -> Result<Vec<(String, String)>, AuthError> {
        // Two requests with no challenge between them: the first got through, so the run of
        // failed attempts is over.
        if self.awaiting_outcome {
            self.attempts = 0;
            self.rs_nonce_retried = false;
        }
        self.awaiting_outcome = true;
        self.refresh_if_expired();
        let Some(token) = self.current_token() else {
            return Ok(Vec::new());
        };
        match (&self.dpop_key, token.dpop) {
            (Some(key), true) => {
                let proof = key.proof(
                    method.as_str(),
                    url,
                    self.rs_nonce.as_deref(),
                    Some(&token.access_token),
                )?;
                Ok(vec![
                    (
                        "Authorization".to_owned(),
                        format!("DPoP {}", token.access_token),
                    ),
                    ("DPoP".to_owned(), proof),
                ])
            }
            _ => Ok(vec![(
                "Authorization".to_owned(),
                format!("Bearer {}", token.access_token),
            )]),
        }
    }

    fn challenge(&mut self, challenge: &Challenge) -> Result<bool, AuthError> {
        self.awaiting_outcome = false;
        let parsed = wwwa::parse(&challenge.www_authenticate);
        let error = wwwa::find(&parsed, "error");
        if let Some(nonce) = &challenge.dpop_nonce {
            self.rs_nonce = Some(nonce.clone());
        }
        // RFC 9449 section 9: the token is fine, the proof lacked the server's nonce.
        if error == Some("use_dpop_nonce") && challenge.dpop_nonce.is_some() {
            if self.current_token().is_some() && !self.rs_nonce_retried {
                self.rs_nonce_retried = true;
                return Ok(true);
            }
            return Ok(false);
        }
        if challenge.status == 403 && error != Some("insufficient_scope") {
            // Forbidden for a reason more scopes will not fix.
            return Ok(false);
        }
        if self.attempts >= MAX_ATTEMPTS {
            tracing::warn!(attempts = self.attempts, url = %challenge.url, "authorization retry limit reached");
            return Err(AuthError::RetryLimit {
                attempts: self.attempts,
            });
        }
        let at = discovery::discover(
            &self.http,
            &challenge.url,
            wwwa::find(&parsed, "resource_metadata"),
        )?;
        let issuer = at.server.issuer.clone();
        if challenge.status == 401 {
            let refresh = self
                .tokens
                .get(&issuer)
                .and_then(|t| t.refresh_token.clone());
            if let Some(refresh) = refresh {
                match self.refresh(&at, &refresh) {
                    Ok(()) => {
                        self.current = Some(at);
                        return Ok(true);
                    }
                    Err(error) => tracing::info!(%error, "refresh failed; authorizing again"),
                }
            }
        }
        let scopes = self.choose_scopes(wwwa::find(&parsed, "scope"), &at);
        self.attempts += 1;
        tracing::info!(%issuer, attempt = self.attempts, ?scopes, status = challenge.status, "authorizing");
        let set = self.obtain(&at, &scopes)?;
        self.tokens.insert(issuer, set);
        self.current = Some(at);
        Ok(true)
    }
}
