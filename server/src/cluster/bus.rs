//! [`Bus`]: what one node tells the others, over Redis pub/sub on each shard's link (RESP3 lets a
//! connection subscribe and still run commands). Two kinds of message:
//!
//! - notices (a resource changed) go to `<prefix>:bus`, which every shard of every node hears;
//!   a shard delivers a notice of another node to its own subscribers and listeners (its own
//!   node's notices already reached every shard over the mesh);
//!   cancellations (`notifications/cancelled` for a request no shard of the receiving node
//!   runs) travel the same way, and the shard holding the session cancels it if it runs there;
//! - a client's answer to a request another node sent (elicitation, sampling, roots) goes to
//!   `<prefix>:bus:<node>:<shard>`, the channel of the shard that awaits it, named by the
//!   request's id, and so does a 2024-11-05 `POST /messages` for a stream another node holds
//!   (its session id names that node and shard).
//!
//! Delivery is at most once: a message published while a link is down is lost (a request that
//! awaited an answer times out as it would without one). The bus carries bytes between shards
//! of different nodes; what a notice or an answer means stays with the shard and the HTTP layer.

use super::link::RedisLink;
use super::resp::{Cmd, Reply};
use crate::service::{ClientAnswer, Relay};
use crate::store::{Broadcast, Notice};
use ringmcp_proto::jsonrpc::{ErrorObject, RequestId};
use serde_json::value::RawValue;
use serde_json::{json, Value};
use std::cell::RefCell;
use std::rc::Rc;

/// Hears notices of other nodes.
type NoticeListener = Box<dyn Fn(Notice)>;

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
    on_notice: RefCell<Option<NoticeListener>>,
    on_answer: RefCell<Option<AnswerListener>>,
    on_cancel: RefCell<Option<CancelListener>>,
    on_post: RefCell<Option<PostListener>>,
}

impl Bus {
    /// Shard `shard` of node `node`, on `link`: subscribes at every (re)connection.
    pub(crate) fn new(link: Rc<RedisLink>, prefix: &str, node: &str, shard: usize) -> Rc<Self> {
        let bus = Rc::new(Bus {
            link: link.clone(),
            all: format!("{prefix}:bus"),
            direct: format!("{prefix}:bus:"),
            node: node.to_string(),
            origin: format!("{node}:{shard}"),
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

    /// Hear the notices of other nodes.
    pub(crate) fn on_notice(&self, f: impl Fn(Notice) + 'static) {
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
        let Ok(msg) = serde_json::from_str::<Value>(payload) else {
            tracing::debug!(channel, "unreadable bus message");
            return;
        };
        if channel == self.all {
            if msg["from"].as_str() == Some(self.node.as_str()) {
                return;
            }
            if let (Some(uri), Some(f)) = (msg["resource"].as_str(), &*self.on_notice.borrow()) {
                f(Notice::ResourceUpdated(uri.to_string()));
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

impl Broadcast for Bus {
    fn publish(&self, notice: Notice) {
        let Notice::ResourceUpdated(uri) = notice;
        self.publish(&self.all, json!({"from": self.node, "resource": uri}));
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
