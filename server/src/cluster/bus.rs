//! [`Bus`]: what one node tells the others, over Redis pub/sub on each shard's link (RESP3 lets a
//! connection subscribe and still run commands). Two kinds of message:
//!
//! - notices (a resource changed) are stored in the cluster's log and published, with their
//!   position, on `<prefix>:bus` (see `notices.rs`), which every shard of every node hears, its
//!   own node's included; a shard delivers each to its own subscribers and listeners, once:
//!   positions only grow, and one at or below the last heard is dropped. After a reconnect the
//!   shard reads the notices it missed from the log before it hears new ones, so a notice
//!   published while its connection was down still arrives, in order;
//! - cancellations (`notifications/cancelled` for a request no shard of the receiving node
//!   runs) travel the same way, and the shard holding the session cancels it if it runs there;
//! - a client's answer to a request another node sent (elicitation, sampling, roots) goes to
//!   `<prefix>:bus:<node>:<shard>`, the channel of the shard that awaits it, named by the
//!   request's id, and so does a 2024-11-05 `POST /messages` for a stream another node holds
//!   (its session id names that node and shard).
//!
//! Everything but notices is delivered at most once: a message published while a link is down is
//! lost (a request that awaited an answer times out as it would without one). The bus carries bytes between shards
//! of different nodes; what a notice or an answer means stays with the shard and the HTTP layer.

use super::link::RedisLink;
use super::notices::{self, RedisNoticeLog};
use super::resp::{Cmd, Reply};
use crate::service::{ClientAnswer, Relay};
use crate::store::{LogPos, LoggedNotice, Notice, NoticeLog};
use ringmcp_proto::jsonrpc::{ErrorObject, RequestId};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::cell::{Cell, RefCell};
use std::rc::Rc;

/// Notices read from the log per command while catching up.
const CATCH_UP_PAGE: usize = 1000;

/// Hears notices, with their place in the log.
type NoticeListener = Box<dyn Fn(&Notice, LogPos)>;

/// Hears answers relayed to this shard: the session's id, the request's id, the answer.
type AnswerListener = Box<dyn Fn(&str, &RequestId, ClientAnswer)>;

/// Hears cancellations from other nodes: the session's id, the cancelled request's id.
type CancelListener = Box<dyn Fn(&str, &RequestId)>;

/// Hears 2024-11-05 messages posted through other nodes: the session's id, who posted, the body.
type PostListener = Box<dyn Fn(&str, Option<&str>, &[u8])>;

/// One shard's end of the bus.
pub(crate) struct Bus {
    link: Rc<RedisLink>,
    /// `<prefix>:bus`.
    all: String,
    /// `<prefix>:bus:`, to which an origin is appended.
    direct: String,
    node: String,
    /// `<node>:<shard>`.
    origin: String,
    log: Rc<RedisNoticeLog>,
    /// The newest notice delivered (`None` until the log's newest position is known).
    seen: Cell<Option<LogPos>>,
    /// While the missed notices are read after a reconnect: those heard meanwhile.
    catching_up: RefCell<Option<Vec<LoggedNotice>>>,
    /// Which reconnect the running catch-up is for (a newer one takes over its buffer).
    catch_ups: Cell<u64>,
    on_notice: RefCell<Option<NoticeListener>>,
    on_answer: RefCell<Option<AnswerListener>>,
    on_cancel: RefCell<Option<CancelListener>>,
    on_post: RefCell<Option<PostListener>>,
}

impl Bus {
    /// The channel every shard of every node hears, under `prefix`.
    pub(crate) fn channel(prefix: &str) -> String {
        format!("{prefix}:bus")
    }

