//! Building the authorizer for a run of the official conformance suite: the scenario name picks
//! the grant, and `MCP_CONFORMANCE_CONTEXT` carries the credentials the suite minted for it
//! (pre-registered client, client credentials with a secret or an ES256 key, workload JWT,
//! enterprise identity provider). Mapping only: every rule lives in the modules it names.

use serde_json::Value;

use super::client::{Grant, OAuthClient, OAuthOptions};
use super::grants::EnterpriseIdp;
use super::registration::{ClientSecretKind, PreRegistered};
use super::AuthError;
use crate::authorize::Authorize;

/// The client metadata document URL the suite expects in `auth/basic-cimd`.
const SUITE_CIMD_URL: &str = "https://conformance-test.local/client-metadata.json";

/// The authorizer for `scenario`, from the suite's context object (`None` when the scenario
/// sets none).
pub fn for_conformance(
    context: Option<&Value>,
    scenario: &str,
) -> Result<Box<dyn Authorize>, AuthError> {
    let options = conformance_options(context, scenario)?;
    Ok(Box::new(OAuthClient::new(options)?))
}

fn conformance_options(context: Option<&Value>, scenario: &str) -> Result<OAuthOptions, AuthError> {
    let field = |name: &str| -> Result<String, AuthError> {
        context
            .and_then(|c| c.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| AuthError::Config(format!("{scenario}: context lacks {name:?}")))
    };
    let mut options = OAuthOptions {
        client_name: "ringmcp-client conformance".to_owned(),
        client_metadata_document_url: Some(SUITE_CIMD_URL.to_owned()),
        dpop: true,
        ..OAuthOptions::default()
    };
    let pre =
        |issuer: Option<String>, secret: ClientSecretKind| -> Result<PreRegistered, AuthError> {
            Ok(PreRegistered {
                issuer,
                client_id: field("client_id")?,
                secret,
            })
        };
    match scenario {
        "auth/pre-registration" => {
            options.pre_registered = vec![pre(
                Some(field("issuer")?),
                ClientSecretKind::Secret(field("client_secret")?),
            )?];
        }
        "auth/client-credentials-basic" => {
            options.pre_registered = vec![pre(
                None,
                ClientSecretKind::Secret(field("client_secret")?),
            )?];
            options.grant = Grant::ClientCredentials;
        }
        "auth/client-credentials-jwt" => {
            let key = ClientSecretKind::PrivateKey {
                pem: field("private_key_pem")?,
                algorithm: field("signing_algorithm").unwrap_or_else(|_| "ES256".to_owned()),
            };
            options.pre_registered = vec![pre(None, key)?];
            options.grant = Grant::ClientCredentials;
        }
        "auth/wif-jwt-bearer" => {
            options.pre_registered = vec![pre(None, ClientSecretKind::None)?];
            options.grant = Grant::JwtBearer {
                assertion: field("valid_jwt")?,
            };
        }
        "auth/enterprise-managed-authorization" => {
            options.pre_registered = vec![pre(
                None,
                ClientSecretKind::Secret(field("client_secret")?),
            )?];
            options.grant = Grant::Enterprise(EnterpriseIdp {
                token_endpoint: field("idp_token_endpoint")?,
                client_id: field("idp_client_id")?,
                client_secret: None,
                id_token: field("idp_id_token")?,
            });
        }
        _ => {}
    }
    Ok(options)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn contexts_map_to_grants() {
        let ctx = json!({"name":"auth/wif-jwt-bearer","client_id":"w","valid_jwt":"j"});
        let o = conformance_options(Some(&ctx), "auth/wif-jwt-bearer").unwrap();
        assert!(matches!(o.grant, Grant::JwtBearer { ref assertion } if assertion == "j"));
        assert_eq!(o.pre_registered[0].client_id, "w");

        let ctx = json!({"client_id":"c","client_secret":"s","issuer":"http://localhost:1"});
        let o = conformance_options(Some(&ctx), "auth/pre-registration").unwrap();
        assert!(matches!(o.grant, Grant::AuthorizationCode));
        assert_eq!(
            o.pre_registered[0].issuer.as_deref(),
            Some("http://localhost:1")
        );

        let o = conformance_options(None, "auth/metadata-default").unwrap();
        assert!(o.pre_registered.is_empty());
        assert!(matches!(
            conformance_options(None, "auth/client-credentials-basic"),
            Err(AuthError::Config(_))
        ));
    }
}
