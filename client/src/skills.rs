//! The skills extension (`io.modelcontextprotocol/skills`, SEP-2640) on the client side: list the
//! server's skills without reading any of their files, and read a skill's file only when the
//! skill is used, verifying it against the listing first (byte size, `sha256:` digest, and for
//! `SKILL.md` its YAML front matter field by field). Content that fails verification is never
//! returned. Reading resources is the blocking client's job; this file owns the verification.

use crate::blocking::{Client, ClientError};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// Why a skill or one of its files was rejected.
#[derive(Debug, thiserror::Error)]
pub enum SkillError {
    /// The listing's entry lacks a field the check needs.
    #[error("skill entry: {0}")]
    Entry(String),
    /// The read returned no text or blob.
    #[error("{0}: the read returned no content")]
    NoContent(String),
    /// The file's byte length differs from the listing's.
    #[error("{uri}: {got} bytes, the listing says {want}")]
    Size {
        /// The file.
        uri: String,
        /// Bytes read.
        got: u64,
        /// Bytes listed.
        want: u64,
    },
    /// The file's digest differs from the listing's.
    #[error("{uri}: digest {got}, the listing says {want}")]
    Digest {
        /// The file.
        uri: String,
        /// Digest of what was read.
        got: String,
        /// Digest listed.
        want: String,
    },
    /// `SKILL.md` has no parsable front matter.
    #[error("{uri}: front matter: {why}")]
    FrontMatter {
        /// The file.
        uri: String,
        /// What is wrong.
        why: String,
    },
    /// A front matter field differs from the listing's.
    #[error("{uri}: front matter field '{field}' differs from the listing")]
    FrontMatterMismatch {
        /// The file.
        uri: String,
        /// The field.
        field: String,
    },
}

/// `sha256:` and the lower-case hex digest of `bytes`, as skill listings write it.
pub fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The YAML block between the opening `---` line and the next `---` line (the same rule as the
/// server's skills loader).
fn front_matter_block(text: &str) -> Option<&str> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let rest = text
        .strip_prefix("---\r\n")
        .or_else(|| text.strip_prefix("---\n"))?;
    let mut from = 0;
    while let Some(at) = rest[from..].find("\n---").map(|i| i + from) {
        let after = rest[at + 4..].trim_start_matches([' ', '\t']);
        if after.is_empty() || after.starts_with('\n') || after.starts_with("\r\n") {
            let block = &rest[..at];
            return Some(block.strip_suffix('\r').unwrap_or(block));
        }
        from = at + 1;
    }
    None
}

/// Parse a `SKILL.md`'s front matter as JSON.
pub fn parse_front_matter(uri: &str, text: &str) -> Result<Map<String, Value>, SkillError> {
    let bad = |why: String| SkillError::FrontMatter {
        uri: uri.to_owned(),
        why,
    };
    let block = front_matter_block(text).ok_or_else(|| bad("missing".into()))?;
    match serde_norway::from_str::<Value>(block) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad("not a mapping".into())),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// The bytes of a `resources/read` result's first content.
fn content_bytes(uri: &str, result: &Value) -> Result<Vec<u8>, SkillError> {
    let content = result
        .get("contents")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .ok_or_else(|| SkillError::NoContent(uri.to_owned()))?;
    if let Some(text) = content.get("text").and_then(Value::as_str) {
        return Ok(text.as_bytes().to_vec());
    }
    content
        .get("blob")
        .and_then(Value::as_str)
        .and_then(|b| STANDARD.decode(b).ok())
        .ok_or_else(|| SkillError::NoContent(uri.to_owned()))
}

/// Check `bytes` against a listing's file entry (`{uri, digest, size}`).
pub fn verify_file(entry: &Value, uri: &str, bytes: &[u8]) -> Result<(), SkillError> {
    if let Some(want) = entry.get("size").and_then(Value::as_u64) {
        let got = bytes.len() as u64;
        if got != want {
            return Err(SkillError::Size {
                uri: uri.to_owned(),
                got,
                want,
            });
        }
    }
    let want = entry
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| SkillError::Entry(format!("{uri} is listed without a digest")))?;
    let got = digest(bytes);
    if !got.eq_ignore_ascii_case(want) {
        return Err(SkillError::Digest {
            uri: uri.to_owned(),
            got,
            want: want.to_owned(),
        });
    }
    Ok(())
}