    /// Shard `shard` of node `node`, on `link`, hearing notices of `log`: subscribes, and
    /// catches up on the log, at every (re)connection.
    pub(crate) fn new(
        link: Rc<RedisLink>,
        log: Rc<RedisNoticeLog>,
        prefix: &str,
        node: &str,
        shard: usize,
    ) -> Rc<Self> {
        let bus = Rc::new(Bus {
            link: link.clone(),
            all: Self::channel(prefix),
            direct: format!("{prefix}:bus:"),
            node: node.to_string(),
            origin: format!("{node}:{shard}"),
            log,
            seen: Cell::new(None),
            catching_up: RefCell::new(None),
            catch_ups: Cell::new(0),
            on_notice: RefCell::new(None),
            on_answer: RefCell::new(None),
            on_cancel: RefCell::new(None),
            on_post: RefCell::new(None),
        });
        let weak = Rc::downgrade(&bus);
        link.on_up(move || {
            if let Some(bus) = weak.upgrade() {
                let mine = format!("{}{}", bus.direct, bus.origin);
                bus.link
                    .send_only(&[Cmd::new("SUBSCRIBE").arg(&bus.all).arg(mine)]);
                bus.catch_up();
            }
        });
        let weak = Rc::downgrade(&bus);
        link.on_push(move |items| {
            if let Some(bus) = weak.upgrade() {
                bus.heard(items);
            }
        });
        bus
    }

    /// Hear the notices of every node, each once, in the log's order.
    pub(crate) fn on_notice(&self, f: impl Fn(&Notice, LogPos) + 'static) {
        *self.on_notice.borrow_mut() = Some(Box::new(f));
    }

    /// Hear answers relayed to this shard.
    pub(crate) fn on_answer(&self, f: impl Fn(&str, &RequestId, ClientAnswer) + 'static) {
        *self.on_answer.borrow_mut() = Some(Box::new(f));
    }

    /// Hear cancellations of requests this node may run.
    pub(crate) fn on_cancel(&self, f: impl Fn(&str, &RequestId) + 'static) {
        *self.on_cancel.borrow_mut() = Some(Box::new(f));
    }

    /// Hear 2024-11-05 messages for streams this shard holds.
    pub(crate) fn on_post(&self, f: impl Fn(&str, Option<&str>, &[u8]) + 'static) {
        *self.on_post.borrow_mut() = Some(Box::new(f));
    }

    /// Publish `msg` on `channel`, at most once (lost while the link is down).
    fn publish(&self, channel: &str, msg: Value) {
        self.link
            .fire(&[Cmd::new("PUBLISH").arg(channel).arg(msg.to_string())]);
    }

    fn heard(&self, items: &[Reply]) {
        if items.first().and_then(Reply::text) != Some("message") {
            return;
        }
        let (Some(channel), Some(payload)) = (
            items.get(1).and_then(Reply::text),
            items.get(2).and_then(Reply::text),
        ) else {
            return;
        };
        if channel == self.all && !payload.starts_with('{') {
            match notices::published(payload) {
                Some((pos, notice)) => self.heard_notice(pos, notice),
                None => tracing::debug!(payload, "unreadable notice on the bus"),
            }
            return;
        }
        let Ok(msg) = serde_json::from_str::<Value>(payload) else {
            tracing::debug!(channel, "unreadable bus message");
            return;
        };
        if channel == self.all {
            if msg["from"].as_str() == Some(self.node.as_str()) {
                return;
            }
            let cancel = &msg["cancel"];
            if let (Some(session), Some(id), Some(f)) = (
                cancel["session"].as_str(),
                RequestId::from_value(&cancel["id"]),
                &*self.on_cancel.borrow(),
            ) {
                f(session, &id);
            }
            return;
        }
        if let (Some(session), Some(body)) = (msg["session"].as_str(), msg["post"].as_str()) {
            if let Some(f) = &*self.on_post.borrow() {
                f(session, msg["principal"].as_str(), body.as_bytes());
            }
            return;
        }
        let (Some(session), Some(id)) =
            (msg["session"].as_str(), RequestId::from_value(&msg["id"]))
        else {
            return;
        };
        let answer: ClientAnswer = match msg.get("error") {
            Some(e) => Err(serde_json::from_value::<ErrorObject>(e.clone())
                .unwrap_or_else(|_| ErrorObject::internal("unreadable relayed error"))),
            None => RawValue::from_string(msg["result"].to_string())
                .map_err(|_| ErrorObject::internal("unreadable relayed result")),
        };
        if let Some(f) = &*self.on_answer.borrow() {
            f(session, &id, answer);
        }
    }
}

