//! [`ShardClient`]: an MCP client session on a shard's net ring, driven by futures: connect
//! (dial, then the handshake of the era asked for), then requests, any number in flight at once
//! (on the one TCP connection, or on a pool of keep-alive HTTP connections). It owns the call loop (send, await the answer, let the sans-IO session
//! decide whether to resend: version retries, input rounds) and the session's lifetime (dropping
//! the client closes its connection). It must not touch sockets or the driver: the dial goes
//! through [`Shard`], bytes through the [`Link`].

use super::conn::McpDial;
use super::error::ShardClientError;
use super::http::{HttpEndpoint, HttpPool};
use super::link::Link;
use super::run::Shard;
use super::target::Target;
use ringmcp_proto::client::{
    Answer, CallStep, ClientConfig, ClientHandler, ClientSession, DefaultHandler, Era,
    HandshakeStep, Pages, ServerInfo, MAX_PAGES,
};
use ringmcp_proto::types::Implementation;
use ringmcp_proto::ProtocolVersion;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;

/// How a [`ShardClient`] connects.
pub struct ShardConnectOptions {
    /// Which era to speak (`Auto`: 2026-07-28 when the server speaks it, else `initialize`).
    pub era: Era,
    /// `clientInfo`.
    pub client_info: Implementation,
    /// Answers the server's requests (sampling, elicitation, roots).
    pub handler: Box<dyn ClientHandler>,
    /// The longest message accepted from the server (a line, an HTTP body, an SSE event); a
    /// longer one ends the connection.
    pub max_line: usize,
    /// HTTP: the most connections the session opens at once (one per request in flight;
    /// further requests wait for one to be free).
    pub max_connections: usize,
    /// HTTP: headers sent with every request (`Authorization`, say).
    pub headers: Vec<(String, String)>,
    /// `https` URLs: the TLS settings (`None`: the operating system's roots).
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

impl ShardConnectOptions {
    /// Speak `era`, as `ringmcp-shard-client`, with the default handler and a 64 MiB line limit.
    pub fn new(era: Era) -> Self {
        ShardConnectOptions {
            era,
            client_info: Implementation {
                name: "ringmcp-shard-client".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                title: None,
            },
            handler: Box::new(DefaultHandler),
            max_line: 64 << 20,
            max_connections: 8,
            headers: Vec::new(),
            tls: None,
        }
    }
}

impl Default for ShardConnectOptions {
    fn default() -> Self {
        Self::new(Era::Auto)
    }
}

impl std::fmt::Debug for ShardConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardConnectOptions")
            .field("era", &self.era)
            .field("client_info", &self.client_info)
            .field("max_line", &self.max_line)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

/// One MCP client session on the shard's net ring: over a TCP connection (newline-delimited
/// JSON), or Streamable HTTP (plain or TLS). Only usable on the shard it was made on; methods
/// take `&self`, so calls may overlap. Dropping it closes its connections; calls still waiting
/// then fail with [`ShardClientError::Closed`].
pub struct ShardClient {
    link: Rc<Link>,
}

impl std::fmt::Debug for ShardClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShardClient")
            .field("version", &self.version())
            .finish_non_exhaustive()
    }
}

impl ShardClient {
    /// Connect to `addr` (already resolved: no name lookup runs on a shard) and shake hands.
    /// Timeouts are the caller's (dropping the future gives the connection up).
    pub async fn connect(
        shard: &Shard,
        addr: SocketAddr,
        options: ShardConnectOptions,
    ) -> Result<Self, ShardClientError> {
        let link = Link::new(session(&options), options.handler, options.max_line);
        shard
            .dialer()
            .dial_mcp(addr, None, McpDial::lines(link.clone()))
            .await
            .map_err(ShardClientError::Connect)?;
        // Made now, so that a handshake given up half-way closes the connection.
        let client = ShardClient { link };
        client.handshake().await?;
        tracing::debug!(%addr, version = ?client.version(), "MCP client connected");
        Ok(client)
    }

    /// Open a Streamable HTTP session with `endpoint` and shake hands. Connections are dialed as
    /// requests need them (the first for the handshake) and kept alive between requests.
    pub async fn connect_http(
        shard: &Shard,
        endpoint: HttpEndpoint,
        options: ShardConnectOptions,
    ) -> Result<Self, ShardClientError> {
        let addr = endpoint.addr();
        let pool = HttpPool::new(
            endpoint,
            shard.dialer_rc(),
            options.max_connections,
            options.headers.clone(),
        );
        let link = Link::http(session(&options), options.handler, options.max_line, pool);
        let client = ShardClient { link };
        client.handshake().await?;
        tracing::debug!(%addr, version = ?client.version(), "MCP client connected over HTTP");
        Ok(client)
    }

