//! Checking answers: each function panics with the whole message when it is not what the test
//! expects, so a failure shows what the server said.

use serde_json::Value;

/// The answer's `result`, which must belong to request `id`.
pub fn result(answer: &Value, id: impl Into<Value>) -> Value {
    let id = id.into();
    assert_eq!(answer["jsonrpc"], "2.0", "not JSON-RPC 2.0: {answer}");
    assert_eq!(answer["id"], id, "answer to another request: {answer}");
    assert!(
        answer.get("error").is_none(),
        "expected a result for {id}, got an error: {answer}"
    );
    answer
        .get("result")
        .cloned()
        .unwrap_or_else(|| panic!("no result in {answer}"))
}

/// The answer must be error `code` for request `id` (`Value::Null` for errors that could not
/// name a request); returns the error object.
pub fn error(answer: &Value, id: impl Into<Value>, code: i64) -> Value {
    let id = id.into();
    assert_eq!(answer["jsonrpc"], "2.0", "not JSON-RPC 2.0: {answer}");
    assert_eq!(answer["id"], id, "error for another request: {answer}");
    let error = answer
        .get("error")
        .unwrap_or_else(|| panic!("expected error {code} for {id}, got: {answer}"));
    assert_eq!(error["code"], code, "wrong error code: {answer}");
    assert!(
        error["message"].is_string(),
        "error without message: {answer}"
    );
    error.clone()
}

/// The text of a tool result's first content block.
pub fn text(result: &Value) -> String {
    result["content"][0]["text"]
        .as_str()
        .unwrap_or_else(|| panic!("no text content in {result}"))
        .to_owned()
}

/// A notification `method`; returns its params.
pub fn notification(message: &Value, method: &str) -> Value {
    assert!(
        message.get("id").is_none(),
        "a request or response, not a notification: {message}"
    );
    assert_eq!(message["method"], method, "another notification: {message}");
    message["params"].clone()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn passes_what_matches_and_panics_on_the_rest() {
        let ok = json!({"jsonrpc": "2.0", "id": 1, "result": {"content": [{"type": "text", "text": "hi"}]}});
        assert_eq!(text(&result(&ok, 1)), "hi");
        let err = json!({"jsonrpc": "2.0", "id": 2, "error": {"code": -32602, "message": "bad"}});
        assert_eq!(error(&err, 2, -32602)["message"], "bad");
        for bad in [
            std::panic::catch_unwind(|| result(&err, 2)).is_err(),
            std::panic::catch_unwind(|| result(&ok, 9)).is_err(),
            std::panic::catch_unwind(|| error(&err, 2, -32601)).is_err(),
            std::panic::catch_unwind(|| error(&ok, 1, -32602)).is_err(),
        ] {
            assert!(bad, "a mismatch must fail the test");
        }
        let n = json!({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progress": 1}});
        assert_eq!(notification(&n, "notifications/progress")["progress"], 1);
    }
}
