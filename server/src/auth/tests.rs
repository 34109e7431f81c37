//! Unit tests of `auth`.

#![allow(clippy::unwrap_used)]
use super::*;
use jsonwebtoken::{encode, EncodingKey, Header};

const SECRET: &str = "0123456789abcdef0123456789abcdef-test";
const RESOURCE: &str = "http://127.0.0.1:8080/mcp";

fn auth(scopes: &[&str]) -> Authenticator {
    // Tests run in parallel: each call gets its own folder.
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("ringmcp-auth-unit-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let secret = dir.join("secret");
    std::fs::write(&secret, SECRET).unwrap();
    let tokens = dir.join("tokens");
    std::fs::write(&tokens, "# comment\nopaque-1 alice\n").unwrap();
    let config = AuthConfig {
        hmac_secret_file: Some(secret),
        tokens_file: Some(tokens),
        issuers: vec!["https://issuer.test".into()],
        required_scopes: scopes.iter().map(|s| s.to_string()).collect(),
        ..AuthConfig::default()
    };
    let auth = Authenticator::new(&config, RESOURCE).unwrap();
    // Files are read once, at construction.
    std::fs::remove_dir_all(&dir).unwrap();
    auth
}

fn jwt(claims: serde_json::Value) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(SECRET.as_bytes()),
    )
    .unwrap()
}

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

#[test]
fn accepts_a_good_jwt_and_names_its_principal() {
    let a = auth(&[]);
    let t = jwt(serde_json::json!({
        "iss": "https://issuer.test", "sub": "u1", "aud": RESOURCE, "exp": now() + 60}));
    let grant = a.verify(&t, now()).unwrap();
    assert_eq!(&*grant.principal, "https://issuer.test u1");
}

#[test]
fn refuses_wrong_audience_issuer_expiry_and_signature() {
    let a = auth(&[]);
    let base = serde_json::json!({
        "iss": "https://issuer.test", "sub": "u1", "aud": RESOURCE, "exp": now() + 60});
    for (field, value, why) in [
        (
            "aud",
            serde_json::json!("http://other/mcp"),
            "not issued for this resource",
        ),
        (
            "iss",
            serde_json::json!("https://evil.test"),
            "untrusted issuer",
        ),
        ("exp", serde_json::json!(now() - 3600), "expired"),
    ] {
        let mut claims = base.clone();
        claims[field] = value;
        match a.verify(&jwt(claims), now()) {
            Err(AuthError::InvalidToken(msg)) => assert!(msg.contains(why), "{field}: {msg}"),
            other => panic!("{field}: {other:?}"),
        }
    }
    let forged = encode(
        &Header::new(Algorithm::HS256),
        &base,
        &EncodingKey::from_secret(b"another secret of at least 32 bytes!!"),
    )
    .unwrap();
    assert!(matches!(
        a.verify(&forged, now()),
        Err(AuthError::InvalidToken(m)) if m.contains("signature")
    ));
    assert!(matches!(
        a.verify("not-a-token", now()),
        Err(AuthError::InvalidToken(_))
    ));
}

#[test]
fn static_tokens_and_scopes() {
    let a = auth(&["mcp:tools"]);
    assert_eq!(
        &*a.verify("opaque-1", now()).unwrap().principal,
        "token:alice"
    );
    let claims = |scope: &str| {
        serde_json::json!({"iss": "https://issuer.test", "sub": "u", "aud": RESOURCE,
            "exp": now() + 60, "scope": scope})
    };
    assert_eq!(
        a.verify(&jwt(claims("read")), now()).unwrap_err(),
        AuthError::InsufficientScope
    );
    assert!(a.verify(&jwt(claims("read mcp:tools")), now()).is_ok());
    let (status, header, _) = a.challenge(&AuthError::InsufficientScope);
    assert_eq!(status, 403);
    assert!(header.contains("error=\"insufficient_scope\""), "{header}");
    assert!(header.contains("scope=\"mcp:tools\""), "{header}");
}

#[test]
fn bearer_header_parsing_and_metadata_url() {
    assert_eq!(Authenticator::bearer(Some("Bearer abc")), Ok("abc"));
    assert_eq!(Authenticator::bearer(Some("bearer  abc ")), Ok("abc"));
    assert_eq!(
        Authenticator::bearer(Some("Basic abc")),
        Err(AuthError::Missing)
    );
    assert_eq!(Authenticator::bearer(None), Err(AuthError::Missing));
    assert_eq!(
        metadata_url_of("https://h.test:8443/mcp"),
        "https://h.test:8443/.well-known/oauth-protected-resource/mcp"
    );
    assert_eq!(
        metadata_url_of("https://h.test"),
        "https://h.test/.well-known/oauth-protected-resource"
    );
    let a = auth(&[]);
    assert_eq!(
        a.metadata_path(),
        "/.well-known/oauth-protected-resource/mcp"
    );
    let doc: serde_json::Value = serde_json::from_slice(a.metadata()).unwrap();
    assert_eq!(doc["resource"], RESOURCE);
}