    /// Connect to `url`: `tcp://HOST:PORT` (newline-delimited JSON), or the `http://` or
    /// `https://` URL of a Streamable HTTP endpoint. A host name is looked up off the shard.
    pub async fn connect_url(
        shard: &Shard,
        url: &str,
        options: ShardConnectOptions,
    ) -> Result<Self, ShardClientError> {
        let target = Target::parse(url)?;
        let addr = target.resolve().await?;
        match target.endpoint(addr, options.tls.clone())? {
            Some(endpoint) => Self::connect_http(shard, endpoint, options).await,
            None => Self::connect(shard, addr, options).await,
        }
    }

    async fn handshake(&self) -> Result<(), ShardClientError> {
        let mut out = self.link.with_session(|s, _| s.handshake());
        loop {
            let cancellable = out.method.as_deref() != Some("initialize");
            let answer = self.link.ask(out, cancellable)?.await?;
            match self.link.with_session(|s, _| s.on_handshake(answer))? {
                HandshakeStep::Send(next) => out = next,
                HandshakeStep::Ready { initialized } => {
                    if let Some(note) = initialized {
                        self.link.send(note)?;
                    }
                    return Ok(());
                }
            }
        }
    }

    /// The protocol version in use.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.link.with_session(|s, _| s.version())
    }

    /// What the server said about itself.
    pub fn server(&self) -> ServerInfo {
        self.link.with_session(|s, _| s.server().clone())
    }

    /// Call any method; resolves to the result as the server sent it. Dropping the future
    /// cancels the request (`notifications/cancelled`).
    pub async fn request(&self, method: &str, params: Value) -> Result<Value, ShardClientError> {
        let mut out = self.link.with_session(|s, _| s.call(method, params))?;
        loop {
            let id = out.id.clone();
            let answer = match self.link.ask(out, true) {
                Ok(answering) => answering.await,
                Err(e) => Err(e),
            };
            let Some(id) = id.as_ref() else {
                return Ok(Value::Null);
            };
            let answer: Answer = match answer {
                Ok(answer) => answer,
                Err(e) => {
                    self.link.with_session(|s, _| s.forget(id));
                    return Err(e);
                }
            };
            match self
                .link
                .with_session(|s, handler| s.on_answer(id, answer, handler))?
            {
                CallStep::Send(next) => out = next,
                CallStep::Done(result) => return Ok(result),
            }
        }
    }

    /// Send a notification.
    pub fn notify(&self, method: &str, params: &Value) -> Result<(), ShardClientError> {
        let out = self
            .link
            .with_session(|s, _| s.notification(method, params));
        self.link.send(out)
    }

    /// Every item of a paginated list (`key` names the array in each page).
    pub async fn list_all(&self, method: &str, key: &str) -> Result<Vec<Value>, ShardClientError> {
        let mut pages = Pages::new(key);
        while let Some(params) = pages.next_params() {
            let page = self.request(method, Value::Object(params)).await?;
            pages.take(&page);
        }
        if !pages.complete() {
            tracing::warn!(
                method,
                "stopped following pagination after {MAX_PAGES} pages"
            );
        }
        Ok(pages.into_items())
    }

    /// `tools/list`, every page, without the tools whose `x-mcp-header` annotations are invalid.
    pub async fn list_tools(&self) -> Result<Vec<Value>, ShardClientError> {
        let tools = self.list_all("tools/list", "tools").await?;
        let (kept, dropped) = self.link.with_session(|s, _| s.accept_tools(tools));
        for (name, why) in dropped {
            tracing::warn!(tool = %name, %why, "ignoring a tool with invalid x-mcp-header annotations");
        }
        Ok(kept)
    }

    /// `tools/call`; resolves to the `CallToolResult` as the server sent it.
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Result<Value, ShardClientError> {
        self.request(
            "tools/call",
            json!({ "name": name, "arguments": arguments }),
        )
        .await
    }

    /// End the session: an HTTP session the server named is deleted (`DELETE`, awaiting the
    /// server's answer: bound the wait with a timeout if the server may not answer), then the
    /// connections are closed once what is queued has been sent. Calls still waiting fail with
    /// [`ShardClientError::Closed`].
    pub async fn close(self) {
        if let Some(deleting) = self.link.delete_session() {
            if let Err(e) = deleting.await {
                tracing::debug!(error = %e, "the session could not be deleted");
            }
        }
        self.link.fail("closed by the client".into());
    }
}

impl Drop for ShardClient {
    fn drop(&mut self) {
        self.link.fail("the client was dropped".into());
    }
}

/// The sans-IO session `options` ask for.
fn session(options: &ShardConnectOptions) -> ClientSession {
    ClientSession::new(ClientConfig {
        client_info: options.client_info.clone(),
        era: options.era,
        capabilities: options.handler.capabilities(),
    })
}
