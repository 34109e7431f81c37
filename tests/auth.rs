//! Bearer-token authorization over HTTP: 401 with a `WWW-Authenticate` challenge pointing at the
//! protected resource metadata, the metadata document itself, JWT checks (signature, issuer,
//! audience, expiry, scope), static tokens, legacy sessions bound to their principal across
//! shards (another principal's session id is 404), and 2026-07-28 `requestState` bound to the
//! principal it was sealed for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::http::{
    approve, approve_state, modern_body, modern_headers, outcome, HttpClient, HttpResponse, ACCEPT,
    JSON,
};
use common::Server;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use ringmcp_testkit::msg;
use serde_json::{json, Value};
use std::path::PathBuf;

const SECRET: &str = "an HMAC secret of at least thirty-two bytes";
const ISSUER: &str = "https://issuer.test";

struct Files {
    dir: PathBuf,
}

impl Files {
    fn new(tag: &str) -> Files {
        let dir = std::env::temp_dir().join(format!("ringmcp-auth-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("secret"), SECRET).unwrap();
        std::fs::write(
            dir.join("tokens"),
            "# static tokens\nstatic-token-for-ci ci-bot\n",
        )
        .unwrap();
        Files { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).display().to_string()
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn server(files: &Files, extra: &[&str]) -> Server {
    let mut args = vec![
        "--cores".to_owned(),
        "2".to_owned(),
        "--auth-hmac-secret-file".to_owned(),
        files.path("secret"),
        "--auth-tokens-file".to_owned(),
        files.path("tokens"),
        "--auth-issuer".to_owned(),
        ISSUER.to_owned(),
        "--auth-server".to_owned(),
        "https://as.test".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::http(&args)
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn token(port: u16, sub: &str, patch: Value) -> String {
    let mut claims = json!({
        "iss": ISSUER,
        "sub": sub,
        "aud": format!("http://127.0.0.1:{port}/mcp"),
        "exp": now() + 300,
        "iat": now(),
    });
    for (k, v) in patch.as_object().unwrap() {
        claims[k] = v.clone();
    }
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

const JSON_HEADERS: [(&str, &str); 2] = [JSON, ACCEPT];

/// POST with an optional bearer token and session id; returns status, headers and body.
fn post(port: u16, bearer: Option<&str>, session: Option<&str>, body: &[u8]) -> HttpResponse {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = JSON_HEADERS.to_vec();
    if let Some(a) = &auth {
        headers.push(("Authorization", a));
    }
    if let Some(s) = session {
        headers.push(("Mcp-Session-Id", s));
        headers.push(("MCP-Protocol-Version", "2025-11-25"));
    }
    // A fresh connection each time, so that requests land on either shard.
    let mut c = HttpClient::connect(port);
    c.send("POST", "/mcp", &headers, body);
    c.read_response()
}

#[test]
fn challenge_and_protected_resource_metadata() {
    let files = Files::new("challenge");
    let s = server(&files, &[]);
    let port = s.port.unwrap();
    let metadata_url = format!("http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp");

    let r = post(
        port,
        None,
        None,
        msg::initialize(1, "2025-11-25").text().as_bytes(),
    );
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").expect("WWW-Authenticate");
    assert!(challenge.starts_with("Bearer "), "{challenge}");
    assert!(
        challenge.contains(&format!("resource_metadata=\"{metadata_url}\"")),
        "{challenge}"
    );
    assert!(
        !challenge.contains("error="),
        "no token is not an invalid token: {challenge}"
    );

    // Another scheme counts as no bearer token.
    let mut c = HttpClient::connect(port);
    let mut headers = JSON_HEADERS.to_vec();
    headers.push(("Authorization", "Basic dXNlcjpwYXNz"));
    c.send(
        "POST",
        "/mcp",
        &headers,
        msg::initialize(1, "2025-11-25").text().as_bytes(),
    );
    assert_eq!(c.read_response().status, 401);

    for path in [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ] {
        let mut c = HttpClient::connect(port);
        c.send("GET", path, &[], b"");
        let r = c.read_response();
        assert_eq!(r.status, 200, "{path}");
        let doc = r.json();
        assert_eq!(doc["resource"], format!("http://127.0.0.1:{port}/mcp"));
        assert_eq!(doc["authorization_servers"], json!(["https://as.test"]));
        assert_eq!(doc["bearer_methods_supported"], json!(["header"]));
    }

    // Health and readiness stay open; GET streams and /sse are protected like POST.
    let mut c = HttpClient::connect(port);
    c.send("GET", "/health", &[], b"");
    assert_eq!(c.read_response().status, 200);
    let mut c = HttpClient::connect(port);
    c.send("GET", "/sse", &[("Accept", "text/event-stream")], b"");
    assert_eq!(c.read_response().status, 401);
}

#[test]
fn jwt_claims_are_checked() {
    let files = Files::new("claims");
    let s = server(&files, &[]);
    let port = s.port.unwrap();
    let body = modern_body(
        3,
        "tools/call",
        json!({"name": "echo", "arguments": {"text": "hi"}}),
    );
    let call = |bearer: &str| {
        let auth = format!("Bearer {bearer}");
        let mut headers = modern_headers("tools/call", Some("echo"));
        headers.push(("Authorization", &auth));
        let mut c = HttpClient::connect(port);
        c.send("POST", "/mcp", &headers, &body);
        c.read_response()
    };
    let good = call(&token(port, "alice", json!({})));
    assert_eq!(good.status, 200);
    assert_eq!(good.json()["result"]["content"][0]["text"], "hi");
    // The same token again is served from the shard's cache of verified tokens.
    assert_eq!(call(&token(port, "alice", json!({}))).status, 200);
    assert_eq!(call("static-token-for-ci").status, 200);

    let bad = [
        ("expired", token(port, "alice", json!({"exp": now() - 600}))),
        (
            "other audience",
            token(port, "alice", json!({"aud": "http://127.0.0.1:1/mcp"})),
        ),
        (
            "other issuer",
            token(port, "alice", json!({"iss": "https://evil.test"})),
        ),
        (
            "not yet valid",
            token(port, "alice", json!({"nbf": now() + 3600})),
        ),
        (
            "forged",
            encode(
                &Header::new(Algorithm::HS256),
                &json!({"iss": ISSUER, "sub": "x", "aud": format!("http://127.0.0.1:{port}/mcp"),
                        "exp": now() + 60}),
                &EncodingKey::from_secret(b"not the server's secret, but long enough"),
            )
            .unwrap(),
        ),
        ("garbage", "a.b.c".to_owned()),
        ("unknown static", "static-token-for-nobody".to_owned()),
    ];
    for (name, t) in bad {
        let r = call(&t);
        assert_eq!(r.status, 401, "{name}");
        let challenge = r.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.contains("error=\"invalid_token\""),
            "{name}: {challenge}"
        );
        assert_eq!(r.json()["error"], "invalid_token", "{name}");
    }
}

#[test]
fn missing_scope_is_403() {
    let files = Files::new("scope");
    let s = server(&files, &["--auth-scope", "mcp:tools"]);
    let port = s.port.unwrap();
    let r = post(
        port,
        Some(&token(port, "alice", json!({"scope": "mcp:read"}))),
        None,
        msg::initialize(1, "2025-11-25").text().as_bytes(),
    );
    assert_eq!(r.status, 403);
    let challenge = r.header("www-authenticate").unwrap();
    assert!(
        challenge.contains("error=\"insufficient_scope\""),
        "{challenge}"
    );
    assert!(challenge.contains("scope=\"mcp:tools\""), "{challenge}");
    let r = post(
        port,
        Some(&token(
            port,
            "alice",
            json!({"scope": "mcp:read mcp:tools"}),
        )),
        None,
        msg::initialize(1, "2025-11-25").text().as_bytes(),
    );
    assert_eq!(r.status, 200);
}

#[test]
fn sessions_are_bound_to_their_principal() {
    let files = Files::new("sessions");
    let s = server(&files, &[]);
    let port = s.port.unwrap();
    let alice = token(port, "alice", json!({}));
    let mallory = token(port, "mallory", json!({}));

    let r = post(
        port,
        Some(&alice),
        None,
        msg::initialize(1, "2025-11-25").text().as_bytes(),
    );
    assert_eq!(r.status, 200);
    let sid = r.header("mcp-session-id").expect("session id").to_owned();
    let initialized = msg::initialized().text();
    assert_eq!(
        post(port, Some(&alice), Some(&sid), initialized.as_bytes()).status,
        202
    );

    let ping = msg::request(2, "ping").text();
    let ping = ping.as_bytes();
    // Many fresh connections: the kernel spreads them over both shards, so the checks run on
    // the owner shard after forwarding, too.
    for _ in 0..8 {
        assert_eq!(post(port, Some(&mallory), Some(&sid), ping).status, 404);
        assert_eq!(post(port, Some(&alice), Some(&sid), ping).status, 200);
        assert_eq!(post(port, None, Some(&sid), ping).status, 401);
        assert_eq!(
            post(port, Some("static-token-for-ci"), Some(&sid), ping).status,
            404
        );
    }

    // A GET stream and DELETE by another principal: 404, and the session survives.
    let mallory_auth = format!("Bearer {mallory}");
    let mut c = HttpClient::connect(port);
    c.send(
        "GET",
        "/mcp",
        &[
            ("Accept", "text/event-stream"),
            ("Mcp-Session-Id", &sid),
            ("Authorization", &mallory_auth),
        ],
        b"",
    );
    assert_eq!(c.read_response().status, 404);
    let mut c = HttpClient::connect(port);
    c.send(
        "DELETE",
        "/mcp",
        &[("Mcp-Session-Id", &sid), ("Authorization", &mallory_auth)],
        b"",
    );
    assert_eq!(c.read_response().status, 404);
    assert_eq!(post(port, Some(&alice), Some(&sid), ping).status, 200);

    let alice_auth = format!("Bearer {alice}");
    let mut c = HttpClient::connect(port);
    c.send(
        "DELETE",
        "/mcp",
        &[("Mcp-Session-Id", &sid), ("Authorization", &alice_auth)],
        b"",
    );
    assert_eq!(c.read_response().status, 204);
    assert_eq!(post(port, Some(&alice), Some(&sid), ping).status, 404);
}

#[test]
fn request_state_is_bound_to_its_principal() {
    let files = Files::new("state");
    let s = server(&files, &[]);
    let port = s.port.unwrap();
    let alice = token(port, "alice", json!({}));
    let bob = token(port, "bob", json!({}));

    let first = approve(port, Some(&alice), 1, "deploy", None);
    assert_eq!(first.status, 200, "{}", first.body_text());
    let state = approve_state(&first);
    // Bob, a static token's principal and a request without a token cannot use Alice's state:
    // the same error as a tampered state (no hint that it was good for someone else).
    let refused = "error -32602: Invalid params: requestState integrity check failed";
    for _ in 0..4 {
        let r = approve(port, Some(&bob), 2, "deploy", Some(&state));
        assert_eq!(r.status, 200, "{}", r.body_text());
        assert_eq!(outcome(&r), refused);
        let r = approve(port, Some("static-token-for-ci"), 3, "deploy", Some(&state));
        assert_eq!(outcome(&r), refused);
    }
    assert_eq!(approve(port, None, 4, "deploy", Some(&state)).status, 401);
    // Alice's own retry is taken, once (the demo tool's state is single-use), whichever shard
    // her fresh connections reach.
    let r = approve(port, Some(&alice), 5, "deploy", Some(&state));
    assert_eq!(outcome(&r), "approved: deploy");
    for id in 6..10 {
        let r = approve(port, Some(&alice), id, "deploy", Some(&state));
        assert_eq!(
            outcome(&r),
            "error -32602: Invalid params: requestState already used"
        );
    }
}

#[test]
fn bad_auth_settings_stop_the_server() {
    let files = Files::new("settings");
    std::fs::write(files.dir.join("short"), "too short").unwrap();
    let out = std::process::Command::new(common::bin())
        .args(["serve", "--http", "127.0.0.1:0", "--auth-hmac-secret-file"])
        .arg(files.path("short"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("at least 32 bytes"), "{stderr}");
    let out = std::process::Command::new(common::bin())
        .args(["serve", "--http", "127.0.0.1:0", "--auth-jwks"])
        .arg(files.path("missing.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.json"));
}
