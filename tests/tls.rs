//! TLS on the network listeners (`--tls-cert`, `--tls-key`): a rustls client speaks ndjson and
//! HTTP to the server through a certificate made for the test; plaintext and silent clients are
//! dropped without harming the others; bad certificate files stop the server with a clear error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{bin, Server};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Certs {
    dir: PathBuf,
    cert_pem: String,
}

impl Certs {
    /// A self-signed certificate for `localhost` and 127.0.0.1, written to a fresh folder.
    fn new(tag: &str) -> Certs {
        let dir = std::env::temp_dir().join(format!("ringmcp-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()])
            .unwrap();
        let cert_pem = key.cert.pem();
        std::fs::write(dir.join("cert.pem"), &cert_pem).unwrap();
        std::fs::write(dir.join("key.pem"), key.signing_key.serialize_pem()).unwrap();
        Certs { dir, cert_pem }
    }

    fn cert(&self) -> String {
        self.dir.join("cert.pem").display().to_string()
    }

    fn key(&self) -> String {
        self.dir.join("key.pem").display().to_string()
    }

    fn client_config(&self, alpn: &[&[u8]]) -> Arc<rustls::ClientConfig> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).unwrap())
            .unwrap();
        let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Arc::new(config)
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

type Tls = rustls::StreamOwned<rustls::ClientConnection, TcpStream>;

fn tls_connect(port: u16, config: Arc<rustls::ClientConfig>, name: &str) -> Tls {
    let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let conn = rustls::ClientConnection::new(config, name.to_owned().try_into().unwrap()).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

fn tls_server(certs: &Certs, transport: &str, extra: &[&str]) -> Server {
    let marker = if transport == "--tcp" {
        "tls://127.0.0.1:"
    } else {
        "https://127.0.0.1:"
    };
    let mut args = vec![
        "--tls-cert".to_owned(),
        certs.cert(),
        "--tls-key".to_owned(),
        certs.key(),
        "--cores".to_owned(),
        "2".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    Server::listening(&["serve", transport, "127.0.0.1:0"], &args, marker)
}

fn line_request(stream: &mut BufReader<Tls>, msg: Value) -> Value {
    let mut bytes = serde_json::to_vec(&msg).unwrap();
    bytes.push(b'\n');
    stream.get_mut().write_all(&bytes).unwrap();
    stream.get_mut().flush().unwrap();
    let mut line = String::new();
    stream.read_line(&mut line).unwrap();
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad line {line:?}: {e}"))
}

#[test]
fn ndjson_over_tls_serves_a_session_and_large_answers() {
    let certs = Certs::new("lines");
    let server = tls_server(&certs, "--tcp", &[]);
    let port = server.port.unwrap();
    let mut s = BufReader::new(tls_connect(port, certs.client_config(&[]), "localhost"));
    let init = line_request(
        &mut s,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "tls-test", "version": "1"}}}),
    );
    assert_eq!(init["result"]["protocolVersion"], "2025-11-25", "{init}");
    s.get_mut()
        .write_all(b"{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}\n")
        .unwrap();
    // Bigger than one TLS record (16 KiB) and than one receive buffer, both ways.
    let text = "x".repeat(100_000);
    for id in 2..5 {
        let reply = line_request(
            &mut s,
            json!({"jsonrpc": "2.0", "id": id, "method": "tools/call",
                   "params": {"name": "echo", "arguments": {"text": text}}}),
        );
        assert_eq!(reply["id"], id);
        assert_eq!(reply["result"]["content"][0]["text"], text.as_str());
    }
}

