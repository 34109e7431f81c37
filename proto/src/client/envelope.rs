//! The shapes of what a client sends and reads: the 2026-07-28 `_meta` every request carries
//! (protocol version, client capabilities, client info), the legacy `initialize` params, the
//! versions an unsupported-version error offers, and how a result is classified (complete, or
//! input required with its requests and opaque state).

use super::ClientConfig;
use crate::jsonrpc::{code, ErrorObject};
use crate::revision::ProtocolVersion;
use crate::types::meta::{CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY, PROTOCOL_VERSION_KEY};
use serde_json::{json, Map, Value};

/// `params` with the 2026-07-28 `_meta` keys added (the caller's own `_meta` keys are kept).
pub(crate) fn with_modern_meta(
    params: &Map<String, Value>,
    config: &ClientConfig,
    version: ProtocolVersion,
) -> Map<String, Value> {
    let mut params = params.clone();
    let meta = params
        .entry("_meta")
        .or_insert_with(|| Value::Object(Map::new()));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    if let Value::Object(meta) = meta {
        meta.insert(PROTOCOL_VERSION_KEY.into(), version.as_str().into());
        meta.insert(CLIENT_CAPABILITIES_KEY.into(), config.capabilities.clone());
        meta.insert(
            CLIENT_INFO_KEY.into(),
            serde_json::to_value(&config.client_info).unwrap_or(Value::Null),
        );
    }
    params
}

/// Legacy `initialize` params.
pub(crate) fn initialize_params(config: &ClientConfig, version: ProtocolVersion) -> Value {
    json!({
        "protocolVersion": version.as_str(),
        "capabilities": config.capabilities,
        "clientInfo": config.client_info,
    })
}

/// The versions a -32022 error says the server supports (`data.supported`); `None` for any
/// other error.
pub(crate) fn offered_versions(error: &ErrorObject) -> Option<Vec<ProtocolVersion>> {
    if error.code != code::UNSUPPORTED_PROTOCOL_VERSION {
        return None;
    }
    let supported = error.data.as_ref()?.get("supported")?.as_array()?;
    Some(
        supported
            .iter()
            .filter_map(Value::as_str)
            .filter_map(ProtocolVersion::parse)
            .collect(),
    )
}

/// A result, classified by its 2026-07-28 `resultType` (absent means complete).
#[derive(Debug, PartialEq)]
pub(crate) enum Classified {
    /// Done: the result as the server sent it.
    Complete(Value),
    /// The server needs input first.
    InputRequired {
        /// `inputRequests`, by the server's keys.
        requests: Map<String, Value>,
        /// `requestState`, exactly as sent, when present.
        state: Option<Value>,
    },
}

pub(crate) fn classify(result: Value) -> Result<Classified, String> {
    if result.get("resultType").and_then(Value::as_str) != Some("input_required") {
        return Ok(Classified::Complete(result));
    }
    let Value::Object(mut obj) = result else {
        return Err("input_required result is not an object".into());
    };
    let requests = match obj.remove("inputRequests") {
        Some(Value::Object(requests)) => requests,
        _ => return Err("input_required result without an inputRequests object".into()),
    };
    Ok(Classified::InputRequired {
        requests,
        state: obj.remove("requestState"),
    })
}
