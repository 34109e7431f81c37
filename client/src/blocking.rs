//! The blocking client: [`Client`] connects over any [`Transport`], shakes hands in the era asked
//! for, and offers the calls a program expects (tools, resources, prompts, skills), following
//! pagination. Each call drives `ringmcp_proto::client::ClientSession` to its end: server
//! requests that arrive meanwhile are answered by the [`ClientHandler`], retries and input rounds
//! are sent as the session says. One call at a time; the protocol rules stay in proto.

use crate::authorize::Authorize;
use crate::calls::{CallOptions, GaveUp, Watch};
use crate::http::HttpTransport;
use crate::transport::{Polled, Transport, TransportError};
use ringmcp_proto::client::{
    Answer, CallStep, ClientConfig, ClientHandler, ClientSession, DefaultHandler, Era,
    HandshakeStep, Notice, Outgoing, Pages, ServerInfo, MAX_PAGES,
};
use ringmcp_proto::types::Implementation;
use ringmcp_proto::{Message, ProtocolVersion, RequestId, Response as RpcResponse};
use serde_json::{json, Value};
use std::collections::{HashSet, VecDeque};

/// Notifications kept for the caller before the oldest are dropped (nobody is listening).
const MAX_INBOX: usize = 4096;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The protocol layer refused or the server answered with an error.
    #[error(transparent)]
    Protocol(#[from] ringmcp_proto::client::ClientError),
    /// The transport failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A skill failed verification.
    #[error(transparent)]
    Skill(#[from] crate::skills::SkillError),
    /// The connection ended before the answer.
    #[error("the connection ended before the answer to {0}")]
    NoAnswer(String),
    /// No answer within the time given; the server was told to stop.
    #[error("no answer to {0} in time; the request was cancelled")]
    TimedOut(String),
    /// The caller gave the request up; the server was told to stop.
    #[error("{0} was cancelled")]
    Cancelled(String),
}

/// How to connect.
pub struct ConnectOptions {
    /// Which era to speak.
    pub era: Era,
    /// Who the client says it is.
    pub client_info: Implementation,
    /// Answers server requests (sampling, elicitation, roots).
    pub handler: Box<dyn ClientHandler + Send>,
    /// Authorization for HTTP servers.
    pub authorizer: Option<Box<dyn Authorize>>,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            era: Era::Auto,
            client_info: Implementation {
                name: "ringmcp-client".into(),
                version: env!("CARGO_PKG_VERSION").into(),
                title: None,
            },
            handler: Box::new(DefaultHandler),
            authorizer: None,
        }
    }
}

impl std::fmt::Debug for ConnectOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectOptions")
            .field("era", &self.era)
            .field("client_info", &self.client_info)
            .field("authorizer", &self.authorizer.is_some())
            .finish_non_exhaustive()
    }
}

/// A connected MCP client.
pub struct Client {
    pub(crate) session: ClientSession,
    pub(crate) transport: Box<dyn Transport>,
    handler: Box<dyn ClientHandler + Send>,
    /// Notifications not yet taken by a listener, oldest first.
    pub(crate) inbox: VecDeque<Notice>,
    /// Open 2026-07-28 listen streams, by the id of their request.
    pub(crate) listens: HashSet<RequestId>,
    /// Listen streams the server ended (its answer came).
    pub(crate) ended: HashSet<RequestId>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("version", &self.session.version())
            .finish_non_exhaustive()
    }
}

impl Client {
    /// Connect to a Streamable HTTP endpoint. Unless the era is fixed to 2026-07-28, a server
    /// that refuses the handshake's POSTs with 400, 404 or 405 is tried as a 2024-11-05 HTTP+SSE
    /// server at the same URL (without the authorizer, which the first attempt used up).
    pub fn connect_http(url: &str, mut options: ConnectOptions) -> Result<Self, ClientError> {
        let transport = HttpTransport::new(url, options.authorizer.take())?;
        let era = options.era;
        let client_info = options.client_info.clone();
        match Self::try_connect(Box::new(transport), options) {
            Ok(client) => Ok(client),
            Err((
                ClientError::Protocol(ringmcp_proto::client::ClientError::Refused(Some(
                    status @ (400 | 404 | 405),
                ))),
                handler,
            )) if !matches!(era, Era::Fixed(v) if v.is_modern()) => {
                tracing::debug!(status, "falling back to the 2024-11-05 HTTP+SSE transport");
                let transport = crate::sse::SseTransport::connect(url, None)?;
                // That transport predates 2026-07-28: shake hands with `initialize`.
                let era = match era {
                    Era::Auto => Era::Fixed(ProtocolVersion::LATEST_LEGACY),
                    fixed => fixed,
                };
                let options = ConnectOptions {
                    era,
                    client_info,
                    handler,
                    authorizer: None,
                };
                Self::connect(Box::new(transport), options)
            }
            Err((e, _)) => Err(e),
        }
    }

