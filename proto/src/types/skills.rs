//! The skills extension (SEP-2640, `io.modelcontextprotocol/skills`) on the wire: skill entries
//! (`uri`, verbatim `frontmatter`, and the `resources` manifest of `{uri, digest, size}` or
//! `"dynamic"`), the `skills/list` and `skills/get` params and results, and
//! `resources/directory/read`. Loading skills, digests and limits are the server's; this only
//! names what crosses the wire.

use super::meta::{RequestMeta, ResultEnvelope};
use super::resources::Resource;
use serde::de::{self, Deserializer};
use serde::ser::Serializer;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The skills extension's identifier (capability key under `extensions`).
pub const SKILLS_EXTENSION: &str = "io.modelcontextprotocol/skills";
/// The `mimeType` of a directory resource (children listed by `resources/directory/read`).
pub const DIRECTORY_MIME_TYPE: &str = "inode/directory";
/// The `resources` value of a skill whose content is generated and cannot be pre-digested.
pub const DYNAMIC_RESOURCES: &str = "dynamic";

/// One file of a skill's manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkillFile {
    /// The file's resource URI (the skill's `SKILL.md` or a file under its directory).
    pub uri: String,
    /// `sha256:` and 64 lowercase hex digits of the raw bytes.
    pub digest: String,
    /// Length of the raw bytes.
    pub size: u64,
}

/// A skill's `resources`: the complete list of its files, or `"dynamic"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SkillResources {
    /// Every file of the skill, each once, `SKILL.md` included.
    Listed(Vec<SkillFile>),
    /// Generated content: no manifest (serialised as the string `"dynamic"`).
    Dynamic,
}

impl Serialize for SkillResources {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SkillResources::Listed(files) => files.serialize(s),
            SkillResources::Dynamic => s.serialize_str(DYNAMIC_RESOURCES),
        }
    }
}

impl<'de> Deserialize<'de> for SkillResources {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Wire {
            Listed(Vec<SkillFile>),
            Word(String),
        }
        match Wire::deserialize(d)? {
            Wire::Listed(files) => Ok(SkillResources::Listed(files)),
            Wire::Word(w) if w == DYNAMIC_RESOURCES => Ok(SkillResources::Dynamic),
            Wire::Word(w) => Err(de::Error::custom(format!(
                "resources must be an array or \"dynamic\", not {w:?}"
            ))),
        }
    }
}

/// A skill as `skills/list` and `skills/get` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkillEntry {
    /// URI of the skill's `SKILL.md`.
    pub uri: String,
    /// The `SKILL.md` YAML front matter rendered as JSON, verbatim.
    pub frontmatter: Map<String, Value>,
    /// The skill's files.
    pub resources: SkillResources,
}

/// `skills/list` result.
#[derive(Debug, Clone, Serialize)]
pub struct ListSkillsResult<'a> {
    /// One page of entries (an entry is never split across pages).
    pub skills: &'a [SkillEntry],
    /// Next page.
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// resultType, cache hints, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}

/// `skills/get` params.
#[derive(Debug, Clone, Deserialize)]
pub struct GetSkillParams {
    /// URI of a skill's `SKILL.md`.
    pub uri: String,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}

/// `skills/get` result: one entry, never a cursor.
#[derive(Debug, Clone, Serialize)]
pub struct GetSkillResult<'a> {
    /// The entry.
    pub skill: &'a SkillEntry,
    /// resultType, cache hints, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}

/// `resources/directory/read` params.
#[derive(Debug, Clone, Deserialize)]
pub struct DirectoryReadParams {
    /// URI of a directory resource (no trailing slash).
    pub uri: String,
    /// Opaque cursor from a previous page.
    #[serde(default)]
    pub cursor: Option<String>,
    /// Request meta.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}

/// `resources/directory/read` result: the direct children, subdirectories as
/// [`DIRECTORY_MIME_TYPE`] resources.
#[derive(Debug, Clone, Serialize)]
pub struct DirectoryReadResult<'a> {
    /// One page of children.
    pub resources: &'a [Resource],
    /// Next page.
    #[serde(rename = "nextCursor", skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    /// resultType, cache hints, server info.
    #[serde(flatten)]
    pub envelope: ResultEnvelope,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dispatch::{ClientRequest, Era};
    use crate::jsonrpc::{code, ErrorObject};
    use serde_json::json;
    use serde_json::value::RawValue;

    #[test]
    fn resources_are_a_list_or_dynamic() {
        let listed = SkillEntry {
            uri: "skill://a/SKILL.md".into(),
            frontmatter: json!({"name": "a", "description": "d"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            resources: SkillResources::Listed(vec![SkillFile {
                uri: "skill://a/SKILL.md".into(),
                digest: format!("sha256:{}", "0".repeat(64)),
                size: 3,
            }]),
        };
        let wire = serde_json::to_value(&listed).unwrap_or_default();
        assert_eq!(wire["resources"][0]["size"], 3);
        assert_eq!(wire["frontmatter"]["name"], "a");
        let back: SkillEntry = serde_json::from_value(wire).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, listed);

        let dynamic = SkillEntry {
            resources: SkillResources::Dynamic,
            ..listed
        };
        let wire = serde_json::to_value(&dynamic).unwrap_or_default();
        assert_eq!(wire["resources"], "dynamic");
        let back: SkillEntry = serde_json::from_value(wire).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.resources, SkillResources::Dynamic);
        assert!(serde_json::from_value::<SkillResources>(json!("static")).is_err());
        assert!(serde_json::from_value::<SkillResources>(json!(7)).is_err());
    }

    #[test]
    fn directory_params() {
        let p: DirectoryReadParams =
            serde_json::from_value(json!({"uri": "skill://a", "cursor": "c"}))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (p.uri.as_str(), p.cursor.as_deref()),
            ("skill://a", Some("c"))
        );
        assert!(serde_json::from_value::<GetSkillParams>(json!({})).is_err());
    }

    fn req(method: &str, params: &str) -> Result<ClientRequest, ErrorObject> {
        let raw = RawValue::from_string(params.to_owned()).unwrap();
        ClientRequest::parse(method, Some(&raw))
    }

    #[test]
    fn skills_methods_in_both_eras() {
        let m = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
        for (method, params) in [
            ("skills/list", r#""cursor":"c""#),
            ("skills/get", r#""uri":"skill://a/SKILL.md""#),
            ("resources/directory/read", r#""uri":"skill://a""#),
        ] {
            let mut legacy = req(method, &format!("{{{params}}}")).unwrap();
            assert!(legacy.is_legacy_method() && legacy.is_modern_method());
            assert!(matches!(Era::of(&mut legacy), Ok(Era::Legacy)), "{method}");
            let mut modern = req(method, &format!("{{{params},{m}}}")).unwrap();
            assert!(
                matches!(Era::of(&mut modern), Ok(Era::Modern(_))),
                "{method}"
            );
        }
        assert_eq!(
            req("skills/get", "{}").unwrap_err().code,
            code::INVALID_PARAMS
        );
        let none = ClientRequest::parse("resources/directory/read", None);
        assert_eq!(none.unwrap_err().code, code::INVALID_PARAMS);
    }
}
