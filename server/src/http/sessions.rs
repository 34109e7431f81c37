//! The shard's table of legacy sessions (Streamable HTTP `Mcp-Session-Id` sessions and 2024-11-05
//! `/sse` sessions): opening one (the single place a session is created, for both transports),
//! looking one up for a principal, and closing idle or deleted ones. What a session's requests
//! mean is the MCP engine's business; the HTTP endpoints that use sessions live in `legacy` and
//! `legacy_sse`.

use super::exchange::Exchange;
use super::replay::ReplayStream;
use super::router::HttpService;
use crate::auth::Principal;
use crate::service::{ids, now_ms, ClientAnswer, Durable, Outlet, Session};
use crate::store::{SessionRecord, StoreError};
use ringmcp_proto::framing::http::HttpRequest;
use ringmcp_proto::jsonrpc::{code, ErrorObject, RequestId};
use ringmcp_proto::streamable_http::SESSION_HEADER;
use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A legacy session held by this shard.
pub(super) struct HttpSession {
    pub(super) session: Rc<Session>,
    pub(super) last_seen: Cell<Instant>,
    /// When the session store was last told the session is in use.
    touched: Cell<Instant>,
    /// The store's generation when this copy was loaded or made (see
    /// [`SessionStore::generation`](crate::store::SessionStore::generation)).
    loaded_at: Cell<u64>,
    /// Unsolicited messages: numbered, kept for `Last-Event-ID`, sent on the GET stream if open.
    pub(super) replay: Option<Rc<ReplayStream>>,
    /// The 2024-11-05 `/sse` stream (answers and notifications travel on it).
    pub(super) stream: RefCell<Option<Rc<Exchange>>>,
    /// A 2024-11-05 HTTP+SSE session: answers go on the stream.
    pub(super) sse_transport: bool,
    /// The principal that created the session; only it may use the session id.
    principal: Option<Principal>,
}

impl HttpSession {
    /// Whether `principal` may use this session. A session id presented by anyone else is
    /// answered as unknown (404), so ids of other principals cannot even be probed.
    fn usable_by(&self, principal: Option<&Principal>) -> bool {
        self.principal.as_deref() == principal.map(|p| &**p)
    }
}

/// The transport a new session speaks.
pub(super) enum Transport {
    /// Streamable HTTP: answers on each POST's response; unsolicited messages are numbered for a
    /// GET stream and `Last-Event-ID` resumption.
    Streamable,
    /// 2024-11-05 HTTP+SSE: answers and notifications all travel on this `/sse` stream.
    Sse(Rc<Exchange>),
}

/// Why no session was opened: the HTTP status and the JSON-RPC error to answer with.
pub(super) type NotOpened = (u16, ErrorObject);

impl HttpService {
    /// Close idle sessions every quarter of the idle limit (between 50 ms and 5 s).
    pub(super) fn spawn_expiry(self: &Rc<Self>) {
        let weak = Rc::downgrade(self);
        let every =
            (self.config.session_idle / 4).clamp(Duration::from_millis(50), Duration::from_secs(5));
        glommio::spawn_local(async move {
            loop {
                glommio::timer::sleep(every).await;
                let Some(this) = weak.upgrade() else { break };
                this.expire_idle();
            }
        })
        .detach();
    }

