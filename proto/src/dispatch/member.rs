//! [`object_member`]: one member of a JSON object, read from its text without building the
//! object. Capability checks run on every 2026-07-28 request; this reads them without a heap
//! allocation: the text is already known to be JSON (a `RawValue`'s), so it is scanned, not
//! parsed again (serde's skipping of nested values keeps a stack on the heap).

/// The JSON text of one non-null member of the object `object` (the last one, when a name
/// repeats); `None` when `object` is not an object. `object` must be valid JSON text, as a
/// `RawValue` holds: other text gives some answer, never a panic.
pub fn object_member<'a>(object: &'a str, name: &str) -> Option<&'a str> {
    let b = object.as_bytes();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    let mut found = None;
    if b.get(i) == Some(&b'}') {
        return None;
    }
    loop {
        let key_end = skip_string(b, i)?;
        let key = object.get(i + 1..key_end - 1)?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let start = skip_ws(b, i + 1);
        let end = skip_value(b, start)?;
        if key_is(key, name) {
            found = object.get(start..end);
        }
        i = skip_ws(b, end);
        match b.get(i) {
            Some(b',') => i = skip_ws(b, i + 1),
            Some(b'}') => break,
            _ => return None,
        }
    }
    found.filter(|value| *value != "null")
}

/// Whether the raw text of a member name (between its quotes) names `name`.
fn key_is(raw: &str, name: &str) -> bool {
    if !raw.contains('\\') {
        return raw == name;
    }
    // Escaped names are rare: decoding them may allocate.
    serde_json::from_str::<String>(&format!("\"{raw}\"")).is_ok_and(|key| key == name)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
        i += 1;
    }
    i
}

/// Past the string that opens at `i`.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    if b.get(i) != Some(&b'"') {
        return None;
    }
    let mut j = i + 1;
    loop {
        match b.get(j)? {
            b'"' => return Some(j + 1),
            b'\\' => j += 2,
            _ => j += 1,
        }
    }
}

/// Past the value that starts at `i` (nesting counted, strings skipped whole).
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            // The opening bracket comes first, so the depth is at least 1 before any close.
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match b.get(j)? {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let mut j = i;
            while !matches!(
                b.get(j),
                None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            ) {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::object_member;

    #[test]
    fn members_are_found_skipped_and_refused_like_a_parser_would() {
        let text = r#" { "a" : [1, {"b": "}"}] , "s":"x\"y", "n": -1.5e3 ,"t":true, "a2":{} } "#;
        assert_eq!(object_member(text, "a"), Some(r#"[1, {"b": "}"}]"#));
        assert_eq!(object_member(text, "s"), Some(r#""x\"y""#));
        assert_eq!(object_member(text, "n"), Some("-1.5e3"));
        assert_eq!(object_member(text, "t"), Some("true"));
        assert_eq!(object_member(text, "a2"), Some("{}"));
        assert_eq!(object_member(text, "b"), None, "only top-level members");
        assert_eq!(
            object_member(r#"{"k":1,"k":2}"#, "k"),
            Some("2"),
            "the last one"
        );
        assert_eq!(object_member("{}", "k"), None);
        assert_eq!(
            object_member(r#""{\"k\":1}""#, "k"),
            None,
            "a string is no object"
        );
        for broken in ["{", r#"{"k""#, r#"{"k":"#, r#"{"k":1"#, r#"{"k" 1}"#, ""] {
            assert_eq!(object_member(broken, "k"), None, "{broken}");
        }
    }
}
