//! Who this client is at each authorization server, in the specification's order: credentials
//! registered beforehand for that issuer, else the client ID metadata document URL when the
//! server supports those, else dynamic client registration (RFC 7591). Identities are kept per
//! issuer and never shown to another issuer, so a protected resource that moves to a new
//! authorization server gets a fresh registration there (SEP-2352). No tokens here.

use serde::Deserialize;
use serde_json::json;
use std::collections::HashMap;
use std::sync::Arc;

use super::discovery::ServerMetadata;
use super::http::Http;
use super::jwt::SigningKey;
use super::token::{ClientAuth, Credentials};
use super::AuthError;

/// Client credentials obtained outside the protocol.
#[derive(Debug, Clone)]
pub struct PreRegistered {
    /// The issuer they were issued by; `None` offers them to any authorization server (only
    /// for deployments with a single one: a client ID is meaningless elsewhere).
    pub issuer: Option<String>,
    /// The client ID.
    pub client_id: String,
    /// How the client authenticates at the token endpoint.
    pub secret: ClientSecretKind,
}

/// The secret half of pre-registered credentials.
#[derive(Debug, Clone)]
pub enum ClientSecretKind {
    /// A public client.
    None,
    /// A client secret; sent as `client_secret_basic` unless the server only takes
    /// `client_secret_post`.
    Secret(String),
    /// A private key for `private_key_jwt`: PKCS#8 PEM and its JWS algorithm (`ES256`, ...).
    PrivateKey {
        /// The key, PEM.
        pem: String,
        /// The algorithm.
        algorithm: String,
    },
}

/// What this client says about itself when it has to introduce itself.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    pub(crate) client_name: String,
    pub(crate) redirect_uri: String,
    pub(crate) metadata_document_url: Option<String>,
    pub(crate) pre_registered: Vec<PreRegistered>,
}

/// Identities per issuer.
#[derive(Debug, Default)]
pub(crate) struct Registrations {
    by_issuer: HashMap<String, Credentials>,
}

#[derive(Deserialize)]
struct RegistrationResponse {
    client_id: String,
    #[serde(default)]
    client_secret: Option<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

impl Registrations {
    /// The identity to use at `server`, registering if need be.
    pub(crate) fn credentials(
        &mut self,
        http: &Http,
        server: &ServerMetadata,
        profile: &Profile,
    ) -> Result<Credentials, AuthError> {
        if let Some(known) = self.by_issuer.get(&server.issuer) {
            return Ok(known.clone());
        }
        let creds = identify(http, server, profile)?;
        self.by_issuer.insert(server.issuer.clone(), creds.clone());
        Ok(creds)
    }
}

fn identify(
    http: &Http,
    server: &ServerMetadata,
    profile: &Profile,
) -> Result<Credentials, AuthError> {
    let mine = profile
        .pre_registered
        .iter()
        .find(|p| p.issuer.as_deref() == Some(server.issuer.as_str()))
        .or_else(|| profile.pre_registered.iter().find(|p| p.issuer.is_none()));
    if let Some(pre) = mine {
        tracing::debug!(issuer = %server.issuer, client_id = %pre.client_id, "pre-registered client");
        return pre_registered(pre, server);
    }
    if server.client_id_metadata_document_supported == Some(true) {
        if let Some(url) = &profile.metadata_document_url {
            tracing::debug!(issuer = %server.issuer, %url, "client ID metadata document");
            return Ok(Credentials {
                client_id: url.clone(),
                auth: ClientAuth::None,
            });
        }
    }
    match &server.registration_endpoint {
        Some(endpoint) => register(http, server, endpoint, profile),
        None => Err(AuthError::NoClientIdentity {
            issuer: server.issuer.clone(),
        }),
    }
}

fn pre_registered(pre: &PreRegistered, server: &ServerMetadata) -> Result<Credentials, AuthError> {
    let auth = match &pre.secret {
        ClientSecretKind::None => ClientAuth::None,
        ClientSecretKind::Secret(secret) => secret_auth(server, secret.clone()),
        ClientSecretKind::PrivateKey { pem, algorithm } => {
            ClientAuth::PrivateKeyJwt(Arc::new(SigningKey::from_pem(pem, algorithm)?))
        }
    };
    Ok(Credentials {
        client_id: pre.client_id.clone(),
        auth,
    })
}

/// `client_secret_basic` is the RFC 8414 default; `client_secret_post` only when the server
/// lists it and not basic.
fn secret_auth(server: &ServerMetadata, secret: String) -> ClientAuth {
    let methods = server.token_endpoint_auth_methods_supported.as_deref();
    let lists = |m: &str| methods.is_some_and(|ms| ms.iter().any(|x| x == m));
    if lists("client_secret_post") && !lists("client_secret_basic") {
        ClientAuth::Post(secret)
    } else {
        ClientAuth::Basic(secret)
    }
}

/// The method to ask for: a native app is a public client when the server allows it.
fn preferred_method(server: &ServerMetadata) -> &'static str {
    let default = ["client_secret_basic".to_owned()];
    let methods = server
        .token_endpoint_auth_methods_supported
        .as_deref()
        .unwrap_or(&default);
    ["none", "client_secret_basic", "client_secret_post"]
        .into_iter()
        .find(|m| methods.iter().any(|x| x == m))
        .unwrap_or("none")
}

