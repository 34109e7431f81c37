//! The shard's table of legacy sessions (Streamable HTTP `Mcp-Session-Id` sessions and 2024-11-05
//! `/sse` sessions): opening one (the single place a session is created, for both transports),
//! looking one up for a principal, and closing idle or deleted ones. What a session's requests
//! mean is the MCP engine's business; the HTTP endpoints that use sessions live in `legacy` and
//! `legacy_sse`.

use super::exchange::Exchange;
use super::replay::ReplayStream;
use super::router::HttpService;
use crate::auth::Principal;
use crate::service::{ids, now_ms, Durable, Outlet, Session};
use crate::store::StoreError;
use ringmcp_proto::framing::http::HttpRequest;
use ringmcp_proto::jsonrpc::{code, ErrorObject};
use ringmcp_proto::streamable_http::SESSION_HEADER;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A legacy session held by this shard.
pub(super) struct HttpSession {
    pub(super) session: Rc<Session>,
    pub(super) last_seen: Cell<Instant>,
    /// When the session store was last told the session is in use.
    touched: Cell<Instant>,
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
    ) -> Result<(String, Rc<HttpSession>, T), NotOpened> {
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
        let Some(id) = self.mint_session_id() else {
            return Err((500, ErrorObject::internal("no randomness for a session id")));
        };
        let (transport, extra) = transport();
        let (notify, replay, stream): (Rc<dyn Outlet>, _, _) = match transport {
            Transport::Streamable => {
                let replay = Rc::new(ReplayStream::new(&id, self.events.clone()));
                (replay.clone(), Some(replay), None)
            }
            Transport::Sse(stream) => (stream.clone(), None, Some(stream)),
        };
        let durable = Durable {
            store: self.store.clone(),
            id: Rc::from(id.as_str()),
            principal: principal.cloned(),
        };
        let hs = HttpSession {
            session: Rc::new(Session::stored(Some(notify), durable)),
            last_seen: Cell::new(Instant::now()),
            touched: Cell::new(Instant::now()),
            replay,
            sse_transport: stream.is_some(),
            stream: RefCell::new(stream),
            principal: principal.cloned(),
        };
        Ok((id, Rc::new(hs), extra))
    }

    /// Put an opened session in the table.
    pub(super) fn insert_session(&self, id: String, hs: Rc<HttpSession>) {
        self.sessions.borrow_mut().insert(id, hs);
        self.sessions_changed();
    }

    fn expire_idle(&self) {
        let now = Instant::now();
        let idle = self.config.session_idle;
        let expired: Vec<String> = self
            .sessions
            .borrow()
            .iter()
            .filter(|(_, s)| {
                let streaming = s.stream.borrow().as_ref().is_some_and(|e| !e.is_done())
                    || s.replay.as_ref().is_some_and(|r| r.current().is_some());
                !streaming && now.duration_since(s.last_seen.get()) > idle
            })
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            tracing::debug!(session = %&id[..8.min(id.len())], "session expired");
            self.remove_session(&id);
        }
    }

    fn sessions_changed(&self) {
        self.engine
            .shard()
            .metrics
            .sessions
            .set(self.sessions.borrow().len() as u64);
    }

    pub(super) fn remove_session(&self, id: &str) -> bool {
        let Some(s) = self.sessions.borrow_mut().remove(id) else {
            return false;
        };
        self.sessions_changed();
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

    fn mint_session_id(&self) -> Option<String> {
        ids::mint(None, self.shard)
    }

    pub(super) fn session_of(
        &self,
        req: &HttpRequest,
        principal: Option<&Principal>,
    ) -> Result<Rc<HttpSession>, Miss> {
        let id = req.header(SESSION_HEADER).ok_or(Miss::NoId)?;
        self.session(id, principal)
    }

    /// The session named `id`, if `principal` may use it (see [`HttpSession::usable_by`]): from
    /// this shard's table, or loaded from the session store on a miss. Marks it used now.
    pub(super) fn session(
        &self,
        id: &str,
        principal: Option<&Principal>,
    ) -> Result<Rc<HttpSession>, Miss> {
        let held = self.sessions.borrow().get(id).cloned();
        if let Some(hs) = held {
            if !hs.usable_by(principal) {
                return Err(Miss::NotFound);
            }
            let now = Instant::now();
            hs.last_seen.set(now);
            // Keep the stored session alive, at most once a second per session.
            if now.duration_since(hs.touched.get()) >= Duration::from_secs(1) {
                hs.touched.set(now);
                self.store.touch(id, now_ms());
            }
            return Ok(hs);
        }
        let record = match self.store.load(id).now() {
            Ok(Ok(Some(record))) => record,
            Ok(Ok(None)) => return Err(Miss::NotFound),
            Ok(Err(e)) => return Err(Miss::Store(e)),
            // Requests are routed synchronously; a store that answers later needs them to wait
            // for it, which the cluster mode brings. Until then such a store is not usable here.
            Err(_later) => {
                return Err(Miss::Store(StoreError::Unavailable(
                    "the session store cannot answer at once".into(),
                )))
            }
        };
        if record.principal.as_deref() != principal.map(|p| &**p) {
            return Err(Miss::NotFound);
        }
        let replay = Rc::new(ReplayStream::new(id, self.events.clone()));
        let notify: Rc<dyn Outlet> = replay.clone();
        let durable = Durable {
            store: self.store.clone(),
            id: Rc::from(id),
            principal: principal.cloned(),
        };
        let session = Rc::new(Session::restore(Some(notify), durable, record));
        for uri in session.subscriptions.borrow().iter() {
            self.engine.shard().subscribe(uri, &session);
        }
        let hs = Rc::new(HttpSession {
            session,
            last_seen: Cell::new(Instant::now()),
            touched: Cell::new(Instant::now()),
            replay: Some(replay),
            sse_transport: false,
            stream: RefCell::new(None),
            principal: principal.cloned(),
        });
        tracing::debug!(session = %&id[..8.min(id.len())], "session loaded from the store");
        self.insert_session(id.to_owned(), hs.clone());
        Ok(hs)
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

/// Why a request got no session.
pub(super) enum Miss {
    /// No `Mcp-Session-Id`.
    NoId,
    /// No such session for this principal.
    NotFound,
    /// The session store could not answer.
    Store(StoreError),
}
