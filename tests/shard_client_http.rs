//! The shard client over Streamable HTTP: one shard holds a thousand HTTP sessions to
//! `ringmcp serve --http` in each era (keep-alive connections, `Mcp-Session-Id` in the legacy
//! era); an `https://localhost` URL is resolved off the shard and spoken over TLS with the
//! caller's roots (and refused with the system's). Against a scripted server: what each request
//! carries (method, path, `Host`, `Accept`, session id, version header), an SSE answer with a
//! notification before the result, an error status that is not JSON-RPC, an answer that never
//! comes because the server hung up, a stream that ends before its answer resumed with `GET` and
//! `Last-Event-ID` after the server's `retry:` (and given up after three resumes that bring
//! nothing new), and the `DELETE` that closes the session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::shard::*;
use common::*;
use ringmcp::client::{HttpEndpoint, ShardClient, ShardClientError, ShardConnectOptions};
use ringmcp::proto::client::{ClientError, Era};
use ringmcp::proto::ProtocolVersion;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::mpsc::{channel, Receiver};
use std::sync::Arc;

fn legacy() -> Era {
    Era::Fixed(ProtocolVersion::parse("2025-11-25").unwrap())
}

#[test]
fn one_shard_holds_a_thousand_modern_http_sessions() {
    let server = Server::http(&[]);
    thousand_sessions(
        format!("http://127.0.0.1:{}/mcp", server.port.unwrap()),
        Era::Auto,
        MODERN,
    );
}

#[test]
fn one_shard_holds_a_thousand_legacy_http_sessions() {
    let server = Server::http(&[]);
    thousand_sessions(
        format!("http://127.0.0.1:{}/mcp", server.port.unwrap()),
        legacy(),
        "2025-11-25",
    );
}

/// A self-signed certificate for `localhost`, in a fresh folder.
struct Certs {
    dir: std::path::PathBuf,
    cert_pem: String,
}

impl Certs {
    fn new() -> Certs {
        let dir = std::env::temp_dir().join(format!("ringmcp-shard-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let key = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        let cert_pem = key.cert.pem();
        std::fs::write(dir.join("cert.pem"), &cert_pem).unwrap();
        std::fs::write(dir.join("key.pem"), key.signing_key.serialize_pem()).unwrap();
        Certs { dir, cert_pem }
    }

    fn path(&self, file: &str) -> String {
        self.dir.join(file).display().to_string()
    }

    /// Trusts only this certificate.
    fn client_config(&self) -> Arc<rustls::ClientConfig> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.cert_pem.as_bytes()).unwrap())
            .unwrap();
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        Arc::new(config)
    }
}

impl Drop for Certs {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn https_by_host_name_with_the_callers_roots() {
    let certs = Certs::new();
    let (cert, key) = (certs.path("cert.pem"), certs.path("key.pem"));
    let server = Server::listening(
        &["serve", "--http", "127.0.0.1:0"],
        &["--tls-cert", &cert, "--tls-key", &key],
        "https://127.0.0.1:",
    );
    let port = server.port.unwrap();
    let trusted = certs.client_config();
    let outcome = on_one_shard(TIMEOUT * 3, move |shard| {
        let trusted = trusted.clone();
        async move {
            let url = format!("https://localhost:{port}/mcp");
            let mut options = ShardConnectOptions::new(legacy());
            options.tls = Some(trusted.clone());
            let client = ShardClient::connect_url(&shard, &url, options)
                .await
                .map_err(|e| format!("connect: {e}"))?;
            let echoed = client
                .call_tool("echo", json!({ "text": "sealed" }))
                .await
                .map_err(|e| format!("call: {e}"))?;
            client.close().await;
            // The system's roots do not know the test's certificate: the handshake fails, and
            // the error says so.
            let untrusted =
                ShardClient::connect_url(&shard, &url, ShardConnectOptions::new(legacy())).await;
            Ok::<_, String>((text_of(&echoed), untrusted.err().map(|e| e.to_string())))
        }
    });
    let (echoed, untrusted) = outcome.expect("the TLS session worked");
    assert_eq!(echoed, "sealed");
    let untrusted = untrusted.expect("a certificate no root vouches for was accepted");
    assert!(untrusted.contains("certificate"), "{untrusted}");
}

/// One request as the scripted server read it.
#[derive(Debug)]
struct Seen {
    line: String,
    headers: HashMap<String, String>,
    body: Value,
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Seen> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
    }
    let len: usize = headers
        .get("content-length")
        .map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let body = if body.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&body).unwrap()
    };
    Some(Seen {
        line: line.trim_end().to_owned(),
        headers,
        body,
    })
}

