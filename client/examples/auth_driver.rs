//! A throwaway conformance driver for the authorization module until the client core's
//! transport lands: `auth_driver <server URL>` (the suite appends the URL) runs the MCP requests
//! an `auth/*` scenario needs over plain blocking HTTP, hands 401/403 answers to the
//! authorizer from `for_conformance`, and exits non-zero when authorization is refused.

use ringmcp_client::auth::{for_conformance, Authorize, Challenge};
use serde_json::{json, Value};
use std::process::ExitCode;

const MODERN: &str = "2026-07-28";

struct Driver {
    http: reqwest::blocking::Client,
    url: String,
    auth: Box<dyn Authorize>,
    version: String,
    modern: bool,
    session: Option<String>,
    next_id: u64,
}

impl Driver {
    fn meta(&self) -> Value {
        json!({
            "io.modelcontextprotocol/protocolVersion": MODERN,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "ringmcp-auth-driver", "version": "0.1.0"},
        })
    }

    fn call(
        &mut self,
        method: &str,
        mut params: Value,
        notification: bool,
    ) -> Result<Value, String> {
        if self.modern {
            params["_meta"] = self.meta();
        }
        let mut body = json!({"jsonrpc": "2.0", "method": method, "params": params});
        if !notification {
            self.next_id += 1;
            body["id"] = json!(self.next_id);
        }
        // The authorizer bounds its own attempts; this only stops a broken one.
        for _ in 0..8 {
            let headers = self
                .auth
                .headers(&reqwest::Method::POST, &self.url)
                .map_err(|e| e.to_string())?;
            let mut request = self
                .http
                .post(&self.url)
                .header("content-type", "application/json")
                .header("accept", "application/json, text/event-stream")
                .body(body.to_string());
            if self.modern || method != "initialize" {
                request = request.header("mcp-protocol-version", &self.version);
            }
            if let Some(session) = &self.session {
                request = request.header("mcp-session-id", session);
            }
            for (name, value) in headers {
                request = request.header(name, value);
            }
            let response = request.send().map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            if status == 401 || status == 403 {
                let challenge = Challenge {
                    status,
                    url: self.url.clone(),
                    www_authenticate: response
                        .headers()
                        .get_all("www-authenticate")
                        .iter()
                        .filter_map(|v| v.to_str().ok().map(str::to_owned))
                        .collect(),
                    dpop_nonce: response
                        .headers()
                        .get("dpop-nonce")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned),
                };
                if self.auth.challenge(&challenge).map_err(|e| e.to_string())? {
                    continue;
                }
                return Err(format!("{method}: HTTP {status}, not retried"));
            }
            if let Some(session) = response.headers().get("mcp-session-id") {
                self.session = session.to_str().ok().map(str::to_owned);
            }
            let sse = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("text/event-stream"));
            let text = response.text().map_err(|e| e.to_string())?;
            if !(200..300).contains(&status) {
                return Err(format!("{method}: HTTP {status}: {text}"));
            }
            if notification {
                return Ok(Value::Null);
            }
            let message = if sse {
                text.lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
                    .find(|m| m.get("id").is_some())
                    .ok_or_else(|| format!("{method}: no response in the event stream"))?
            } else {
                serde_json::from_str(&text).map_err(|e| format!("{method}: {e}"))?
            };
            if let Some(error) = message.get("error") {
                return Err(format!("{method}: {error}"));
            }
            return Ok(message.get("result").cloned().unwrap_or(Value::Null));
        }
        Err(format!("{method}: too many retries"))
    }
}

fn run() -> Result<(), String> {
    let url = std::env::args()
        .next_back()
        .ok_or("usage: auth_driver <server URL>")?;
    let scenario = std::env::var("MCP_CONFORMANCE_SCENARIO").unwrap_or_default();
    let version =
        std::env::var("MCP_CONFORMANCE_PROTOCOL_VERSION").unwrap_or_else(|_| "2025-11-25".into());
    let context: Option<Value> = std::env::var("MCP_CONFORMANCE_CONTEXT")
        .ok()
        .and_then(|c| serde_json::from_str(&c).ok());
    let auth = for_conformance(context.as_ref(), &scenario).map_err(|e| e.to_string())?;
    let http = reqwest::blocking::Client::builder()
        .build()
        .map_err(|e| e.to_string())?;
    let mut driver = Driver {
        http,
        url,
        auth,
        modern: version == MODERN,
        version,
        session: None,
        next_id: 0,
    };
    if driver.modern {
        driver.call("server/discover", json!({}), false)?;
    } else {
        let params = json!({
            "protocolVersion": driver.version,
            "capabilities": {},
            "clientInfo": {"name": "ringmcp-auth-driver", "version": "0.1.0"},
        });
        let result = driver.call("initialize", params, false)?;
        if let Some(v) = result.get("protocolVersion").and_then(Value::as_str) {
            driver.version = v.to_owned();
        }
        driver.call("notifications/initialized", json!({}), true)?;
    }
    driver.call("tools/list", json!({}), false)?;
    driver.call(
        "tools/call",
        json!({"name": "test-tool", "arguments": {}}),
        false,
    )?;
    Ok(())
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "ringmcp_client=debug".into()),
        )
        .init();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("auth_driver: {e}");
            ExitCode::FAILURE
        }
    }
}
