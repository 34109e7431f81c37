//! Matching URIs against RFC 6570 level-1 templates (`demo://greeting/{name}`): enough for resource
//! templates, where each `{var}` stands for one non-empty run of characters without `/`.

use std::collections::BTreeMap;

/// A parsed URI template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(String),
}

/// Why a template could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// `{` without `}` or an empty name.
    #[error("malformed variable in URI template {0:?}")]
    Malformed(String),
    /// Two variables with nothing between them cannot be told apart.
    #[error("adjacent variables in URI template {0:?}")]
    Adjacent(String),
}

impl UriTemplate {
    /// Parse a template.
    pub fn parse(template: &str) -> Result<Self, TemplateError> {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(open) = rest.find('{') {
            if open > 0 {
                parts.push(Part::Literal(rest[..open].to_owned()));
            }
            let close = rest[open..]
                .find('}')
                .ok_or_else(|| TemplateError::Malformed(template.into()))?
                + open;
            let name = &rest[open + 1..close];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(TemplateError::Malformed(template.into()));
            }
            if matches!(parts.last(), Some(Part::Var(_))) {
                return Err(TemplateError::Adjacent(template.into()));
            }
            parts.push(Part::Var(name.to_owned()));
            rest = &rest[close + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Ok(UriTemplate { parts })
    }

    /// The variable names, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Var(v) => Some(v.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The variables' values if `uri` matches.
    pub fn matches(&self, uri: &str) -> Option<BTreeMap<String, String>> {
        let mut vars = BTreeMap::new();
        let mut rest = uri;
        for (i, part) in self.parts.iter().enumerate() {
            match part {
                Part::Literal(lit) => rest = rest.strip_prefix(lit.as_str())?,
                Part::Var(name) => {
                    let end = match self.parts.get(i + 1) {
                        Some(Part::Literal(next)) => rest.find(next.as_str())?,
                        _ => rest.len(),
                    };
                    let value = &rest[..end];
                    if value.is_empty() || value.contains('/') {
                        return None;
                    }
                    vars.insert(name.clone(), value.to_owned());
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(vars)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        let t = UriTemplate::parse("demo://greeting/{name}")
            .unwrap_or_else(|_| UriTemplate { parts: vec![] });
        assert_eq!(
            t.matches("demo://greeting/ada")
                .and_then(|v| v.get("name").cloned()),
            Some("ada".into())
        );
        assert_eq!(t.matches("demo://greeting/"), None);
        assert_eq!(t.matches("demo://greeting/a/b"), None);
        assert_eq!(t.matches("demo://other/ada"), None);
        let t2 =
            UriTemplate::parse("x://{a}.{b}/z").unwrap_or_else(|_| UriTemplate { parts: vec![] });
        let m = t2.matches("x://one.two/z").unwrap_or_default();
        assert_eq!((m["a"].as_str(), m["b"].as_str()), ("one", "two"));
        assert!(UriTemplate::parse("x://{a}{b}").is_err());
        assert!(UriTemplate::parse("x://{a").is_err());
    }
}
