//! [`Engine`]: one shard's protocol engine in memory, the quinn way: no socket, no net ring, no
//! sleep. A [`Client`] is a session (as a TCP or stdio connection has) whose messages go straight
//! into the engine and whose outlet captures what the engine writes, in order. Run it inside
//! [`crate::executor::run`]; handler tasks run on that executor when a client awaits an answer.
//!
//! ```
//! use ringmcp_testkit::{engine::Engine, executor, expect, msg};
//! executor::run(|| async {
//!     let engine = Engine::new(ringmcp_testkit::engine::echo_registry());
//!     let client = engine.client();
//!     let answer = client.request(msg::call(7, "echo").args(serde_json::json!({"text": "hi"})).stateless()).await;
//!     assert_eq!(expect::text(&expect::result(&answer, 7)), "hi");
//! });
//! ```

use crate::msg::Msg;
use futures_lite::future;
use ringmcp::internals::{
    EventFd, Limits, McpService, MsgKind, Outlet, Session, ShardCtx, ShardSignal,
};
use ringmcp::proto::framing::Frame;
use ringmcp::proto::seal::KeyRing;
use ringmcp::proto::types::CallToolResult;
use ringmcp::{HandlerError, Registry, ServerBuilder};
use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Poll, Waker};
use std::time::Duration;

/// How long a client waits for a message before the test fails.
pub const WAIT: Duration = Duration::from_secs(5);

/// An engine serving one registry on a shard of its own.
pub struct Engine {
    service: Rc<McpService>,
}

impl Engine {
    /// An engine with default limits.
    pub fn new(registry: Registry) -> Self {
        Self::with_limits(registry, Limits::default())
    }

    /// An engine with the given limits.
    pub fn with_limits(registry: Registry, limits: Limits) -> Self {
        let wake = EventFd::new().unwrap_or_else(|e| panic!("eventfd: {e}"));
        let signal = Rc::new(ShardSignal::new(Arc::new(wake)));
        let shard = Rc::new(ShardCtx::new(0, signal));
        let keys = KeyRing::single(&[0x5a; 32]).unwrap_or_else(|e| panic!("{e}"));
        Engine {
            service: Rc::new(McpService::new(Arc::new(registry), limits, shard, keys)),
        }
    }

    /// A new client: a session of its own, as one line connection (TCP, stdio) has.
    pub fn client(&self) -> Client {
        self.client_with(Session::connection)
    }

    /// A new client whose session is not a connection's, as HTTP sessions are (the HTTP layer
    /// limits their clients by address, so the engine does not).
    pub fn http_client(&self) -> Client {
        self.client_with(|outlet| Session::new(Some(outlet)))
    }

    /// A new client whose session lives for its requests, as a 2026-07-28 HTTP request's does,
    /// and whose requests come from `principal` (none when auth is off): the request states it
    /// is answered with are bound to that principal.
    pub fn request_client(&self, principal: Option<&str>) -> Client {
        let principal = principal.map(Arc::from);
        self.client_with(move |_outlet| Session::request(principal))
    }

    fn client_with(&self, session: impl FnOnce(Rc<dyn Outlet>) -> Session) -> Client {
        let capture = Rc::new(Capture::default());
        let outlet: Rc<dyn Outlet> = capture.clone();
        Client {
            service: self.service.clone(),
            session: Rc::new(session(outlet.clone())),
            outlet,
            capture,
        }
    }

    /// Requests running on the engine's shard.
    pub fn inflight(&self) -> usize {
        self.service.shard().inflight()
    }
}

/// What the engine wrote to one client, in order.
#[derive(Default)]
struct Capture {
    messages: RefCell<VecDeque<Value>>,
    waker: RefCell<Option<Waker>>,
    closed: Cell<bool>,
}