#[test]
fn https_serves_both_eras_and_offers_http11_alpn() {
    let certs = Certs::new("http");
    let server = tls_server(&certs, "--http", &[]);
    let port = server.port.unwrap();
    let mut s = tls_connect(
        port,
        certs.client_config(&[b"h2", b"http/1.1"]),
        "127.0.0.1",
    );
    let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {
    "name": "echo", "arguments": {"text": "over https"},
    "_meta": {
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientInfo": {"name": "tls-test", "version": "1"},
        "io.modelcontextprotocol/clientCapabilities": {}
    }}})
    .to_string();
    let req = format!(
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n\
         Mcp-Method: tools/call\r\nMcp-Name: echo\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    match s.read_to_end(&mut raw) {
        Ok(_) => {}
        // The server closes after `Connection: close` without close_notify; HTTP framing already
        // delimits the response.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
        Err(e) => panic!("read: {e}"),
    }
    assert_eq!(s.conn.alpn_protocol(), Some(&b"http/1.1"[..]));
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    let json_start = text.find("\r\n\r\n").unwrap() + 4;
    let reply: Value = serde_json::from_str(&text[json_start..]).unwrap();
    assert_eq!(
        reply["result"]["content"][0]["text"], "over https",
        "{reply}"
    );

    // A legacy session: initialize over its own TLS connection gets a session id.
    let mut s = tls_connect(port, certs.client_config(&[]), "localhost");
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "tls-test", "version": "1"}}})
    .to_string();
    let req = format!(
        "POST /mcp HTTP/1.1\r\nHost: localhost:{port}\r\nContent-Type: application/json\r\n\
         Accept: application/json, text/event-stream\r\nConnection: close\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 200"), "{text}");
    assert!(text.contains("mcp-session-id:"), "{text}");
}

#[test]
fn plaintext_and_silent_peers_are_dropped_and_others_unharmed() {
    let certs = Certs::new("hostile");
    let server = tls_server(&certs, "--tcp", &["--tls-handshake-timeout-ms", "300"]);
    let port = server.port.unwrap();

    // Plaintext JSON on a TLS port: the server answers with an alert (or nothing) and closes.
    let mut plain = TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain
        .write_all(b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\n")
        .unwrap();
    let mut got = Vec::new();
    // The server must close: EOF or a reset, not the 5 s read timeout.
    match plain.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("plaintext peer not closed: {e}"),
    }
    assert!(
        got.first().is_none_or(|&b| b == 0x15),
        "expected a TLS alert record or nothing, got {got:?}"
    );

    // A peer that connects and never says hello is dropped after the handshake timeout.
    let mut silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    silent
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let started = Instant::now();
    let mut buf = [0u8; 16];
    let n = silent.read(&mut buf).unwrap_or(0);
    assert_eq!(n, 0, "silent peer got bytes");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "silent peer held for {:?}",
        started.elapsed()
    );

    // A real client still gets served.
    let mut s = BufReader::new(tls_connect(port, certs.client_config(&[]), "localhost"));
    let init = line_request(
        &mut s,
        json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {},
            "clientInfo": {"name": "tls-test", "version": "1"}}}),
    );
    assert_eq!(init["id"], 1, "{init}");
    let ping = line_request(&mut s, json!({"jsonrpc": "2.0", "id": 2, "method": "ping"}));
    assert_eq!(ping["result"], json!({}), "{ping}");
}

#[test]
fn unreadable_or_mismatched_certificates_stop_the_server_with_a_clear_error() {
    let certs = Certs::new("bad");
    let other = Certs::new("other");
    let missing = certs.dir.join("missing.pem").display().to_string();
    let cases: [(&str, Vec<String>, &str); 3] = [
        (
            "missing certificate",
            vec![missing.clone(), certs.key()],
            "TLS certificate",
        ),
        (
            "key file holds a certificate",
            vec![certs.cert(), certs.cert()],
            "TLS private key",
        ),
        (
            "key of another certificate",
            vec![certs.cert(), other.key()],
            "rejected",
        ),
    ];
    for (name, files, expect) in cases {
        let out = std::process::Command::new(bin())
            .args(["serve", "--tcp", "127.0.0.1:0", "--tls-cert"])
            .arg(&files[0])
            .arg("--tls-key")
            .arg(&files[1])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(expect), "{name}: {stderr}");
    }
    // One without the other is a usage error.
    let out = std::process::Command::new(bin())
        .args(["serve", "--tcp", "127.0.0.1:0", "--tls-cert"])
        .arg(certs.cert())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tls-key"));
}
