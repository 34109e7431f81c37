//! How failures become answers: a handler's [`HandlerError`] as an error object or (2026-07-28)
//! an `input_required` result, and the one builder of `requiredCapabilities` error data. Pure
//! functions over values; they must not write to a sink or touch session state.

use super::reply::to_bytes;
use super::rounds::Asking;
use crate::sdk::HandlerError;
use ringmcp_proto::jsonrpc::{code, ErrorObject};
use ringmcp_proto::revision::ProtocolVersion;
use ringmcp_proto::types::{InputRequiredResult, TASKS_EXTENSION};
use serde_json::{json, Value};

/// -32021 with the capabilities the client must declare (`data.requiredCapabilities`).
pub(super) fn missing_capability(message: String, required: Value) -> ErrorObject {
    ErrorObject::new(code::MISSING_CLIENT_CAPABILITY, message)
        .with_data(json!({ "requiredCapabilities": required }))
}

/// -32021 asking for the 2026-07-28 tasks extension.
pub(super) fn missing_tasks_extension(message: String) -> ErrorObject {
    missing_capability(message, json!({ "extensions": { TASKS_EXTENSION: {} } }))
}

/// A handler's failure as the request's answer: an `input_required` result when it needs input
/// (2026-07-28), -32021 when the client lacks a capability, otherwise an error.
pub(super) fn failure(
    e: HandlerError,
    version: ProtocolVersion,
    asking: &Asking,
) -> Result<Vec<u8>, ErrorObject> {
    match e {
        HandlerError::InputRequired {
            requests,
            state,
            single_use,
        } if version.is_modern() => Ok(to_bytes(&InputRequiredResult {
            input_requests: requests.into_iter().collect(),
            request_state: asking.seal(state, single_use)?,
            envelope: asking.envelope.clone(),
        })),
        e => Err(handler_error(e, version)),
    }
}

fn handler_error(e: HandlerError, version: ProtocolVersion) -> ErrorObject {
    match e {
        HandlerError::MissingCapability(cap) => missing_capability(
            format!(
                "this request needs the client capability {cap}, which the client did not declare"
            ),
            json!({ cap: {} }),
        ),
        HandlerError::InputRequired { .. } => {
            ErrorObject::internal("input from the client is only requested this way on 2026-07-28")
        }
        HandlerError::Failed(m) => ErrorObject::internal(m),
        HandlerError::InvalidParams(m) => ErrorObject::invalid_params(m),
        HandlerError::NotFound(m) => {
            ErrorObject::new(version.resource_not_found_code(), format!("Not found: {m}"))
        }
        HandlerError::Internal(m) => ErrorObject::internal(m),
    }
}