    /// Open a session for `principal` under a fresh id, not yet in the table (see
    /// [`Self::insert_session`]). Refused with 503 at the shard's session limit, 500 without
    /// randomness for the id. `transport` runs only once the session will be opened (a `/sse`
    /// stream writes its head when made); what it returns besides the transport comes back.
    pub(super) fn open_session<T>(
        &self,
        principal: Option<&Principal>,
        transport: impl FnOnce() -> (Transport, T),
    ) -> Result<(Rc<str>, Rc<HttpSession>, T), NotOpened> {
        if self.sessions.borrow().len() >= self.config.max_sessions {
            tracing::warn!(
                limit = self.config.max_sessions,
                "session refused: shard at its session limit"
            );
            return Err((
                503,
                ErrorObject::new(code::SERVER_BUSY, "too many sessions"),
            ));
        }
        let Some(id) = self.mint_session_id().map(Rc::<str>::from) else {
            return Err((500, ErrorObject::internal("no randomness for a session id")));
        };
        let (transport, extra) = transport();
        let (notify, replay, stream): (Rc<dyn Outlet>, _, _) = match transport {
            Transport::Streamable => {
                let replay = Rc::new(ReplayStream::new(id.clone(), self.replay.clone()));
                (replay.clone(), Some(replay), None)
            }
            Transport::Sse(stream) => (stream.clone(), None, Some(stream)),
        };
        let durable = Durable::new(self.store.clone(), id.clone(), principal.cloned())
            .relayed(self.relay.clone());
        let hs = HttpSession {
            session: Rc::new(Session::stored(Some(notify), durable)),
            last_seen: Cell::new(Instant::now()),
            touched: Cell::new(Instant::now()),
            loaded_at: Cell::new(self.store.generation()),
            replay,
            sse_transport: stream.is_some(),
            stream: RefCell::new(stream),
            principal: principal.cloned(),
        };
        Ok((id, Rc::new(hs), extra))
    }

    /// Put an opened session in the table.
    pub(super) fn insert_session(&self, id: Rc<str>, hs: Rc<HttpSession>) {
        self.sessions.borrow_mut().insert(id, hs);
        self.sessions_changed();
    }

    fn expire_idle(&self) {
        let now = Instant::now();
        let idle = self.config.session_idle;
        // One pass: a session past the idle limit expires; one merely quiet for a second gives
        // its spare memory back.
        let mut expired = Vec::new();
        for (id, s) in self.sessions.borrow().iter() {
            let quiet = now.duration_since(s.last_seen.get());
            let streaming = s.stream.borrow().as_ref().is_some_and(|e| !e.is_done())
                || s.replay.as_ref().is_some_and(|r| r.current().is_some());
            if !streaming && quiet > idle {
                expired.push(id.clone());
            } else if quiet > Duration::from_secs(1) {
                s.session.release_idle();
            }
        }
        for id in expired {
            tracing::debug!(session = %short(&id), "session expired");
            // Only this copy: in a cluster the session may be in use through other nodes, and
            // the store expires it by its own time to live.
            self.drop_session(&id);
        }
    }

    fn sessions_changed(&self) {
        self.engine
            .shard()
            .metrics
            .sessions
            .set(self.sessions.borrow().len() as u64);
    }

    /// End this shard's copy of a session: its streams end, its requests are cancelled. The
    /// stored session is the caller's business.
    pub(super) fn drop_session(&self, id: &str) -> bool {
        let Some(s) = self.sessions.borrow_mut().remove(id) else {
            return false;
        };
        self.sessions_changed();
        s.session.close();
        if let Some(stream) = s.stream.borrow_mut().take() {
            stream.finish();
        }
        if let Some(replay) = &s.replay {
            if let Some(stream) = replay.current() {
                stream.finish();
            }
            replay.remove();
        }
        true
    }

    /// The store says this shard's copy of session `id` went stale: a copy with its GET stream
    /// open is loaded again now, so that what changed elsewhere (a subscription made through
    /// another node) holds on the stream before the client's next request.
    pub(super) fn refresh_streaming(self: &Rc<Self>, id: &str) {
        let held = self.sessions.borrow().get(id).cloned();
        let Some(hs) = held else { return };
        if hs.replay.as_ref().is_none_or(|r| r.current().is_none()) {
            return;
        }
        if let Found::Later(wait) = self.session(id, hs.principal.as_ref()) {
            glommio::spawn_local(async move {
                let _ = wait.await;
            })
            .detach();
        }
    }

    /// A client's answer relayed from another node, for a request this shard sent.
    pub(crate) fn relayed_answer(&self, id: &str, request: &RequestId, answer: ClientAnswer) {
        let held = self.sessions.borrow().get(id).cloned();
        let delivered = held.is_some_and(|hs| hs.session.relayed_answer(request, answer));
        if !delivered {
            tracing::debug!(session = %short(id), "relayed answer for no request of this shard");
        }
    }

