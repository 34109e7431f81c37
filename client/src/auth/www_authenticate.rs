//! Parsing `WWW-Authenticate` (RFC 9110 section 11.6.1): a list of challenges, each a scheme and
//! auth-params, possibly several per header value. The authorizer reads `resource_metadata`
//! (RFC 9728), `scope` and `error` (RFC 6750) from it. Parsing only: no decisions here.

/// One challenge: a scheme (`Bearer`, `DPoP`) and its parameters, names lower-cased.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct AuthChallenge {
    pub(crate) scheme: String,
    pub(crate) params: Vec<(String, String)>,
}

impl AuthChallenge {
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Every challenge in the given header values. Malformed pieces are skipped rather than
/// failing the whole header: a server's odd extra parameter must not hide `resource_metadata`.
pub(crate) fn parse(values: &[String]) -> Vec<AuthChallenge> {
    let mut out = Vec::new();
    for value in values {
        parse_one(value, &mut out);
    }
    out
}

/// The first value of `name` among challenges of the schemes we can answer (Bearer, DPoP),
/// else among any challenge.
pub(crate) fn find<'a>(challenges: &'a [AuthChallenge], name: &str) -> Option<&'a str> {
    let ours = |c: &&AuthChallenge| {
        c.scheme.eq_ignore_ascii_case("bearer") || c.scheme.eq_ignore_ascii_case("dpop")
    };
    challenges
        .iter()
        .filter(ours)
        .find_map(|c| c.param(name))
        .or_else(|| challenges.iter().find_map(|c| c.param(name)))
}

fn parse_one(value: &str, out: &mut Vec<AuthChallenge>) {
    let mut rest = value.trim_start();
    let mut current: Option<AuthChallenge> = None;
    while !rest.is_empty() {
        rest = rest.trim_start_matches([' ', '\t', ',']);
        let (token, after) = take_token(rest);
        if token.is_empty() {
            // Not a token: skip one character so a stray byte cannot loop us.
            let mut chars = rest.chars();
            chars.next();
            rest = chars.as_str();
            continue;
        }
        let after_ws = after.trim_start_matches([' ', '\t']);
        if let Some(value_part) = after_ws.strip_prefix('=') {
            // A parameter of the current challenge (or a token68 ending in '=').
            let value_part = value_part.trim_start_matches([' ', '\t']);
            let (val, remaining) = if value_part.starts_with('"') {
                take_quoted(value_part)
            } else {
                let (v, r) = take_token(value_part);
                (v.to_owned(), r)
            };
            if let Some(challenge) = current.as_mut() {
                challenge.params.push((token.to_ascii_lowercase(), val));
            }
            rest = remaining;
        } else {
            // A new scheme begins.
            if let Some(done) = current.take() {
                out.push(done);
            }
            current = Some(AuthChallenge {
                scheme: token.to_owned(),
                params: Vec::new(),
            });
            rest = after;
        }
    }
    if let Some(done) = current {
        out.push(done);
    }
}

fn take_token(s: &str) -> (&str, &str) {
    let end = s
        .find(|c: char| c.is_whitespace() || c == ',' || c == '=' || c == '"')
        .unwrap_or(s.len());
    s.split_at(end)
}

/// A quoted-string starting at `s[0] == '"'`, with backslash escapes; an unterminated one runs
/// to the end.
fn take_quoted(s: &str) -> (String, &str) {
    let mut out = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => {
                if let Some((_, escaped)) = chars.next() {
                    out.push(escaped);
                }
            }
            '"' => return (out, &s[i + 1..]),
            _ => out.push(c),
        }
    }
    (out, "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_with_quoted_params() {
        let v = vec![r#"Bearer error="insufficient_scope", scope="mcp:basic mcp:write", resource_metadata="http://localhost:1/.well-known/oauth-protected-resource/mcp""#.to_owned()];
        let c = parse(&v);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "Bearer");
        assert_eq!(find(&c, "error"), Some("insufficient_scope"));
        assert_eq!(find(&c, "scope"), Some("mcp:basic mcp:write"));
        assert_eq!(
            find(&c, "resource_metadata"),
            Some("http://localhost:1/.well-known/oauth-protected-resource/mcp")
        );
    }

    #[test]
    fn several_challenges_in_one_value_and_escapes() {
        let v = vec![r#"Basic realm="a\"b", DPoP algs="ES256", error=use_dpop_nonce"#.to_owned()];
        let c = parse(&v);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].param("realm"), Some("a\"b"));
        assert_eq!(c[1].scheme, "DPoP");
        assert_eq!(c[1].param("algs"), Some("ES256"));
        assert_eq!(find(&c, "error"), Some("use_dpop_nonce"));
    }

    #[test]
    fn bare_scheme_and_garbage_do_not_panic() {
        let c = parse(&["Bearer".to_owned(), "=\"x, ,".to_owned()]);
        assert_eq!(c[0].scheme, "Bearer");
        assert!(c[0].params.is_empty());
        assert_eq!(find(&c, "scope"), None);
    }
}