fn register(
    http: &Http,
    server: &ServerMetadata,
    endpoint: &str,
    profile: &Profile,
) -> Result<Credentials, AuthError> {
    let body = json!({
        "client_name": profile.client_name,
        "redirect_uris": [profile.redirect_uri],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": preferred_method(server),
        "application_type": "native",
    });
    let answer = http.post_json(endpoint, &body)?;
    if !(200..300).contains(&answer.status) {
        return Err(AuthError::Status {
            url: endpoint.to_owned(),
            status: answer.status,
        });
    }
    let response: RegistrationResponse =
        serde_json::from_slice(&answer.body).map_err(|source| AuthError::Json {
            url: endpoint.to_owned(),
            source,
        })?;
    tracing::info!(issuer = %server.issuer, client_id = %response.client_id, "registered client");
    let auth = match (
        response.token_endpoint_auth_method.as_deref(),
        response.client_secret,
    ) {
        (Some("client_secret_post"), Some(secret)) => ClientAuth::Post(secret),
        (Some("client_secret_basic"), Some(secret)) => ClientAuth::Basic(secret),
        (Some("none"), _) | (_, None) => ClientAuth::None,
        (_, Some(secret)) => secret_auth(server, secret),
    };
    Ok(Credentials {
        client_id: response.client_id,
        auth,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(methods: Option<&[&str]>) -> ServerMetadata {
        ServerMetadata {
            issuer: "http://as".to_owned(),
            token_endpoint_auth_methods_supported: methods
                .map(|m| m.iter().map(|s| (*s).to_owned()).collect()),
            ..ServerMetadata::default()
        }
    }

    #[test]
    fn method_choice() {
        assert_eq!(preferred_method(&server(None)), "client_secret_basic");
        assert_eq!(
            preferred_method(&server(Some(&["client_secret_post", "none"]))),
            "none"
        );
        assert_eq!(
            preferred_method(&server(Some(&["client_secret_post"]))),
            "client_secret_post"
        );
        assert!(matches!(
            secret_auth(&server(None), "s".into()),
            ClientAuth::Basic(_)
        ));
        assert!(matches!(
            secret_auth(&server(Some(&["client_secret_post"])), "s".into()),
            ClientAuth::Post(_)
        ));
    }

    #[test]
    fn pre_registered_for_another_issuer_is_not_used() {
        let profile = Profile {
            client_name: "c".into(),
            redirect_uri: "http://localhost/cb".into(),
            metadata_document_url: None,
            pre_registered: vec![PreRegistered {
                issuer: Some("http://other".into()),
                client_id: "x".into(),
                secret: ClientSecretKind::None,
            }],
        };
        let http = Http::new().unwrap();
        let err = Registrations::default()
            .credentials(&http, &server(None), &profile)
            .unwrap_err();
        assert!(matches!(err, AuthError::NoClientIdentity { .. }));
    }
}