/// What the scripted server answers to each request, by method (`DELETE` for the session's end).
type Script = fn(&Seen) -> Vec<u8>;

/// A legacy Streamable HTTP server answering each request with `script` (a hang-up when it
/// returns nothing), a thread per connection; the requests each connection read come back
/// through the channel once it ends.
fn scripted_server(script: Script) -> (SocketAddr, Receiver<Vec<Seen>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = channel();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let tx = tx.clone();
            std::thread::spawn(move || {
                stream.set_read_timeout(Some(TIMEOUT)).unwrap();
                let mut writer = stream.try_clone().unwrap();
                let mut reader = BufReader::new(stream);
                let mut seen = Vec::new();
                while let Some(request) = read_request(&mut reader) {
                    let answer = script(&request);
                    seen.push(request);
                    if answer.is_empty() || writer.write_all(&answer).is_err() {
                        break;
                    }
                }
                let _ = tx.send(seen);
            });
        }
    });
    (addr, rx)
}

fn json_response(status: &str, extra: &str, body: &Value) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn initialize_answer(seen: &Seen) -> Vec<u8> {
    json_response(
        "200 OK",
        "Mcp-Session-Id: s-1\r\n",
        &json!({
            "jsonrpc": "2.0",
            "id": seen.body["id"],
            "result": {
                "protocolVersion": "2025-11-25",
                "capabilities": { "tools": {} },
                "serverInfo": { "name": "scripted", "version": "0" },
            },
        }),
    )
}

/// A chunked `text/event-stream` response carrying `events`, complete.
fn sse_response(events: &[String]) -> Vec<u8> {
    let mut out =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
            .to_vec();
    for event in events {
        out.extend(format!("{:x}\r\n{event}\r\n", event.len()).into_bytes());
    }
    out.extend(b"0\r\n\r\n");
    out
}

fn echo_result(id: &Value, text: &str) -> Value {
    json!({ "jsonrpc": "2.0", "id": id,
        "result": { "content": [{ "type": "text", "text": text }] } })
}

/// By request: `DELETE` answered 200; a `GET` resuming `resumable-ID` gets the answer to request
/// ID, one resuming `stuck-ID` a stream with no new event; `tools/call` of `streamed` answered
/// over SSE after a notification, of `resumable` and `stuck` with a stream that ends before the
/// answer (event id and `retry:` set), of `refused` with a 404 that is not JSON-RPC; anything
/// else with a hang-up.
fn script_sse(seen: &Seen) -> Vec<u8> {
    if seen.line.starts_with("DELETE") {
        return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec();
    }
    if seen.line.starts_with("GET") {
        let from = seen
            .headers
            .get("last-event-id")
            .cloned()
            .unwrap_or_default();
        return match from.split_once('-') {
            Some(("resumable", id)) => {
                let id: Value = serde_json::from_str(id).unwrap();
                let result = echo_result(&id, "resumed");
                sse_response(&[format!("id: done-{id}\ndata: {result}\n\n")])
            }
            _ => sse_response(&[": nothing new\n\n".to_owned()]),
        };
    }
    let name = seen.body["params"]["name"].as_str().unwrap_or_default();
    if matches!(name, "resumable" | "stuck") {
        let id = &seen.body["id"];
        return sse_response(&[format!("id: {name}-{id}\nretry: 20\ndata: \n\n")]);
    }
    match seen.body["method"].as_str() {
        Some("initialize") => initialize_answer(seen),
        Some("notifications/initialized") => {
            b"HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_vec()
        }
        Some("tools/call") if seen.body["params"]["name"] == "streamed" => {
            let note = json!({ "jsonrpc": "2.0", "method": "notifications/message",
                "params": { "level": "info", "data": "working" } });
            let result = echo_result(&seen.body["id"], "streamed");
            sse_response(&[
                ": priming\n\n".to_owned(),
                format!("id: 1\nevent: message\ndata: {note}\n\n"),
                format!("id: 2\ndata: {result}\n\n"),
            ])
        }
        Some("tools/call") if seen.body["params"]["name"] == "refused" => {
            b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nno such!\n".to_vec()
        }
        // A hang-up before the answer.
        _ => Vec::new(),
    }
}