    /// Shake hands over `transport`.
    pub fn connect(
        transport: Box<dyn Transport>,
        options: ConnectOptions,
    ) -> Result<Self, ClientError> {
        Self::try_connect(transport, options).map_err(|(e, _)| e)
    }

    /// Shake hands; on failure the handler comes back for another attempt.
    fn try_connect(
        transport: Box<dyn Transport>,
        options: ConnectOptions,
    ) -> Result<Self, (ClientError, Box<dyn ClientHandler + Send>)> {
        let config = ClientConfig {
            client_info: options.client_info,
            era: options.era,
            capabilities: options.handler.capabilities(),
        };
        let mut client = Client {
            session: ClientSession::new(config),
            transport,
            handler: options.handler,
            inbox: VecDeque::new(),
            listens: HashSet::new(),
            ended: HashSet::new(),
        };
        match client.handshake() {
            Ok(()) => {
                tracing::debug!(version = ?client.session.version(), "connected");
                Ok(client)
            }
            Err(e) => Err((e, client.handler)),
        }
    }

    fn handshake(&mut self) -> Result<(), ClientError> {
        let mut out = self.session.handshake();
        loop {
            let answer = self.roundtrip(&out, &mut Watch::default())?;
            match self.session.on_handshake(answer)? {
                HandshakeStep::Send(next) => out = next,
                HandshakeStep::Ready { initialized } => {
                    if let Some(note) = initialized {
                        self.transport.send(&note)?;
                    }
                    self.transport.ready()?;
                    return Ok(());
                }
            }
        }
    }

