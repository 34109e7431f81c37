//! Finding the authorization server of an MCP server: protected resource metadata (RFC 9728)
//! from the challenge's `resource_metadata`, else the path-inserted then the root well-known
//! URL, with its `resource` checked against the server URL; then authorization server metadata
//! (RFC 8414 and OpenID Connect Discovery) in the specification's try order, with `issuer`
//! compared exactly. Without any protected resource metadata it falls back as 2025-03-26 asks:
//! the MCP server's origin is the authorization server, and without metadata there, its default
//! endpoints. Fetching and validating only: no registration, no tokens.

use serde::Deserialize;
use url::Url;

use super::http::Http;
use super::AuthError;

/// Protected resource metadata (RFC 9728 section 2), the fields a client uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub(crate) struct ResourceMetadata {
    pub(crate) resource: String,
    #[serde(default)]
    pub(crate) authorization_servers: Vec<String>,
    #[serde(default)]
    pub(crate) scopes_supported: Option<Vec<String>>,
}

/// Authorization server metadata (RFC 8414 section 2), the fields a client uses.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq, Default)]
pub(crate) struct ServerMetadata {
    pub(crate) issuer: String,
    #[serde(default)]
    pub(crate) authorization_endpoint: Option<String>,
    #[serde(default)]
    pub(crate) token_endpoint: Option<String>,
    #[serde(default)]
    pub(crate) registration_endpoint: Option<String>,
    #[serde(default)]
    pub(crate) scopes_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) token_endpoint_auth_methods_supported: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) client_id_metadata_document_supported: Option<bool>,
    #[serde(default)]
    pub(crate) authorization_response_iss_parameter_supported: Option<bool>,
    #[serde(default)]
    pub(crate) dpop_signing_alg_values_supported: Option<Vec<String>>,
}

/// What one discovery round found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Discovered {
    /// The protected resource's identifier exactly as published: the `resource` parameter.
    /// `None` on a 2025-03-26 server without protected resource metadata.
    pub(crate) resource: Option<String>,
    /// The scopes the protected resource metadata lists.
    pub(crate) resource_scopes: Option<Vec<String>>,
    /// The authorization server's metadata; its `issuer` is the key for registrations/tokens.
    pub(crate) server: ServerMetadata,
}

/// Run discovery for `server_url`, starting from the challenge's `resource_metadata` if any.
pub(crate) fn discover(
    http: &Http,
    server_url: &str,
    resource_metadata: Option<&str>,
) -> Result<Discovered, AuthError> {
    let server = parse_url(server_url)?;
    match protected_resource(http, &server, resource_metadata)? {
        Some((url, prm)) => {
            validate_resource(&server, &prm.resource)?;
            let issuer = prm
                .authorization_servers
                .first()
                .ok_or(AuthError::NoAuthorizationServer { url })?
                .clone();
            let metadata = authorization_server(http, &issuer)?
                .ok_or(AuthError::MetadataNotFound { issuer })?;
            Ok(Discovered {
                resource: Some(prm.resource),
                resource_scopes: prm.scopes_supported,
                server: metadata,
            })
        }
        None => {
            // 2025-03-26: the authorization base URL is the MCP server URL without its path.
            let origin = server.origin().ascii_serialization();
            tracing::info!(%origin, "no protected resource metadata; using the server origin as authorization server");
            let metadata = match authorization_server(http, &origin)? {
                Some(metadata) => metadata,
                None => default_endpoints(&origin),
            };
            Ok(Discovered {
                resource: None,
                resource_scopes: None,
                server: metadata,
            })
        }
    }
}

/// The protected resource metadata and the URL it came from, trying the challenge's URL, then
/// the path-inserted well-known URL, then the root one; `None` when none has a document.
fn protected_resource(
    http: &Http,
    server: &Url,
    from_challenge: Option<&str>,
) -> Result<Option<(String, ResourceMetadata)>, AuthError> {
    let mut candidates: Vec<String> = from_challenge.map(str::to_owned).into_iter().collect();
    candidates.extend(well_known(server, "oauth-protected-resource"));
    candidates.dedup();
    for url in candidates {
        if let Some(prm) = http.get_json::<ResourceMetadata>(&url)? {
            tracing::debug!(%url, resource = %prm.resource, "protected resource metadata");
            return Ok(Some((url, prm)));
        }
    }
    Ok(None)
}

/// RFC 9728 section 3.1: the well-known segment goes between the host and the path; the root
/// form is the fall-back (and the only form for a root URL).
fn well_known(server: &Url, suffix: &str) -> Vec<String> {
    let origin = server.origin().ascii_serialization();
    let path = server.path().trim_end_matches('/');
    let mut out = Vec::with_capacity(2);
    if !path.is_empty() {
        out.push(format!("{origin}/.well-known/{suffix}{path}"));
    }
    out.push(format!("{origin}/.well-known/{suffix}"));
    out
}