#[test]
fn requests_carry_the_session_and_answers_come_as_json_sse_or_status() {
    let (addr, seen) = scripted_server(script_sse);
    let outcome = on_one_shard(TIMEOUT * 3, move |shard| async move {
        let endpoint = HttpEndpoint::http(addr, format!("mcp.test:{}", addr.port()), "/rpc?x=1");
        let client =
            ShardClient::connect_http(&shard, endpoint, ShardConnectOptions::new(legacy()))
                .await
                .map_err(|e| format!("connect: {e}"))?;
        let streamed = client.call_tool("streamed", json!({})).await;
        let refused = client.call_tool("refused", json!({})).await;
        let lost = client.call_tool("hang-up", json!({})).await;
        // The pool dials a new connection for the session after the hang-up.
        let again = client.call_tool("streamed", json!({})).await;
        let resumed = client.call_tool("resumable", json!({})).await;
        let stuck = client.call_tool("stuck", json!({})).await;
        client.close().await;
        Ok::<_, String>((streamed, refused, lost, again, resumed, stuck))
    });
    let (streamed, refused, lost, again, resumed, stuck) = outcome.expect("connected");
    assert_eq!(text_of(&resumed.expect("a resumed answer")), "resumed");
    match stuck {
        Err(ShardClientError::Lost(why)) => assert!(why.contains("without a new event"), "{why}"),
        other => panic!("a stream resumed without progress was not given up: {other:?}"),
    }
    assert_eq!(text_of(&streamed.expect("an SSE answer")), "streamed");
    assert_eq!(
        text_of(&again.expect("an answer after a hang-up")),
        "streamed"
    );
    assert!(
        matches!(
            refused,
            Err(ShardClientError::Protocol(ClientError::Refused(Some(404))))
        ),
        "{refused:?}"
    );
    assert!(matches!(lost, Err(ShardClientError::Lost(_))), "{lost:?}");
    let mut requests = Vec::new();
    let mut connections = 0;
    // initialize, initialized, 6 calls, a resume of `resumable`, 3 of `stuck`, DELETE.
    while requests.len() < 13 {
        let on_one = seen
            .recv_timeout(TIMEOUT)
            .expect("every request reached the server");
        connections += 1;
        requests.extend(on_one);
    }
    // Connections are kept alive: one more than the calls in flight at once (a call may start
    // while the notification before it is still being accepted), and one after the hang-up.
    assert!(
        connections <= 3,
        "{connections} connections for sequential calls"
    );
    let count = |what: &str| {
        requests
            .iter()
            .filter(|s| s.body["method"] == what || s.line.starts_with(what))
            .count()
    };
    assert_eq!(count("initialize"), 1);
    assert_eq!(count("notifications/initialized"), 1);
    assert_eq!(count("tools/call"), 6);
    let resumes: Vec<&str> = requests
        .iter()
        .filter(|s| s.line.starts_with("GET"))
        .map(|s| s.headers["last-event-id"].as_str())
        .collect();
    assert_eq!(resumes.len(), 4, "{resumes:?}");
    assert_eq!(
        resumes.iter().filter(|id| id.starts_with("stuck-")).count(),
        3,
        "a stream that brings nothing new is resumed three times: {resumes:?}"
    );
    assert_eq!(count("DELETE /rpc?x=1 HTTP/1.1"), 1, "{requests:?}");
    for s in &requests {
        assert_eq!(s.headers["host"], format!("mcp.test:{}", addr.port()));
        if s.line.starts_with("DELETE") || s.line.starts_with("GET") {
            assert!(s.line.ends_with(" /rpc?x=1 HTTP/1.1"), "{}", s.line);
            assert_eq!(
                s.headers["mcp-session-id"], "s-1",
                "{} names the session",
                s.line
            );
            assert_eq!(s.headers["mcp-protocol-version"], "2025-11-25");
            continue;
        }
        assert_eq!(s.line, "POST /rpc?x=1 HTTP/1.1");
        assert_eq!(s.headers["content-type"], "application/json");
        let accept = &s.headers["accept"];
        assert!(
            accept.contains("application/json") && accept.contains("text/event-stream"),
            "{accept}"
        );
        if s.body["method"] == "initialize" {
            assert!(!s.headers.contains_key("mcp-session-id"));
        } else {
            assert_eq!(s.headers["mcp-session-id"], "s-1", "{s:?}");
            assert_eq!(s.headers["mcp-protocol-version"], "2025-11-25", "{s:?}");
        }
    }
}
