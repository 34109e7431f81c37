//! 2026-07-28 multi round-trip requests: opening the sealed `requestState` a retry brings back
//! ([`Round`]) and preparing how an `input_required` answer is written ([`Asking`]). It checks
//! and seals state; it must not run handlers.

use super::reply::Sink;
use super::{Call, McpService};
use crate::service::StateSeal;
use ringmcp_proto::dispatch::Era;
use ringmcp_proto::jsonrpc::ErrorObject;
use ringmcp_proto::types::{ResultEnvelope, ResultType};
use serde_json::{Map, Value};

/// The client's side of a 2026-07-28 multi round-trip attempt.
pub(super) struct Round {
    pub(super) responses: Option<Map<String, Value>>,
    pub(super) state: Option<String>,
}

/// What an `input_required` answer needs: its envelope, and the seal for its state.
pub(super) struct Asking {
    pub(super) envelope: ResultEnvelope,
    pub(super) seal: StateSeal,
    pub(super) binding: String,
}

impl McpService {
    /// How an `input_required` answer of this call is written: its envelope and state seal.
    pub(super) fn asking(&self, era: &Era, binding: String) -> Asking {
        let mut envelope = self.shape.envelope(era, false);
        envelope.result_type = Some(ResultType::InputRequired);
        Asking {
            envelope,
            seal: self.seal.clone(),
            binding,
        }
    }

    /// The answers and verified state of a 2026-07-28 retry; `None` after answering a tampered
    /// state with -32602.
    pub(super) fn round(
        &self,
        sink: &Sink,
        call: &Call,
        binding: &str,
        responses: Option<Map<String, Value>>,
        sealed: Option<String>,
    ) -> Option<Round> {
        let state = match sealed {
            None => None,
            Some(sealed) => match self.seal.open(binding, &sealed) {
                Some(plain) => Some(plain),
                None => {
                    tracing::debug!(id = ?call.id, "requestState failed its integrity check");
                    sink.error(
                        Some(&call.id),
                        &ErrorObject::invalid_params("requestState integrity check failed"),
                    );
                    return None;
                }
            },
        };
        Some(Round { responses, state })
    }
}