/// Notices: heard live, or read from the log after a reconnect.
impl Bus {
    fn heard_notice(&self, pos: LogPos, notice: Notice) {
        if let Some(held) = self.catching_up.borrow_mut().as_mut() {
            held.push((pos, notice));
            return;
        }
        self.deliver(pos, &notice);
    }

    /// Deliver a notice unless one at or after its place was delivered already.
    fn deliver(&self, pos: LogPos, notice: &Notice) {
        if self.seen.get().is_some_and(|seen| pos <= seen) {
            return;
        }
        self.seen.set(Some(pos));
        if let Some(f) = &*self.on_notice.borrow() {
            f(notice, pos);
        }
    }

    /// Read what the log holds after the last notice delivered, holding back the notices heard
    /// meanwhile, then deliver those. The first time, there is nothing to catch up on: the
    /// log's newest position is only noted.
    fn catch_up(self: &Rc<Self>) {
        let run = self.catch_ups.get() + 1;
        self.catch_ups.set(run);
        self.catching_up.borrow_mut().get_or_insert_with(Vec::new);
        let bus = self.clone();
        glommio::spawn_local(async move {
            let read = bus.read_missed().await;
            if bus.catch_ups.get() != run {
                // A newer connection's catch-up delivers what was held.
                return;
            }
            if let Err(e) = read {
                tracing::warn!(error = %e, "notices missed while disconnected not read");
            }
            let held = bus.catching_up.borrow_mut().take().unwrap_or_default();
            for (pos, notice) in held {
                bus.deliver(pos, &notice);
            }
        })
        .detach();
    }

    async fn read_missed(&self) -> Result<(), crate::store::StoreError> {
        let Some(mut last) = self.seen.get() else {
            let newest = self.log.newest().await?;
            // Notices held meanwhile were published after this shard subscribed, even those
            // the log placed before `newest`: they are delivered, so start from them.
            if self.catching_up.borrow().as_ref().is_none_or(Vec::is_empty) {
                self.seen
                    .set(Some(newest.unwrap_or(LogPos { ms: 0, seq: 0 })));
            }
            return Ok(());
        };
        loop {
            let page = self.log.after(last, CATCH_UP_PAGE).await?;
            let full = page.len() == CATCH_UP_PAGE;
            if !page.is_empty() {
                tracing::info!(
                    notices = page.len(),
                    "notices missed while disconnected, read from the log"
                );
            }
            for (pos, notice) in page {
                last = pos;
                self.deliver(pos, &notice);
            }
            if !full {
                return Ok(());
            }
        }
    }
}

impl Relay for Bus {
    fn origin(&self) -> &str {
        &self.origin
    }

    fn relay(&self, to: &str, session: &str, id: &RequestId, answer: &ClientAnswer) {
        let mut msg = json!({"session": session, "id": id.to_value()});
        match answer {
            Ok(result) => {
                msg["result"] = serde_json::from_str(result.get()).unwrap_or(Value::Null);
            }
            Err(e) => msg["error"] = serde_json::to_value(e).unwrap_or(Value::Null),
        }
        self.publish(&format!("{}{to}", self.direct), msg);
    }

    fn cancel(&self, session: &str, id: &RequestId) {
        let msg = json!({"from": self.node, "cancel": {"session": session, "id": id.to_value()}});
        self.publish(&self.all, msg);
    }

    fn post(&self, to: &str, session: &str, principal: Option<&str>, body: &[u8]) {
        let msg = json!({
            "session": session,
            "principal": principal,
            "post": String::from_utf8_lossy(body),
        });
        self.publish(&format!("{}{to}", self.direct), msg);
    }
}