    /// The client cancelled request `request` of session `id` through another node.
    pub(crate) fn relayed_cancel(&self, id: &str, request: &RequestId) {
        let held = self.sessions.borrow().get(id).cloned();
        if let Some(hs) = held {
            hs.session.cancel(request);
        }
    }

    /// Forget a stored session (its `/sse` stream ended), without waiting.
    pub(super) fn forget_stored(&self, id: &str) {
        match self.store.remove(id).now() {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "stored session not removed"),
            Err(later) => {
                glommio::spawn_local(async move {
                    if let Err(e) = later.await {
                        tracing::warn!(error = %e, "stored session not removed");
                    }
                })
                .detach();
            }
        }
    }

    fn mint_session_id(&self) -> Option<String> {
        ids::mint(self.node.as_deref(), self.shard)
    }

    /// The session a request names in `Mcp-Session-Id` (see [`Self::session`]).
    pub(super) fn session_of(
        self: &Rc<Self>,
        req: &HttpRequest,
        principal: Option<&Principal>,
    ) -> Found {
        match req.header(SESSION_HEADER) {
            Some(id) => self.session(id, principal),
            None => Found::Now(Err(Miss::NoId)),
        }
    }

    /// The session named `id`, if `principal` may use it (see [`HttpSession::usable_by`]): from
    /// this shard's table, or loaded from the session store on a miss, or loaded again when the
    /// store says the copy went stale (changed or deleted through another node). Marks it used.
    pub(super) fn session(self: &Rc<Self>, id: &str, principal: Option<&Principal>) -> Found {
        let held = self.sessions.borrow().get(id).cloned();
        let Some(hs) = held else {
            return self.load(id, principal, None);
        };
        if !hs.usable_by(principal) {
            return Found::Now(Err(Miss::NotFound));
        }
        let at = hs.loaded_at.get();
        if at != self.store.generation() && self.store.stale(id, at) {
            return self.load(id, principal, Some(hs));
        }
        self.mark_used(id, &hs);
        Found::Now(Ok(hs))
    }

    /// A session only this shard's table holds (a 2024-11-05 session, whose stream is here).
    pub(super) fn held_session(
        &self,
        id: &str,
        principal: Option<&Principal>,
    ) -> Result<Rc<HttpSession>, Miss> {
        let hs = self.sessions.borrow().get(id).cloned();
        match hs {
            Some(hs) if hs.usable_by(principal) => {
                self.mark_used(id, &hs);
                Ok(hs)
            }
            _ => Err(Miss::NotFound),
        }
    }

    fn mark_used(&self, id: &str, hs: &HttpSession) {
        let now = Instant::now();
        hs.last_seen.set(now);
        // Keep the stored session alive, as often as the store finds it worth it.
        if now.duration_since(hs.touched.get()) >= self.store.touch_every() {
            hs.touched.set(now);
            self.store.touch(id, now_ms());
        }
    }

    /// Load session `id` from the store (`copy`: the stale copy the table holds).
    fn load(
        self: &Rc<Self>,
        id: &str,
        principal: Option<&Principal>,
        copy: Option<Rc<HttpSession>>,
    ) -> Found {
        match self.store.load(id).now() {
            Ok(result) => Found::Now(self.loaded(id, principal, copy, result)),
            Err(later) => {
                let this = self.clone();
                let id = id.to_owned();
                let principal = principal.cloned();
                Found::Later(Box::pin(async move {
                    let result = later.await;
                    this.loaded(&id, principal.as_ref(), copy, result)
                }))
            }
        }
    }

    fn loaded(
        &self,
        id: &str,
        principal: Option<&Principal>,
        copy: Option<Rc<HttpSession>>,
        result: Result<Option<SessionRecord>, StoreError>,
    ) -> Result<Rc<HttpSession>, Miss> {
        let record = match result {
            Ok(Some(record)) => record,
            Ok(None) => {
                if copy.is_some() {
                    // Deleted (or expired) through another node: this copy ends too.
                    tracing::debug!(session = %short(id), "session gone from the store");
                    self.drop_session(id);
                }
                return Err(Miss::NotFound);
            }
            Err(e) => return Err(Miss::Store(e)),
        };
        if record.principal.as_deref() != principal.map(|p| &**p) {
            return Err(Miss::NotFound);
        }
        let generation = self.store.generation();
        if let Some(hs) = copy {
            hs.session.refresh(record, self.engine.shard());
            hs.loaded_at.set(generation);
            self.mark_used(id, &hs);
            return Ok(hs);
        }
        // Another request may have loaded it while this one waited.
        let raced = self.sessions.borrow().get(id).cloned();
        if let Some(hs) = raced {
            self.mark_used(id, &hs);
            return Ok(hs);
        }
        let id: Rc<str> = Rc::from(id);
        let replay = Rc::new(ReplayStream::new(id.clone(), self.replay.clone()));
        let notify: Rc<dyn Outlet> = replay.clone();
        let durable = Durable::new(self.store.clone(), id.clone(), principal.cloned())
            .relayed(self.relay.clone());
        let session = Rc::new(Session::restore(Some(notify), durable, record));
        for uri in session.subscriptions.borrow().iter() {
            self.engine.shard().subscribe(uri, &session);
        }
        self.engine.watch_lists(&session);
        let hs = Rc::new(HttpSession {
            session,
            last_seen: Cell::new(Instant::now()),
            touched: Cell::new(Instant::now()),
            loaded_at: Cell::new(generation),
            replay: Some(replay),
            sse_transport: false,
            stream: RefCell::new(None),
            principal: principal.cloned(),
        });
        tracing::debug!(session = %short(&id), "session loaded from the store");
        self.insert_session(id, hs.clone());
        Ok(hs)
    }

    /// Run `then` with the session `found` names once it is had, on `ex`; answer `ex` with the
    /// miss if it cannot be had. Returns `ex`, the connection's pending response either way.
    pub(super) fn with_session(
        found: Found,
        ex: Rc<Exchange>,
        then: impl FnOnce(Rc<HttpSession>, Rc<Exchange>) + 'static,
    ) -> Rc<Exchange> {
        match found {
            Found::Now(Ok(hs)) => {
                then(hs, ex.clone());
                ex
            }
            Found::Now(Err(miss)) => Self::miss(ex, miss),
            Found::Later(wait) => {
                let reply = ex.clone();
                glommio::spawn_local(async move {
                    let found = wait.await;
                    // The client may have left while the store answered.
                    if reply.is_done() {
                        return;
                    }
                    match found {
                        Ok(hs) => then(hs, reply),
                        Err(miss) => {
                            Self::miss(reply, miss);
                        }
                    }
                })
                .detach();
                ex
            }
        }
    }

    /// The answer for a request whose session could not be had: 400 without an id, 404 for an
    /// unknown one (the client's cue to initialize again), 503 with -32000 when the store cannot
    /// tell (never a 404 that would make a client drop a live session).
    pub(super) fn miss(ex: Rc<Exchange>, miss: Miss) -> Rc<Exchange> {
        match miss {
            Miss::NoId => Self::error(
                ex,
                400,
                None,
                ErrorObject::invalid_request("Bad Request: Mcp-Session-Id header is required"),
            ),
            Miss::NotFound => Self::error(
                ex,
                404,
                None,
                ErrorObject::invalid_request("Session not found"),
            ),
            Miss::Store(e) => {
                tracing::warn!(error = %e, "session lookup failed");
                Self::error(
                    ex,
                    503,
                    None,
                    ErrorObject::new(code::SERVER_BUSY, e.to_string()),
                )
            }
        }
    }
}

/// A session lookup's answer: at once (the table held a current copy, or the store answered at
/// once), or once the store replies.
pub(super) enum Found {
    /// The answer.
    Now(Result<Rc<HttpSession>, Miss>),
    /// The answer, once the store has replied.
    Later(Pin<Box<dyn Future<Output = Result<Rc<HttpSession>, Miss>>>>),
}

/// The first characters of a session id, enough for a log line (the id is a bearer secret).
fn short(id: &str) -> &str {
    &id[..8.min(id.len())]
}

/// Why a request got no session.
pub(super) enum Miss {
    /// No `Mcp-Session-Id`.
    NoId,
    /// No such session for this principal.
    NotFound,
    /// The session store could not answer.
    Store(StoreError),
}
