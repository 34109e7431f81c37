//! Dispatch: one JSON-RPC message to what answers it. Responses go back to the session that
//! asked, notifications change session state, and requests pass the rate limit, the era and
//! lifecycle checks, then the method match hands each to its file. It answers only what is
//! answered in one line; the work of each method lives elsewhere.

use super::reply::{Meter, Sink};
use super::task_ops::TaskOp;
use super::{Call, McpService};
use crate::service::Session;
use crate::store::SessionChange;
use ringmcp_proto::dispatch::{ClientRequest, Era};
use ringmcp_proto::jsonrpc::{ErrorObject, Message, Notification, Request, RequestId};
use ringmcp_proto::ratelimit::TokenBucket;
use ringmcp_proto::types::CompleteResult;
use serde_json::{json, Value};
use std::cell::Cell;
use std::rc::Rc;

impl McpService {
    pub(super) fn on_message(self: &Rc<Self>, sink: &Sink, msg: Message, in_batch: bool) {
        match msg {
            Message::Request(req) => self.on_request(sink, req, in_batch),
            Message::Notification(n) => self.on_notification(sink.session(), n),
            Message::Response(r) => {
                let routed =
                    r.id.as_ref()
                        .is_some_and(|id| sink.session().client_answered(id, r.outcome.clone()));
                if !routed {
                    tracing::debug!(id = ?r.id, "response to no request of ours; ignored");
                }
            }
        }
    }

    fn on_notification(&self, session: &Rc<Session>, n: Notification) {
        match n.method.as_str() {
            "notifications/initialized" => session.legacy.borrow_mut().initialized(),
            "notifications/cancelled" => {
                let params: Value = n
                    .params
                    .as_deref()
                    .and_then(|p| serde_json::from_str(p.get()).ok())
                    .unwrap_or(Value::Null);
                let Some(id) = params.get("requestId").and_then(RequestId::from_value) else {
                    tracing::debug!("notifications/cancelled without a usable requestId");
                    return;
                };
                let token = session.inflight.borrow_mut().remove(&id);
                if let Some(token) = token {
                    tracing::debug!(?id, "request cancelled by client");
                    token.cancel();
                } else {
                    // In a cluster the request may run on another node.
                    session.relay_cancel(&id);
                }
                session
                    .listens
                    .borrow_mut()
                    .retain(|(lid, _, _)| *lid != id);
            }
            other => tracing::debug!(method = other, "notification ignored"),
        }
    }

