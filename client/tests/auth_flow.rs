//! The authorization module against an in-process mock of an MCP server's metadata and an
//! authorization server: discovery order, PKCE, registration, the issuer/resource checks,
//! scope step-up and the retry limit, refresh, per-issuer registrations, DPoP.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod auth_mock;

use auth_mock::{Mock, Request, Response};
use base64::Engine as _;
use ringmcp_client::auth::{AuthError, Authorize, Challenge, OAuthClient, OAuthOptions};
use serde_json::json;
use sha2::{Digest as _, Sha256};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Knobs of the standard mock.
#[derive(Default)]
struct Cfg {
    /// The issuer path the PRM currently names (`/as1`, `/as2`).
    issuer_path: Mutex<String>,
    metadata_issuer: Option<String>,
    prm_resource: Option<String>,
    as_scopes: Option<Vec<&'static str>>,
    dpop: bool,
    refresh: bool,
    tokens: AtomicUsize,
}

fn standard(cfg: Arc<Cfg>) -> Mock {
    Mock::start(move |req: &Request, base: &str| {
        let path = req.path();
        let issuer_path = cfg.issuer_path.lock().unwrap().clone();
        if path == "/.well-known/oauth-protected-resource/mcp" {
            return Response::json(
                200,
                json!({
                    "resource": cfg.prm_resource.clone().unwrap_or(format!("{base}/mcp")),
                    "authorization_servers": [format!("{base}{issuer_path}")],
                }),
            );
        }
        for p in ["/as1", "/as2", ""] {
            if path == format!("/.well-known/oauth-authorization-server{p}") {
                let mut m = json!({
                    "issuer": cfg.metadata_issuer.clone().unwrap_or(format!("{base}{p}")),
                    "authorization_endpoint": format!("{base}{p}/authorize"),
                    "token_endpoint": format!("{base}{p}/token"),
                    "registration_endpoint": format!("{base}{p}/register"),
                    "token_endpoint_auth_methods_supported": ["none"],
                    "authorization_response_iss_parameter_supported": true,
                });
                if let Some(s) = &cfg.as_scopes {
                    m["scopes_supported"] = json!(s);
                }
                if cfg.dpop {
                    m["dpop_signing_alg_values_supported"] = json!(["ES256"]);
                }
                return Response::json(200, m);
            }
            if path == format!("{p}/register") && req.method == "POST" {
                return Response::json(201, json!({"client_id": format!("client{p}")}));
            }
            if path == format!("{p}/authorize") {
                let mut to = url::Url::parse(&req.query("redirect_uri").unwrap()).unwrap();
                to.query_pairs_mut()
                    .append_pair("code", "the-code")
                    .append_pair("state", &req.query("state").unwrap_or_default())
                    .append_pair("iss", &format!("{base}{p}"));
                return Response::redirect(to.to_string());
            }
            if path == format!("{p}/token") {
                let n = cfg.tokens.fetch_add(1, Ordering::SeqCst);
                let mut t = json!({
                    "access_token": format!("tok-{n}"),
                    "token_type": if cfg.dpop { "DPoP" } else { "Bearer" },
                    "expires_in": 3600,
                });
                if cfg.refresh {
                    t["refresh_token"] = json!(format!("refresh-{n}"));
                }
                return Response::json(200, t);
            }
        }
        Response::not_found()
    })
}

fn challenge(mock: &Mock, status: u16, header: &str) -> Challenge {
    Challenge {
        status,
        url: format!("{}/mcp", mock.base),
        www_authenticate: vec![header.to_owned()],
        dpop_nonce: None,
    }
}

fn client(dpop: bool) -> OAuthClient {
    OAuthClient::new(OAuthOptions {
        dpop,
        ..OAuthOptions::default()
    })
    .unwrap()
}

fn authorize_requests(mock: &Mock) -> Vec<Request> {
    mock.requests()
        .into_iter()
        .filter(|r| r.path().ends_with("/authorize"))
        .collect()
}