/// Compare a `SKILL.md`'s front matter with the listing's, field by field.
pub fn verify_front_matter(skill: &Value, uri: &str, text: &str) -> Result<(), SkillError> {
    let listed = skill
        .get("frontmatter")
        .and_then(Value::as_object)
        .ok_or_else(|| SkillError::Entry("skill listed without frontmatter".into()))?;
    let file = parse_front_matter(uri, text)?;
    let fields = listed.keys().chain(file.keys());
    for field in fields {
        if listed.get(field) != file.get(field) {
            return Err(SkillError::FrontMatterMismatch {
                uri: uri.to_owned(),
                field: field.clone(),
            });
        }
    }
    Ok(())
}

impl Client {
    /// `skills/list`, every page. Reads none of the skills' files.
    pub fn list_skills(&mut self) -> Result<Vec<Value>, ClientError> {
        self.list_all("skills/list", "skills")
    }

    /// Read one file of a listed skill and verify it against the listing; unlisted files and
    /// files that fail verification are refused.
    pub fn read_skill_file(&mut self, skill: &Value, uri: &str) -> Result<Vec<u8>, ClientError> {
        let entry = skill
            .get("resources")
            .and_then(Value::as_array)
            .and_then(|files| {
                files
                    .iter()
                    .find(|f| f.get("uri").and_then(Value::as_str) == Some(uri))
            })
            .cloned()
            .ok_or_else(|| SkillError::Entry(format!("{uri} is not listed for this skill")))?;
        let result = self.read_resource(uri)?;
        let bytes = content_bytes(uri, &result)?;
        verify_file(&entry, uri, &bytes)?;
        Ok(bytes)
    }

    /// Load a listed skill: read its `SKILL.md`, verify size, digest and front matter, and
    /// return its text.
    pub fn load_skill(&mut self, skill: &Value) -> Result<String, ClientError> {
        let uri = skill
            .get("uri")
            .and_then(Value::as_str)
            .ok_or_else(|| SkillError::Entry("skill listed without a uri".into()))?
            .to_owned();
        let bytes = self.read_skill_file(skill, &uri)?;
        let text = String::from_utf8(bytes).map_err(|_| SkillError::FrontMatter {
            uri: uri.clone(),
            why: "SKILL.md is not UTF-8".into(),
        })?;
        verify_front_matter(skill, &uri, &text)?;
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SKILL: &str =
        "---\nname: pdf-processing\ndescription: Extract, fill, and assemble PDF documents\n---\n\nSkill body.\n";

    fn listing(text: &str) -> Value {
        json!({"uri":"skill://pdf-processing/SKILL.md",
               "frontmatter":{"name":"pdf-processing","description":"Extract, fill, and assemble PDF documents"},
               "resources":[{"uri":"skill://pdf-processing/SKILL.md","digest":digest(text.as_bytes()),"size":text.len()}]})
    }

    #[test]
    fn verifies_size_digest_and_front_matter() {
        let skill = listing(SKILL);
        let entry = &skill["resources"][0];
        let uri = "skill://pdf-processing/SKILL.md";
        assert!(verify_file(entry, uri, SKILL.as_bytes()).is_ok());
        assert!(verify_front_matter(&skill, uri, SKILL).is_ok());
        let evil = SKILL.replace("Skill body.", "Evil body!!");
        assert!(matches!(
            verify_file(entry, uri, evil.as_bytes()),
            Err(SkillError::Digest { .. })
        ));
        let longer = format!("{SKILL}extra\n");
        assert!(matches!(
            verify_file(entry, uri, longer.as_bytes()),
            Err(SkillError::Size { .. })
        ));
        let changed = SKILL.replace(
            "description: Extract, fill, and assemble PDF documents",
            "description: Exfiltrate credentials",
        );
        assert!(matches!(
            verify_front_matter(&listing(&changed), uri, &changed),
            Err(SkillError::FrontMatterMismatch { .. })
        ));
        assert_eq!(
            digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