    fn on_request(self: &Rc<Self>, sink: &Sink, req: Request, in_batch: bool) {
        let Request { id, method, params } = req;
        let meter = Meter {
            shard: self.shard.clone(),
            method: crate::metrics::method_label(&method),
            started: std::time::Instant::now(),
            done: Cell::new(false),
        };
        let sink = &Sink {
            meter: Some(meter),
            ..sink.clone()
        };
        // One limit per client, applied once: a line connection's session here; an HTTP client
        // by its address, in the HTTP layer, before its request reaches the engine.
        if self.limits.rate_limit_rps > 0.0 && sink.session.limited {
            let now = self.epoch.elapsed();
            let mut bucket = sink.session.bucket.borrow_mut();
            let bucket = bucket.get_or_insert_with(|| {
                TokenBucket::new(
                    self.limits.rate_limit_rps,
                    self.limits.rate_limit_burst,
                    now,
                )
            });
            if let Err(wait) = bucket.take(now) {
                return sink.error(Some(&id), &ErrorObject::rate_limited(wait));
            }
        }
        let mut typed = match ClientRequest::parse(&method, params.as_deref()) {
            Ok(t) => t,
            Err(e) => return sink.error(Some(&id), &e),
        };
        let era = match Era::of(&mut typed) {
            Ok(era) => era,
            Err(e) => return sink.error(Some(&id), &e),
        };
        let session = sink.session().clone();
        let version = match &era {
            Era::Modern(m) => m.version,
            Era::Legacy => {
                if let ClientRequest::Initialize(p) = &typed {
                    if in_batch {
                        let e =
                            ErrorObject::invalid_request("initialize must not be part of a batch");
                        return sink.error(Some(&id), &e);
                    }
                    let negotiated = session.legacy.borrow_mut().initialize(p);
                    return match negotiated {
                        Ok(v) => {
                            // Stored before the answer leaves (it waits in the outbox until the
                            // end of this turn), so every node can find the session.
                            session.persist_initialized();
                            self.watch_lists(&session);
                            sink.result(&id, &self.initialize_result(v))
                        }
                        Err(e) => sink.error(Some(&id), &e),
                    };
                }
                if !typed.is_legacy_method() {
                    return sink.error(Some(&id), &ErrorObject::method_not_found(&method));
                }
                match session.legacy.borrow().admit(&method) {
                    Ok(v) => v,
                    Err(e) => return sink.error(Some(&id), &e),
                }
            }
        };
        let call = Call { id, era, version };
        match typed {
            ClientRequest::Initialize(_) => {}
            ClientRequest::Ping(_) => sink.result(&call.id, &json!({})),
            ClientRequest::Discover(_) => sink.result(&call.id, &self.discover_result(&call.era)),
            ClientRequest::ListTools(p) => self.list_tools(sink, &call, p.cursor.as_deref()),
            ClientRequest::ListResources(p) => {
                self.list_resources(sink, &call, p.cursor.as_deref())
            }
            ClientRequest::ListResourceTemplates(p) => {
                self.list_resource_templates(sink, &call, p.cursor.as_deref())
            }
            ClientRequest::ListPrompts(p) => self.list_prompts(sink, &call, p.cursor.as_deref()),
            ClientRequest::SetLevel(p) => {
                session.legacy.borrow_mut().set_log_level(p.level);
                session.persist(SessionChange::LogLevel(p.level));
                sink.result(&call.id, &json!({}))
            }
            ClientRequest::Subscribe(p) => self.subscribe(sink, &call, &p.uri, true),
            ClientRequest::Unsubscribe(p) => self.subscribe(sink, &call, &p.uri, false),
            ClientRequest::Complete(p) => match self.complete(&p) {
                Ok(completion) => sink.result(
                    &call.id,
                    &CompleteResult {
                        completion,
                        envelope: self.shape.envelope(&call.era, false),
                    },
                ),
                Err(e) => sink.error(Some(&call.id), &e),
            },
            ClientRequest::Listen(p) => self.listen(sink, call, p.notifications),
            ClientRequest::TaskGet(p) => self.task_request(sink, &call, &p.task_id, TaskOp::Get),
            ClientRequest::TaskUpdate(p) => self.task_request(
                sink,
                &call,
                &p.task_id,
                TaskOp::Update(p.input_responses.unwrap_or_default()),
            ),
            ClientRequest::TaskCancel(p) => {
                self.task_request(sink, &call, &p.task_id, TaskOp::Cancel)
            }
            ClientRequest::TaskResult(p) => {
                self.task_request(sink, &call, &p.task_id, TaskOp::Result)
            }
            ClientRequest::TaskList(_) => self.task_list(sink, &call),
            ClientRequest::ListSkills(p) => self.list_skills(sink, &call, p.cursor.as_deref()),
            ClientRequest::GetSkill(p) => self.get_skill(sink, &call, &p.uri),
            ClientRequest::ReadDirectory(p) => {
                self.read_directory(sink, &call, &p.uri, p.cursor.as_deref())
            }
            ClientRequest::CallTool(p) => self.call_tool(sink, call, *p),
            ClientRequest::ReadResource(p) => self.read_resource(sink, call, *p),
            ClientRequest::GetPrompt(p) => self.get_prompt(sink, call, *p),
        }
    }
}
