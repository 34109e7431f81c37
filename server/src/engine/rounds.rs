//! 2026-07-28 multi round-trip requests: opening the sealed `requestState` a retry brings back
//! ([`Round`]: integrity, binding to the request and its principal, expiry, and the claim of a
//! single-use state) and preparing how an `input_required` answer seals its state ([`Asking`]).
//! The clock and the randomness of nonces are read here. It checks and seals state; it must not
//! run handlers.

use super::reply::Sink;
use super::{Call, McpService};
use crate::service::{binding, now_ms, OpenError, Session, StateSeal};
use crate::store::{Lookup, StoreError};
use ringmcp_proto::dispatch::Era;
use ringmcp_proto::jsonrpc::{code, ErrorObject};
use ringmcp_proto::types::{ResultEnvelope, ResultType};
use serde_json::{Map, Value};
use std::fmt::Write;
use std::rc::Rc;
use std::time::Duration;

/// The claim of a single-use state's nonce, answered by the once store.
pub(super) type Claim = Lookup<Result<bool, StoreError>>;

/// The client's side of a 2026-07-28 multi round-trip attempt.
pub(super) struct Round {
    pub(super) responses: Option<Map<String, Value>>,
    pub(super) state: Option<String>,
    /// For a single-use state: its claim, which must come back `true` before the handler runs.
    pub(super) claim: Option<Claim>,
}

/// What an `input_required` answer needs: its envelope, and how to seal its state.
pub(super) struct Asking {
    pub(super) envelope: ResultEnvelope,
    /// The shard's seal, shared by count (its key ring is not copied per call).
    seal: Rc<StateSeal>,
    /// What the state is bound to, kept in parts: the binding is only written when a state is
    /// sealed, which most calls never do.
    method: &'static str,
    name: String,
    session: Rc<Session>,
    ttl: Duration,
}

impl Asking {
    /// The `requestState` of an `input_required` answer carrying `state`: sealed for this
    /// request, expiring after the configured time to live, and with a fresh nonce when
    /// `single_use` (a single-use answer without state still carries one, empty, so that its
    /// retry can be held to one use). `None` when there is nothing to carry.
    pub(super) fn seal(
        &self,
        state: Option<String>,
        single_use: bool,
    ) -> Result<Option<String>, ErrorObject> {
        if state.is_none() && !single_use {
            return Ok(None);
        }
        let nonce = if single_use {
            Some(nonce().ok_or_else(|| {
                tracing::error!("no randomness for a single-use requestState nonce");
                ErrorObject::internal("could not draw a nonce for single-use state")
            })?)
        } else {
            None
        };
        let ttl_ms = u64::try_from(self.ttl.as_millis()).unwrap_or(u64::MAX);
        let expires_ms = now_ms().saturating_add(ttl_ms);
        let binding = binding(self.method, &self.name, self.session.principal.as_deref());
        Ok(Some(self.seal.seal(
            &binding,
            state.as_deref().unwrap_or(""),
            expires_ms,
            nonce.as_deref(),
        )))
    }
}

/// 128 random bits as hex; `None` when the OS has no randomness to give.
fn nonce() -> Option<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).ok()?;
    let mut hex = String::with_capacity(32);
    for b in bytes {
        let _ = write!(hex, "{b:02x}");
    }
    Some(hex)
}

/// The answer to a single-use state's claim: go on, or the request's error.
pub(super) async fn spend(claim: Claim) -> Result<(), ErrorObject> {
    match claim.await {
        Ok(true) => Ok(()),
        Ok(false) => {
            tracing::debug!("a single-use requestState came back a second time");
            Err(ErrorObject::invalid_params("requestState already used"))
        }
        Err(e) => {
            tracing::warn!(error = %e, "single-use requestState could not be claimed");
            Err(ErrorObject::new(code::SERVER_BUSY, e.to_string()))
        }
    }
}

impl McpService {
    /// How an `input_required` answer of this `method` call on `name` (tool or prompt name,
    /// resource URI) is written: its envelope and state seal.
    pub(super) fn asking(
        &self,
        sink: &Sink,
        era: &Era,
        method: &'static str,
        name: String,
    ) -> Asking {
        let mut envelope = self.shape.envelope(era, false);
        envelope.result_type = Some(ResultType::InputRequired);
        Asking {
            envelope,
            seal: self.seal.clone(),
            method,
            name,
            session: sink.session().clone(),
            ttl: self.limits.request_state_ttl,
        }
    }

    /// The answers and verified state of a 2026-07-28 retry; `None` after answering a tampered,
    /// misbound or expired state with -32602. A single-use state's nonce is claimed here; the
    /// claim is settled before the handler runs.
    pub(super) fn round(
        &self,
        sink: &Sink,
        call: &Call,
        (method, name): (&str, &str),
        responses: Option<Map<String, Value>>,
        sealed: Option<String>,
    ) -> Option<Round> {
        let Some(sealed) = sealed else {
            return Some(Round {
                responses,
                state: None,
                claim: None,
            });
        };
        let now = now_ms();
        let binding = binding(method, name, sink.session().principal.as_deref());
        match self.seal.open(&binding, &sealed, now) {
            Ok(opened) => {
                let claim = opened.nonce.map(|nonce| {
                    // Kept as long as the state could still be opened, not longer.
                    let left = Duration::from_millis(opened.expires_ms.saturating_sub(now));
                    self.once.claim(&nonce, left)
                });
                Some(Round {
                    responses,
                    state: Some(opened.state),
                    claim,
                })
            }
            Err(e) => {
                match e {
                    OpenError::Tampered => {
                        tracing::debug!(id = ?call.id, "requestState failed its integrity check")
                    }
                    OpenError::Expired => tracing::debug!(id = ?call.id, "requestState expired"),
                }
                sink.error(Some(&call.id), &ErrorObject::invalid_params(e.to_string()));
                None
            }
        }
    }
}