/// The published `resource` must name this server: the same origin, and a path that is the
/// server's path or a parent of it on a segment boundary (a metadata document at the root may
/// cover every path of the host).
pub(crate) fn validate_resource(server: &Url, resource: &str) -> Result<(), AuthError> {
    let mismatch = || AuthError::ResourceMismatch {
        resource: resource.to_owned(),
        server: server.to_string(),
    };
    let published = Url::parse(resource).map_err(|_| mismatch())?;
    if published.origin() != server.origin() {
        return Err(mismatch());
    }
    let prefix = published.path().trim_end_matches('/');
    let path = server.path().trim_end_matches('/');
    if prefix.is_empty() || path == prefix || path.starts_with(&format!("{prefix}/")) {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// The metadata URLs to try for an issuer, in the specification's order: for an issuer with a
/// path, RFC 8414 path-inserted, OIDC path-inserted, OIDC path-appended; for a root issuer,
/// RFC 8414 then OIDC.
pub(crate) fn metadata_urls(issuer: &Url) -> Vec<String> {
    let origin = issuer.origin().ascii_serialization();
    let path = issuer.path().trim_end_matches('/');
    if path.is_empty() {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server"),
            format!("{origin}/.well-known/openid-configuration"),
        ]
    } else {
        vec![
            format!("{origin}/.well-known/oauth-authorization-server{path}"),
            format!("{origin}/.well-known/openid-configuration{path}"),
            format!("{origin}{path}/.well-known/openid-configuration"),
        ]
    }
}

/// The first metadata document found for `issuer`, refused unless its `issuer` is exactly the
/// identifier the URL was built from; `None` when no URL has one.
pub(crate) fn authorization_server(
    http: &Http,
    issuer: &str,
) -> Result<Option<ServerMetadata>, AuthError> {
    let parsed = parse_url(issuer)?;
    for url in metadata_urls(&parsed) {
        if let Some(metadata) = http.get_json::<ServerMetadata>(&url)? {
            if metadata.issuer != issuer {
                tracing::warn!(%url, expected = issuer, found = %metadata.issuer, "issuer mismatch");
                return Err(AuthError::IssuerMismatch {
                    expected: issuer.to_owned(),
                    found: metadata.issuer,
                });
            }
            return Ok(Some(metadata));
        }
    }
    Ok(None)
}

/// 2025-03-26 section "Fallbacks for servers without metadata discovery".
fn default_endpoints(origin: &str) -> ServerMetadata {
    ServerMetadata {
        issuer: origin.to_owned(),
        authorization_endpoint: Some(format!("{origin}/authorize")),
        token_endpoint: Some(format!("{origin}/token")),
        registration_endpoint: Some(format!("{origin}/register")),
        ..ServerMetadata::default()
    }
}

pub(crate) fn parse_url(url: &str) -> Result<Url, AuthError> {
    Url::parse(url).map_err(|e| AuthError::Url {
        url: url.to_owned(),
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn metadata_try_order() {
        assert_eq!(
            metadata_urls(&url("http://localhost:9/tenant1")),
            vec![
                "http://localhost:9/.well-known/oauth-authorization-server/tenant1",
                "http://localhost:9/.well-known/openid-configuration/tenant1",
                "http://localhost:9/tenant1/.well-known/openid-configuration",
            ]
        );
        assert_eq!(
            metadata_urls(&url("http://localhost:9")),
            vec![
                "http://localhost:9/.well-known/oauth-authorization-server",
                "http://localhost:9/.well-known/openid-configuration",
            ]
        );
    }

    #[test]
    fn prm_well_known_order() {
        assert_eq!(
            well_known(&url("http://h:1/mcp"), "oauth-protected-resource"),
            vec![
                "http://h:1/.well-known/oauth-protected-resource/mcp",
                "http://h:1/.well-known/oauth-protected-resource",
            ]
        );
        assert_eq!(
            well_known(&url("http://h:1/"), "oauth-protected-resource"),
            vec!["http://h:1/.well-known/oauth-protected-resource"]
        );
    }

    #[test]
    fn resource_must_be_same_origin_and_a_path_prefix() {
        let server = url("http://localhost:5/mcp");
        assert!(validate_resource(&server, "http://localhost:5/mcp").is_ok());
        assert!(validate_resource(&server, "http://localhost:5").is_ok());
        assert!(validate_resource(&server, "http://localhost:5/").is_ok());
        assert!(validate_resource(&server, "https://evil.example.com/mcp").is_err());
        assert!(validate_resource(&server, "http://localhost:6/mcp").is_err());
        assert!(validate_resource(&server, "http://localhost:5/mc").is_err());
        assert!(validate_resource(&server, "http://localhost:5/mcp/deeper").is_err());
        assert!(validate_resource(&server, "not a url").is_err());
    }
}
