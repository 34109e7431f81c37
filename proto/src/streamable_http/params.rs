//! SEP-2243 tool parameters mirrored into HTTP headers, the sending side: which `x-mcp-header`
//! annotations of a tool's input schema are valid, and how an argument's value is written into its
//! `Mcp-Param-*` header (plain, or `=?base64?...?=` when the value is not safe as plain text).
//!
//! The one "unsafe as plain text" rule lives here ([`needs_base64`]) next to the decoder
//! ([`super::decode_header`]), so both ends agree. Nothing here reads requests or writes
//! responses; the server's checks stay in the parent module.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::Value;
use std::borrow::Cow;

/// Why a tool's `x-mcp-header` annotations cannot be used; a client drops such a tool.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ToolHeaderError {
    /// The annotation is not a string, or is empty.
    #[error("x-mcp-header of argument '{0}' must be a non-empty string")]
    Empty(String),
    /// The annotated argument is not a string, integer or boolean.
    #[error("x-mcp-header of argument '{0}' is on a type other than string, integer or boolean")]
    NotPrimitive(String),
    /// The header name has characters outside the HTTP token set.
    #[error("x-mcp-header '{0}' is not an HTTP token")]
    Charset(String),
    /// Two arguments name the same header (ignoring case).
    #[error("x-mcp-header '{0}' is declared twice (names are case-insensitive)")]
    Duplicate(String),
}

/// Whether a string argument must travel Base64-encoded: any character outside visible ASCII and
/// space (a control character, TAB, DEL or non-ASCII), or leading or trailing whitespace, which
/// HTTP would strip.
pub fn needs_base64(value: &str) -> bool {
    value.chars().any(|c| !(' '..='~').contains(&c)) || value.trim() != value
}

/// A header value for `value`: as is when it is safe as plain text, else `=?base64?...?=`.
pub fn encode_header(value: &str) -> Cow<'_, str> {
    if needs_base64(value) {
        Cow::Owned(format!("=?base64?{}?=", STANDARD.encode(value)))
    } else {
        Cow::Borrowed(value)
    }
}

/// The `Mcp-Param-*` value of an argument: integers in decimal, booleans as `true`/`false`,
/// strings per [`encode_header`]. `None` (no header) for null and for values a header cannot
/// carry.
pub fn param_header_value(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(encode_header(s).into_owned()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Null | Value::Array(_) | Value::Object(_) => None,
    }
}

/// RFC 9110 `tchar`.
fn is_token_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// The `(argument, header name)` pairs a tool's input schema declares with `x-mcp-header`, or why
/// the tool must not be used: an empty name, a non-token name, an annotation on a type other than
/// string, integer or boolean, or a name used twice ignoring case.
pub fn tool_header_params(input_schema: &Value) -> Result<Vec<(String, String)>, ToolHeaderError> {
    let Some(props) = input_schema.get("properties").and_then(Value::as_object) else {
        return Ok(Vec::new());
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (arg, schema) in props {
        let Some(annotation) = schema.get("x-mcp-header") else {
            continue;
        };
        let name = match annotation.as_str() {
            Some(name) if !name.is_empty() => name,
            _ => return Err(ToolHeaderError::Empty(arg.clone())),
        };
        if !name.chars().all(is_token_char) {
            return Err(ToolHeaderError::Charset(name.to_owned()));
        }
        let primitive = match schema.get("type") {
            Some(Value::String(t)) => matches!(t.as_str(), "string" | "integer" | "boolean"),
            _ => false,
        };
        if !primitive {
            return Err(ToolHeaderError::NotPrimitive(arg.clone()));
        }
        if out.iter().any(|(_, n)| n.eq_ignore_ascii_case(name)) {
            return Err(ToolHeaderError::Duplicate(name.to_owned()));
        }
        out.push((arg.clone(), name.to_owned()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::streamable_http::decode_header;
    use serde_json::json;

    #[test]
    fn encodes_what_the_decoder_reads_back() {
        for v in [
            "us-west1",
            "",
            "Hello, 世界",
            " padded ",
            "line1\nline2",
            "\tindented",
            "a\u{7f}",
        ] {
            let enc = encode_header(v);
            assert_eq!(decode_header(&enc).as_deref(), Some(v), "{v:?}");
            assert_eq!(matches!(enc, Cow::Owned(_)), needs_base64(v), "{v:?}");
        }
        assert_eq!(encode_header("us west 1"), "us west 1");
        assert_eq!(encode_header(" x"), "=?base64?IHg=?=");
        assert_eq!(param_header_value(&json!(42)).as_deref(), Some("42"));
        assert_eq!(param_header_value(&json!(false)).as_deref(), Some("false"));
        assert_eq!(param_header_value(&json!(null)), None);
    }

    #[test]
    fn validates_annotations() {
        let ok = json!({"type":"object","properties":{
            "region":{"type":"string","x-mcp-header":"Region"},
            "n":{"type":"integer","x-mcp-header":"N"},
            "plain":{"type":"number"}}});
        let mut got = tool_header_params(&ok).unwrap_or_default();
        got.sort();
        assert_eq!(
            got,
            [("n".into(), "N".into()), ("region".into(), "Region".into())]
        );
        let bad = |prop: Value| tool_header_params(&json!({"properties": {"a": prop}}));
        assert!(matches!(
            bad(json!({"type":"string","x-mcp-header":""})),
            Err(ToolHeaderError::Empty(_))
        ));
        for t in ["object", "array", "null", "number"] {
            assert!(matches!(
                bad(json!({"type":t,"x-mcp-header":"X"})),
                Err(ToolHeaderError::NotPrimitive(_))
            ));
        }
        for name in ["A B", "A:B", "Ä", "A\u{1}"] {
            assert!(matches!(
                bad(json!({"type":"string","x-mcp-header":name})),
                Err(ToolHeaderError::Charset(_))
            ));
        }
        let dup = json!({"properties":{
            "a":{"type":"string","x-mcp-header":"Region"},
            "b":{"type":"string","x-mcp-header":"REGION"}}});
        assert!(matches!(
            tool_header_params(&dup),
            Err(ToolHeaderError::Duplicate(_))
        ));
    }
}