#[test]
fn discovery_order_pkce_registration_and_resource() {
    // PRM only at the root, the AS has a path and only an OpenID configuration appended to it.
    let mock = Mock::start(|req: &Request, base: &str| match req.path() {
        "/.well-known/oauth-protected-resource" => Response::json(
            200,
            json!({"resource": base, "authorization_servers": [format!("{base}/tenant1")]}),
        ),
        "/tenant1/.well-known/openid-configuration" => Response::json(
            200,
            json!({
                "issuer": format!("{base}/tenant1"),
                "authorization_endpoint": format!("{base}/tenant1/authorize"),
                "token_endpoint": format!("{base}/tenant1/token"),
                "registration_endpoint": format!("{base}/tenant1/register"),
            }),
        ),
        "/tenant1/register" => Response::json(201, json!({"client_id": "c1"})),
        "/tenant1/authorize" => Response::redirect(format!(
            "{}?code=k&state={}",
            req.query("redirect_uri").unwrap(),
            req.query("state").unwrap()
        )),
        "/tenant1/token" => {
            Response::json(200, json!({"access_token": "at", "token_type": "bearer"}))
        }
        _ => Response::not_found(),
    });
    let mut auth = client(false);
    assert!(auth
        .headers(&reqwest::Method::POST, &format!("{}/mcp", mock.base))
        .unwrap()
        .is_empty());
    assert!(auth.challenge(&challenge(&mock, 401, "Bearer")).unwrap());
    assert_eq!(
        mock.lines(),
        [
            "GET /.well-known/oauth-protected-resource/mcp",
            "GET /.well-known/oauth-protected-resource",
            "GET /.well-known/oauth-authorization-server/tenant1",
            "GET /.well-known/openid-configuration/tenant1",
            "GET /tenant1/.well-known/openid-configuration",
            "POST /tenant1/register",
            "GET /tenant1/authorize",
            "POST /tenant1/token",
        ]
    );
    let requests = mock.requests();
    let registration = requests[5].json();
    assert_eq!(registration["application_type"], "native");
    assert!(registration["grant_types"]
        .as_array()
        .unwrap()
        .contains(&json!("refresh_token")));
    let (authorize, token) = (&requests[6], &requests[7]);
    assert_eq!(
        authorize.query("code_challenge_method").as_deref(),
        Some("S256")
    );
    let verifier = token.form("code_verifier").unwrap();
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(Sha256::digest(verifier.as_bytes()));
    assert_eq!(authorize.query("code_challenge"), Some(expected));
    // The resource exactly as published (no slash added), in both requests.
    assert_eq!(
        authorize.query("resource").as_deref(),
        Some(mock.base.as_str())
    );
    assert_eq!(token.form("resource").as_deref(), Some(mock.base.as_str()));
    assert_eq!(authorize.query("scope"), None);
    assert_eq!(token.form("client_id").as_deref(), Some("c1"));
    let headers = auth
        .headers(&reqwest::Method::POST, &format!("{}/mcp", mock.base))
        .unwrap();
    assert_eq!(
        headers,
        [("Authorization".to_owned(), "Bearer at".to_owned())]
    );
}

#[test]
fn metadata_with_another_issuer_is_refused_unused() {
    let cfg = Arc::new(Cfg {
        metadata_issuer: Some("https://attacker.example.com".into()),
        ..Cfg::default()
    });
    let mock = standard(cfg);
    let err = client(false)
        .challenge(&challenge(&mock, 401, "Bearer"))
        .unwrap_err();
    assert!(matches!(err, AuthError::IssuerMismatch { .. }), "{err}");
    assert!(!mock
        .lines()
        .iter()
        .any(|l| l.ends_with("/register") || l.ends_with("/authorize")));
}

#[test]
fn resource_for_another_server_stops_before_the_authorization_server() {
    let cfg = Arc::new(Cfg {
        prm_resource: Some("https://evil.example.com/mcp".into()),
        ..Cfg::default()
    });
    let mock = standard(cfg);
    let err = client(false)
        .challenge(&challenge(&mock, 401, "Bearer"))
        .unwrap_err();
    assert!(matches!(err, AuthError::ResourceMismatch { .. }), "{err}");
    assert_eq!(
        mock.lines(),
        ["GET /.well-known/oauth-protected-resource/mcp"]
    );
}