    /// The protocol version in use.
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.session.version()
    }

    /// What the server said about itself.
    pub fn server(&self) -> &ServerInfo {
        self.session.server()
    }

    /// Send one message and wait for its answer, answering server requests meanwhile and
    /// keeping the notifications that arrive (progress of this call goes to `watch`).
    pub(crate) fn roundtrip(
        &mut self,
        out: &Outgoing,
        watch: &mut Watch<'_>,
    ) -> Result<Answer, ClientError> {
        let method = out.method.clone().unwrap_or_default();
        match self.transport.send_within(out, watch.limit()) {
            Ok(()) => {}
            Err(TransportError::Status { status, body }) => {
                tracing::debug!(status, body, "request refused");
                return Ok(Answer::Refused(Some(status)));
            }
            Err(TransportError::Http(e)) if e.is_timeout() && out.id.is_some() => {
                if let Some(id) = &out.id {
                    self.check(id, &method, watch)?;
                }
                return Err(TransportError::Http(e).into());
            }
            Err(e) => return Err(e.into()),
        }
        let Some(id) = &out.id else {
            return Ok(Answer::Result(Value::Null));
        };
        loop {
            let message = if watch.unwatched() {
                self.transport.recv()?
            } else {
                match self.transport.recv_timeout(watch.step())? {
                    Polled::Message(message) => Some(message),
                    Polled::Closed => None,
                    Polled::Quiet if self.transport.answer_possible() => {
                        self.check(id, &method, watch)?;
                        continue;
                    }
                    Polled::Quiet => None,
                }
            };
            let Some(message) = message else {
                return Err(ClientError::NoAnswer(method));
            };
            if let Some(r) = self.inbound(message, Some(watch))? {
                if r.id.as_ref().is_none_or(|r| r == id) {
                    return Ok(Answer::from_response(r));
                }
                self.stray_answer(r);
            }
            self.check(id, &method, watch)?;
        }
    }

    /// Give the request `id` up if its time is over or its caller cancelled it.
    fn check(
        &mut self,
        id: &RequestId,
        method: &str,
        watch: &Watch<'_>,
    ) -> Result<(), ClientError> {
        let Some(why) = watch.gave_up() else {
            return Ok(());
        };
        let reason = match why {
            GaveUp::TimedOut => "timed out",
            GaveUp::Cancelled => "cancelled by the caller",
        };
        tracing::debug!(method, reason, "giving a request up");
        let note = self.session.cancel(id, Some(reason));
        self.transport.send(&note)?;
        Err(match why {
            GaveUp::TimedOut => ClientError::TimedOut(method.to_owned()),
            GaveUp::Cancelled => ClientError::Cancelled(method.to_owned()),
        })
    }

    /// Handle one message from the server: answer its requests, keep its notifications (or hand
    /// the progress of a watched call to its watcher); an answer is returned to the caller.
    pub(crate) fn inbound(
        &mut self,
        message: Message,
        watch: Option<&mut Watch<'_>>,
    ) -> Result<Option<RpcResponse>, ClientError> {
        match message {
            Message::Response(r) => Ok(Some(r)),
            Message::Request(request) => {
                tracing::debug!(method = %request.method, "server request");
                let reply = self.session.answer_request(&request, self.handler.as_mut());
                self.transport.send(&reply)?;
                Ok(None)
            }
            Message::Notification(n) => {
                let notice = Notice::from_notification(&n);
                tracing::debug!(method = %notice.method, "server notification");
                let notice = match watch {
                    Some(watch) => match watch.progress(notice) {
                        Some(notice) => notice,
                        None => return Ok(None),
                    },
                    None => notice,
                };
                if self.inbox.len() >= MAX_INBOX {
                    tracing::warn!("no one takes the server's notifications; dropping the oldest");
                    self.inbox.pop_front();
                }
                self.inbox.push_back(notice);
                Ok(None)
            }
        }
    }

    /// An answer to no request waited for: the end of a listen stream, or a late answer.
    pub(crate) fn stray_answer(&mut self, r: RpcResponse) {
        match r.id {
            Some(id) if self.listens.remove(&id) => {
                tracing::debug!(?id, "the server ended a listen stream");
                self.session.forget(&id);
                self.ended.insert(id);
            }
            id => tracing::warn!(?id, "dropping an answer to no pending request"),
        }
    }

    /// Call any method; the result as the server sent it.
    pub fn request(&mut self, method: &str, params: Value) -> Result<Value, ClientError> {
        self.request_with(method, params, CallOptions::default())
    }

    /// Call any method, watched as `options` says (progress, timeout, cancellation).
    pub fn request_with(
        &mut self,
        method: &str,
        params: Value,
        options: CallOptions<'_>,
    ) -> Result<Value, ClientError> {
        let (params, token) = if options.on_progress.is_some() {
            let (params, token) = self.session.with_progress_token(params)?;
            (params, Some(token))
        } else {
            (params, None)
        };
        let mut watch = Watch::new(options, token);
        let out = self.session.call(method, params)?;
        self.drive(out, &mut watch)
    }

    /// Drive a started call to its end: retries and input rounds as the session says.
    pub(crate) fn drive(
        &mut self,
        mut out: Outgoing,
        watch: &mut Watch<'_>,
    ) -> Result<Value, ClientError> {
        loop {
            let id = out.id.clone();
            let answer = match self.roundtrip(&out, watch) {
                Ok(answer) => answer,
                Err(e) => {
                    if let Some(id) = &id {
                        self.session.forget(id);
                    }
                    return Err(e);
                }
            };
            let Some(id) = id else {
                return Ok(Value::Null);
            };
            match self.session.on_answer(&id, answer, self.handler.as_mut())? {
                CallStep::Send(next) => out = next,
                CallStep::Done(result) => return Ok(result),
            }
        }
    }

    /// Send a notification.
    pub fn notify(&mut self, method: &str, params: &Value) -> Result<(), ClientError> {
        let out = self.session.notification(method, params);
        self.transport.send(&out)?;
        Ok(())
    }

    /// Every item of a paginated list (`key` names the array in each page).
    pub fn list_all(&mut self, method: &str, key: &str) -> Result<Vec<Value>, ClientError> {
        self.paged(method, key, false)
    }

    /// Every item of a paginated list; `tasks` declares the tasks extension on each page.
    pub(crate) fn paged(
        &mut self,
        method: &str,
        key: &str,
        tasks: bool,
    ) -> Result<Vec<Value>, ClientError> {
        let mut pages = Pages::new(key);
        while let Some(params) = pages.next_params() {
            let page = if tasks {
                let out = self.session.task_request(method, Value::Object(params))?;
                self.drive(out, &mut Watch::default())?
            } else {
                self.request(method, Value::Object(params))?
            };
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
    pub fn list_tools(&mut self) -> Result<Vec<Value>, ClientError> {
        let tools = self.list_all("tools/list", "tools")?;
        let (kept, dropped) = self.session.accept_tools(tools);
        for (name, why) in dropped {
            tracing::warn!(tool = %name, %why, "ignoring a tool with invalid x-mcp-header annotations");
        }
        Ok(kept)
    }

    /// `tools/call`.
    pub fn call_tool(&mut self, name: &str, arguments: Value) -> Result<Value, ClientError> {
        self.request(
            "tools/call",
            json!({ "name": name, "arguments": arguments }),
        )
    }

    /// `resources/list`, every page.
    pub fn list_resources(&mut self) -> Result<Vec<Value>, ClientError> {
        self.list_all("resources/list", "resources")
    }

    /// `resources/read`.
    pub fn read_resource(&mut self, uri: &str) -> Result<Value, ClientError> {
        self.request("resources/read", json!({ "uri": uri }))
    }

    /// `prompts/list`, every page.
    pub fn list_prompts(&mut self) -> Result<Vec<Value>, ClientError> {
        self.list_all("prompts/list", "prompts")
    }

    /// `prompts/get`.
    pub fn get_prompt(&mut self, name: &str, arguments: Value) -> Result<Value, ClientError> {
        let mut params = json!({ "name": name });
        if !arguments.is_null() {
            params["arguments"] = arguments;
        }
        self.request("prompts/get", params)
    }

    /// End the session.
    pub fn close(mut self) -> Result<(), ClientError> {
        self.transport.close()?;
        Ok(())
    }
}