impl Outlet for Capture {
    fn send(&self, _kind: MsgKind, write: &mut dyn FnMut(&mut Vec<u8>)) {
        let mut bytes = Vec::new();
        write(&mut bytes);
        let message = serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            panic!(
                "the engine wrote something that is not JSON ({e}): {}",
                String::from_utf8_lossy(&bytes)
            )
        });
        self.messages.borrow_mut().push_back(message);
        if let Some(waker) = self.waker.borrow_mut().take() {
            waker.wake();
        }
    }

    fn is_closed(&self) -> bool {
        self.closed.get()
    }
}

/// One client of an [`Engine`].
pub struct Client {
    service: Rc<McpService>,
    session: Rc<Session>,
    outlet: Rc<dyn Outlet>,
    capture: Rc<Capture>,
}

impl Client {
    /// Send one message (the engine handles it at once; handler tasks start).
    pub fn send(&self, message: impl Into<Value>) {
        let bytes = serde_json::to_vec(&message.into()).unwrap_or_default();
        self.send_line(&bytes);
    }

    /// Send one line as it is (without its newline), to send malformed input.
    pub fn send_line(&self, line: &[u8]) {
        self.service
            .on_frame(&self.session, &self.outlet, Frame::Line(line));
    }

    /// The next message the engine wrote to this client, waiting up to [`WAIT`].
    pub async fn next(&self) -> Value {
        let waited = future::or(async { Some(self.next_message().await) }, async {
            glommio::timer::sleep(WAIT).await;
            None
        })
        .await;
        waited.unwrap_or_else(|| panic!("no message within {WAIT:?}"))
    }

    async fn next_message(&self) -> Value {
        future::poll_fn(|cx| match self.capture.messages.borrow_mut().pop_front() {
            Some(message) => Poll::Ready(message),
            None => {
                *self.capture.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// Whatever the engine has written and the client has not read yet, without waiting.
    pub fn drain(&self) -> Vec<Value> {
        self.capture.messages.borrow_mut().drain(..).collect()
    }

    /// Send a request and wait for its answer (messages before it, notifications, are kept
    /// for [`Client::next`]).
    pub async fn request(&self, message: Msg) -> Value {
        let message = message.value();
        let id = message["id"].clone();
        self.send(message);
        let mut before = Vec::new();
        loop {
            let got = self.next().await;
            if got["id"] == id && got.get("method").is_none() {
                let mut queue = self.capture.messages.borrow_mut();
                for m in before.into_iter().rev() {
                    queue.push_front(m);
                }
                return got;
            }
            before.push(got);
        }
    }

    /// `initialize` at `version` and `notifications/initialized`; returns the initialize result.
    pub async fn initialize(&self, version: &str) -> Value {
        let answer = self.request(crate::msg::initialize(0, version)).await;
        self.send(crate::msg::initialized());
        crate::expect::result(&answer, 0)
    }

    /// Requests of this client in flight.
    pub fn inflight(&self) -> usize {
        self.session.inflight()
    }

    /// The connection went away: cancel what it has in flight, drop what it would be sent.
    pub fn close(&self) {
        self.capture.closed.set(true);
        self.session.close();
    }
}

/// A registry with an `echo` tool (`{"text"}` back as text) and a `sleep` tool that waits
/// `{"ms"}` milliseconds, enough for most engine tests.
pub fn echo_registry() -> Registry {
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Echo {
        text: String,
    }
    #[derive(serde::Deserialize, schemars::JsonSchema)]
    struct Sleep {
        ms: u64,
    }
    ServerBuilder::new("ringmcp-testkit", "1.0.0")
        .tool("echo", "Echoes its text", |_ctx, a: Echo| async move {
            Ok::<_, HandlerError>(CallToolResult::text(a.text))
        })
        .tool(
            "sleep",
            "Waits, then answers",
            |_ctx, a: Sleep| async move {
                glommio::timer::sleep(Duration::from_millis(a.ms)).await;
                Ok::<_, HandlerError>(CallToolResult::text("slept"))
            },
        )
        .build()
        .unwrap_or_else(|e| panic!("the test registry is invalid: {e}"))
}