#[test]
fn step_up_asks_for_the_union_and_gives_up_after_three_attempts() {
    let mock = standard(Arc::new(Cfg::default()));
    let url = format!("{}/mcp", mock.base);
    let mut auth = client(false);
    let post = reqwest::Method::POST;
    auth.headers(&post, &url).unwrap();
    assert!(auth
        .challenge(&challenge(&mock, 401, r#"Bearer scope="a""#))
        .unwrap());
    auth.headers(&post, &url).unwrap();
    let step_up = r#"Bearer error="insufficient_scope", scope="b""#;
    assert!(auth.challenge(&challenge(&mock, 403, step_up)).unwrap());
    auth.headers(&post, &url).unwrap();
    assert!(auth.challenge(&challenge(&mock, 403, step_up)).unwrap());
    auth.headers(&post, &url).unwrap();
    let err = auth.challenge(&challenge(&mock, 403, step_up)).unwrap_err();
    assert!(
        matches!(err, AuthError::RetryLimit { attempts: 3 }),
        "{err}"
    );
    let scopes: Vec<_> = authorize_requests(&mock)
        .iter()
        .map(|r| r.query("scope").unwrap())
        .collect();
    assert_eq!(scopes, ["a", "a b", "a b"]);
    // A 403 that more scopes will not fix is not retried.
    assert!(!auth
        .challenge(&challenge(&mock, 403, r#"Bearer error="invalid_token""#))
        .unwrap());
    // Once a request gets through, a new run of attempts may start.
    auth.headers(&post, &url).unwrap();
    auth.headers(&post, &url).unwrap();
    assert!(auth.challenge(&challenge(&mock, 401, "Bearer")).unwrap());
}

#[test]
fn offline_access_only_when_the_server_lists_it() {
    for (listed, expected) in [(true, "mcp offline_access"), (false, "mcp")] {
        let cfg = Arc::new(Cfg {
            as_scopes: Some(if listed {
                vec!["mcp", "offline_access"]
            } else {
                vec!["mcp"]
            }),
            ..Cfg::default()
        });
        let mock = standard(cfg);
        client(false)
            .challenge(&challenge(&mock, 401, r#"Bearer scope="mcp""#))
            .unwrap();
        assert_eq!(
            authorize_requests(&mock)[0].query("scope").as_deref(),
            Some(expected)
        );
    }
}

#[test]
fn a_401_refreshes_before_authorizing_again() {
    let mock = standard(Arc::new(Cfg {
        refresh: true,
        ..Cfg::default()
    }));
    let mut auth = client(false);
    assert!(auth.challenge(&challenge(&mock, 401, "Bearer")).unwrap());
    assert!(auth.challenge(&challenge(&mock, 401, "Bearer")).unwrap());
    assert_eq!(authorize_requests(&mock).len(), 1);
    let tokens: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/token")
        .collect();
    assert_eq!(tokens.len(), 2);
    assert_eq!(
        tokens[1].form("grant_type").as_deref(),
        Some("refresh_token")
    );
    assert_eq!(
        tokens[1].form("refresh_token").as_deref(),
        Some("refresh-0")
    );
    let headers = auth
        .headers(&reqwest::Method::POST, &format!("{}/mcp", mock.base))
        .unwrap();
    assert_eq!(headers[0].1, "Bearer tok-1");
}

#[test]
fn a_new_authorization_server_gets_its_own_registration() {
    let cfg = Arc::new(Cfg::default());
    *cfg.issuer_path.lock().unwrap() = "/as1".into();
    let mock = standard(cfg.clone());
    let mut auth = client(false);
    assert!(auth.challenge(&challenge(&mock, 401, "Bearer")).unwrap());
    *cfg.issuer_path.lock().unwrap() = "/as2".into();
    auth.headers(&reqwest::Method::POST, &mock.base).unwrap();
    assert!(auth.challenge(&challenge(&mock, 401, "Bearer")).unwrap());
    let at_as2: Vec<_> = mock
        .requests()
        .into_iter()
        .filter(|r| r.path().starts_with("/as2/"))
        .collect();
    assert!(at_as2.iter().any(|r| r.path() == "/as2/register"));
    for r in &at_as2 {
        let seen = format!("{} {}", r.target, r.body);
        assert!(
            !seen.contains("client%2Fas1") && !seen.contains("client/as1"),
            "{seen}"
        );
    }
    assert_eq!(
        authorize_requests(&mock)[1].query("client_id").as_deref(),
        Some("client/as2")
    );
}

#[test]
fn dpop_binds_the_token_request_and_every_mcp_request() {
    let mock = standard(Arc::new(Cfg {
        dpop: true,
        ..Cfg::default()
    }));
    let mut auth = client(true);
    assert!(auth.challenge(&challenge(&mock, 401, "DPoP")).unwrap());
    let token = mock
        .requests()
        .into_iter()
        .find(|r| r.path() == "/token")
        .unwrap();
    assert!(token.header("dpop").is_some());
    let url = format!("{}/mcp", mock.base);
    let first = auth.headers(&reqwest::Method::POST, &url).unwrap();
    let second = auth.headers(&reqwest::Method::POST, &url).unwrap();
    assert_eq!(
        first[0],
        ("Authorization".to_owned(), "DPoP tok-0".to_owned())
    );
    assert_eq!(first[1].0, "DPoP");
    assert_ne!(first[1].1, second[1].1, "a fresh proof per request");
}
