//! The grants other than the authorization code: refresh (RFC 6749 section 6), client
//! credentials (section 4.4, with a secret or `private_key_jwt`), the RFC 7523 JWT bearer grant
//! for workload identity federation, and enterprise-managed authorization (SEP-990): an RFC 8693
//! token exchange at the enterprise identity provider for an ID-JAG, then a JWT bearer grant
//! with it at the authorization server. One request each, no retries: a refused assertion will
//! not get better by asking again.

use oauth2::{RefreshToken, Scope};

use super::discovery::ServerMetadata;
use super::token::{self, Credentials, TokenHttp, TokenSet};
use super::AuthError;

/// RFC 7523 section 2.1.
const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/// RFC 8693 section 2.1.
const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ID_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:id_token";
/// The Identity Assertion JWT Authorization Grant token type (SEP-990).
const ID_JAG_TYPE: &str = "urn:ietf:params:oauth:token-type:id-jag";

/// Where a grant goes and for what.
pub(crate) struct Target<'a> {
    pub(crate) server: &'a ServerMetadata,
    pub(crate) creds: &'a Credentials,
    pub(crate) scopes: &'a [String],
    pub(crate) resource: Option<&'a str>,
}

impl Target<'_> {
    fn endpoint(&self) -> Result<&str, AuthError> {
        self.server
            .token_endpoint
            .as_deref()
            .ok_or_else(|| AuthError::MissingEndpoint {
                issuer: self.server.issuer.clone(),
                endpoint: "token_endpoint",
            })
    }

    fn common_params(&self) -> Vec<(&'static str, String)> {
        let mut params = Vec::new();
        if !self.scopes.is_empty() {
            params.push(("scope", self.scopes.join(" ")));
        }
        if let Some(resource) = self.resource {
            params.push(("resource", resource.to_owned()));
        }
        params
    }
}

/// Trade a refresh token for a new access token.
pub(crate) fn refresh(
    target: &Target<'_>,
    refresh_token: &str,
    http: &TokenHttp<'_>,
) -> Result<TokenSet, AuthError> {
    let client = token::oauth_client(target.creds, target.server, None)?;
    let refresh_token = RefreshToken::new(refresh_token.to_owned());
    let mut request = client.exchange_refresh_token(&refresh_token);
    if let Some(resource) = target.resource {
        request = request.add_extra_param("resource", resource);
    }
    for (k, v) in token::assertion_params(target.creds, &target.server.issuer)? {
        request = request.add_extra_param(k, v);
    }
    let mut set = token::finish(target.endpoint()?, request.request(http))?;
    // RFC 6749 section 6: no new refresh token means the old one stays good.
    if set.refresh_token.is_none() {
        set.refresh_token = Some(refresh_token.secret().clone());
    }
    Ok(set)
}

/// The client credentials grant.
pub(crate) fn client_credentials(
    target: &Target<'_>,
    http: &TokenHttp<'_>,
) -> Result<TokenSet, AuthError> {
    let client = token::oauth_client(target.creds, target.server, None)?;
    let mut request = client
        .exchange_client_credentials()
        .add_scopes(target.scopes.iter().cloned().map(Scope::new));
    if let Some(resource) = target.resource {
        request = request.add_extra_param("resource", resource);
    }
    for (k, v) in token::assertion_params(target.creds, &target.server.issuer)? {
        request = request.add_extra_param(k, v);
    }
    token::finish(target.endpoint()?, request.request(http))
}

/// The JWT bearer grant with `assertion`.
pub(crate) fn jwt_bearer(
    target: &Target<'_>,
    assertion: &str,
    http: &TokenHttp<'_>,
) -> Result<TokenSet, AuthError> {
    let mut params = vec![
        ("grant_type", JWT_BEARER.to_owned()),
        ("assertion", assertion.to_owned()),
    ];
    params.extend(target.common_params());
    params.extend(token::assertion_params(
        target.creds,
        &target.server.issuer,
    )?);
    let response = token::post_grant(http, target.endpoint()?, Some(target.creds), params)?;
    Ok(token::token_set(&response))
}

/// What the enterprise identity provider needs for the token exchange.
#[derive(Debug, Clone)]
pub struct EnterpriseIdp {
    /// The identity provider's token endpoint.
    pub token_endpoint: String,
    /// Our client ID at the identity provider.
    pub client_id: String,
    /// Our client secret there, if it has given us one.
    pub client_secret: Option<String>,
    /// The user's ID token from the identity provider (the subject token).
    pub id_token: String,
}

/// SEP-990 step 1: exchange the ID token for an ID-JAG addressed to `target`'s authorization
/// server and resource.
pub(crate) fn id_jag(
    target: &Target<'_>,
    idp: &EnterpriseIdp,
    http: &TokenHttp<'_>,
) -> Result<String, AuthError> {
    let mut params = vec![
        ("grant_type", TOKEN_EXCHANGE.to_owned()),
        ("requested_token_type", ID_JAG_TYPE.to_owned()),
        ("subject_token", idp.id_token.clone()),
        ("subject_token_type", ID_TOKEN_TYPE.to_owned()),
        ("audience", target.server.issuer.clone()),
    ];
    params.extend(target.common_params());
    let creds = Credentials {
        client_id: idp.client_id.clone(),
        auth: match &idp.client_secret {
            Some(secret) => token::ClientAuth::Basic(secret.clone()),
            None => token::ClientAuth::None,
        },
    };
    let response = token::post_grant(http, &idp.token_endpoint, Some(&creds), params)?;
    Ok(oauth2::TokenResponse::access_token(&response)
        .secret()
        .clone())
}
