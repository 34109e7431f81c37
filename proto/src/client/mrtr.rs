//! Calls after the handshake: building a request (with the 2026-07-28 `_meta` on every one), and
//! what its answer leads to. An unsupported-version error offering a modern version is retried
//! once with it; an `input_required` result runs the client's handlers for each input request
//! and retries the same params plus `inputResponses` and the server's `requestState` (exactly as
//! sent, and only when sent) under a new id. The state of a call stays with that call's pending
//! entry, so parallel calls never see each other's input. Legacy server-to-client requests are
//! answered here too.

use super::envelope::{classify, offered_versions, with_modern_meta, Classified};
use super::handlers::{dispatch, ClientHandler};
use super::pending::Call;
use super::{Answer, ClientError, ClientSession, Outgoing};
use crate::jsonrpc::{write_error, write_result, Request, RequestId};
use crate::revision::ProtocolVersion;
use crate::streamable_http::VERSION_HEADER;
use serde_json::{Map, Value};

/// Input rounds one call may take before the client gives up.
const MAX_ROUNDS: u32 = 16;

/// What a call's answer leads to.
#[derive(Debug, Clone, PartialEq)]
pub enum CallStep {
    /// Send this (a retry under a new id) and feed its answer back.
    Send(Outgoing),
    /// The call is done: its result, as the server sent it.
    Done(Value),
}

impl ClientSession {
    /// Start a call. `params` must be a JSON object (or null for none); the call is pending
    /// under the returned message's id until [`Self::on_answer`] settles it.
    pub fn call(&mut self, method: &str, params: Value) -> Result<Outgoing, ClientError> {
        self.start(method, params, false)
    }

    /// Start a call, declaring the tasks extension on 2026-07-28 when `tasks` is set.
    pub(crate) fn start(
        &mut self,
        method: &str,
        params: Value,
        tasks: bool,
    ) -> Result<Outgoing, ClientError> {
        let params = match params {
            Value::Object(map) => map,
            Value::Null => Map::new(),
            _ => return Err(ClientError::Malformed("params must be an object".into())),
        };
        let call = Call {
            method: method.to_owned(),
            params,
            version_retried: false,
            rounds: 0,
            tasks,
        };
        Ok(self.send_call(call, None))
    }

    /// A notification (with the version header once known).
    pub fn notification(&self, method: &str, params: &Value) -> Outgoing {
        let mut body = Vec::new();
        crate::jsonrpc::write_notification(&mut body, method, params);
        Outgoing {
            id: None,
            method: Some(method.to_owned()),
            body,
            headers: self.version_headers(),
        }
    }

    /// How many calls wait for an answer.
    pub fn pending_calls(&self) -> usize {
        self.pending.len()
    }

    /// Forget a call (its transport failed); a late answer to it is then an error.
    pub fn forget(&mut self, id: &RequestId) {
        self.pending.take(id);
    }

    fn version_headers(&self) -> Vec<(String, String)> {
        self.version
            .map(|v| vec![(VERSION_HEADER.to_owned(), v.as_str().to_owned())])
            .unwrap_or_default()
    }

    fn send_call(&mut self, call: Call, extra: Option<Map<String, Value>>) -> Outgoing {
        let version = self.version.unwrap_or(ProtocolVersion::LATEST_LEGACY);
        let mut params = call.params.clone();
        params.extend(extra.unwrap_or_default());
        let params = if version.is_modern() {
            let mut params = with_modern_meta(&params, &self.config, version);
            if call.tasks {
                super::tasks::declare_tasks_extension(&mut params);
            }
            params
        } else {
            params
        };
        let out = self.request_out(&call.method, &params, version);
        if let Some(id) = &out.id {
            self.pending.insert(id.clone(), call);
        }
        out
    }

    /// Feed the answer to the request with this id.
    pub fn on_answer(
        &mut self,
        id: &RequestId,
        answer: Answer,
        handler: &mut (impl ClientHandler + ?Sized),
    ) -> Result<CallStep, ClientError> {
        let mut call = self
            .pending
            .take(id)
            .ok_or_else(|| ClientError::Malformed(format!("no pending request with id {id:?}")))?;
        let result = match answer {
            Answer::Result(result) => result,
            Answer::Refused(status) => return Err(ClientError::Refused(status)),
            Answer::Error(e) => {
                let modern = offered_versions(&e)
                    .and_then(|offered| offered.into_iter().filter(|v| v.is_modern()).max());
                return match modern {
                    // One retry, even with the version already sent: the server may have
                    // refused it for a reason that has passed.
                    Some(v)
                        if !call.version_retried && self.version.is_some_and(|s| s.is_modern()) =>
                    {
                        call.version_retried = true;
                        self.version = Some(v);
                        Ok(CallStep::Send(self.send_call(call, None)))
                    }
                    _ => Err(ClientError::Server(e)),
                };
            }
        };
        if !self.version.is_some_and(ProtocolVersion::is_modern) {
            return Ok(CallStep::Done(result));
        }
        match classify(result).map_err(ClientError::Malformed)? {
            Classified::Complete(result) => Ok(CallStep::Done(result)),
            Classified::InputRequired { requests, state } => {
                call.rounds += 1;
                if call.rounds > MAX_ROUNDS {
                    return Err(ClientError::TooManyRounds(MAX_ROUNDS));
                }
                let mut responses = Map::new();
                for (key, request) in requests {
                    let method = request
                        .get("method")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    let params = request.get("params").unwrap_or(&Value::Null);
                    let response =
                        dispatch(handler, method, params).map_err(ClientError::Handler)?;
                    responses.insert(key, response);
                }
                let mut extra = Map::new();
                extra.insert("inputResponses".into(), Value::Object(responses));
                if let Some(state) = state {
                    extra.insert("requestState".into(), state);
                }
                Ok(CallStep::Send(self.send_call(call, Some(extra))))
            }
        }
    }

    /// Answer a server-to-client request (legacy sampling, elicitation, roots, ping).
    pub fn answer_request(
        &self,
        request: &Request,
        handler: &mut (impl ClientHandler + ?Sized),
    ) -> Outgoing {
        let params: Value = request
            .params
            .as_deref()
            .and_then(|p| serde_json::from_str(p.get()).ok())
            .unwrap_or(Value::Null);
        let mut body = Vec::new();
        match dispatch(handler, &request.method, &params) {
            Ok(result) => write_result(&mut body, &request.id, &result),
            Err(e) => write_error(&mut body, Some(&request.id), &e),
        }
        Outgoing {
            id: None,
            method: None,
            body,
            headers: self.version_headers(),
        }
    }
}
