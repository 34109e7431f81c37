//! What a skill must be (SEP-2640 and the Agent Skills format it delegates to): the `SKILL.md`
//! front matter (found as the conformance suite finds it, parsed as YAML into JSON so numbers stay
//! numbers), the naming rules, the description length, the reserved metadata prefix, path
//! segments, and the [`SkillError`] each broken rule is reported as. Also the pure helpers a
//! manifest needs: digests, MIME types by extension, URI segment encoding. No file system here.

use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::PathBuf;

/// Longest skill name (Agent Skills).
pub(crate) const NAME_MAX: usize = 64;
/// Longest description, in characters (Agent Skills).
pub(crate) const DESCRIPTION_MAX: usize = 1024;
/// The `metadata` key prefix SEP-2640 reserves for MCP extensions.
pub(crate) const RESERVED_METADATA_PREFIX: &str = "io.modelcontextprotocol/";

/// Why a skill was refused (inside [`crate::sdk::BuildError::Skill`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SkillError {
    /// The skill has no `SKILL.md` at its root.
    #[error("no SKILL.md at the skill's root")]
    NoSkillMd,
    /// `SKILL.md` is not UTF-8 text.
    #[error("SKILL.md is not UTF-8 text")]
    SkillMdNotText,
    /// `SKILL.md` does not start with a `---` front matter block closed by a `---` line.
    #[error("SKILL.md must start with YAML front matter between two `---` lines")]
    MissingFrontMatter,
    /// The front matter is not valid YAML, or holds what JSON cannot (non-string keys).
    #[error("front matter is not valid YAML: {0}")]
    BadYaml(String),
    /// The front matter is YAML but not a mapping.
    #[error("front matter must be a YAML mapping of fields")]
    FrontMatterNotMapping,
    /// `name` or `description` is missing, empty or not a string.
    #[error("front matter field `{0}` is required and must be a non-empty string")]
    MissingField(&'static str),
    /// `name` breaks the naming rules.
    #[error(
        "name {0:?} must be 1 to {NAME_MAX} characters of a-z, 0-9 and `-`, \
         neither starting nor ending with `-`, with no `--`"
    )]
    BadName(String),
    /// The skill path's last segment is not the front matter `name`.
    #[error("the skill's folder (last path segment) {segment:?} must equal its name {name:?}")]
    NameMismatch {
        /// Front matter `name`.
        name: String,
        /// Last segment of the skill path.
        segment: String,
    },
    /// `description` is longer than 1024 characters.
    #[error("description has {0} characters; at most {DESCRIPTION_MAX} are allowed")]
    DescriptionTooLong(usize),
    /// `metadata` is present but not a mapping.
    #[error("front matter field `metadata` must be a mapping")]
    MetadataNotMapping,
    /// A `metadata` key uses the prefix reserved for MCP extensions.
    #[error("metadata key {0:?} uses the prefix {RESERVED_METADATA_PREFIX:?} reserved for MCP extensions")]
    ReservedMetadataKey(String),
    /// A segment of the skill path or of a file path is empty, `.` or `..`, or holds `/` or `\`.
    #[error("path {0:?} has an empty, `.`, `..` or otherwise unusable segment")]
    BadPath(String),
    /// More files than the limit.
    #[error("{count} files; at most {max} per skill (see ServerBuilder::skill_limits)")]
    TooManyFiles {
        /// Files in the skill.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// More bytes than the limit.
    #[error("{bytes} bytes in all; at most {max} per skill (see ServerBuilder::skill_limits)")]
    TooLarge {
        /// Total size of the skill's files.
        bytes: u64,
        /// The limit.
        max: u64,
    },
    /// The same file URI was registered twice with different content.
    #[error("file {0} is registered twice with different content")]
    DuplicateFile(String),
    /// A symbolic link leads outside the skill's folder.
    #[error("symbolic link {0:?} leads outside the skill's folder")]
    SymlinkOutside(PathBuf),
    /// A symbolic link to a folder (not followed, so that no loop can form).
    #[error("symbolic link {0:?} leads to a folder; only links to files are followed")]
    SymlinkedFolder(PathBuf),
    /// A file or folder name that is not UTF-8.
    #[error("name {0:?} is not UTF-8")]
    NonUtf8Name(PathBuf),
    /// A `SKILL.md` directly in the skills folder, with no folder to name the skill.
    #[error("SKILL.md directly in the skills folder; put each skill in a folder named after it")]
    SkillMdAtRoot,
    /// Reading the folder or a file failed.
    #[error("cannot read {path:?}: {reason}")]
    Io {
        /// What could not be read.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
}

/// The front matter block of a `SKILL.md`, the way the conformance suite cuts it: an optional
/// BOM, `---` and a line break, the block, a line break and a `---` line (trailing blanks
/// allowed).
pub(crate) fn front_matter(text: &str) -> Option<&str> {
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

/// The front matter of a `SKILL.md` as JSON. YAML numbers, booleans and nulls keep their types,
/// as the suite's YAML parser sees them, so that the listing's copy compares equal to the file.
pub(crate) fn parse_front_matter(text: &str) -> Result<Map<String, Value>, SkillError> {
    let block = front_matter(text).ok_or(SkillError::MissingFrontMatter)?;
    let value: Value =
        serde_norway::from_str(block).map_err(|e| SkillError::BadYaml(e.to_string()))?;
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(SkillError::FrontMatterNotMapping),
    }
}

/// Whether `name` follows the naming rules:
/// `^(?!.*--)[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$`.
pub(crate) fn valid_name(name: &str) -> bool {
    let ok_chars = name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    ok_chars
        && (1..=NAME_MAX).contains(&name.len())
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

fn required_str<'a>(
    fm: &'a Map<String, Value>,
    field: &'static str,
) -> Result<&'a str, SkillError> {
    match fm.get(field) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s),
        _ => Err(SkillError::MissingField(field)),
    }
}

/// Check a parsed front matter against the rules; `segment` is the skill path's last segment.
/// Returns `(name, description)`.
pub(crate) fn check_front_matter<'a>(
    fm: &'a Map<String, Value>,
    segment: &str,
) -> Result<(&'a str, &'a str), SkillError> {
    let name = required_str(fm, "name")?;
    let description = required_str(fm, "description")?;
    if !valid_name(name) {
        return Err(SkillError::BadName(name.to_owned()));
    }
    if name != segment {
        return Err(SkillError::NameMismatch {
            name: name.to_owned(),
            segment: segment.to_owned(),
        });
    }
    let chars = description.chars().count();
    if chars > DESCRIPTION_MAX {
        return Err(SkillError::DescriptionTooLong(chars));
    }
    match fm.get("metadata") {
        None | Some(Value::Null) => {}
        Some(Value::Object(meta)) => {
            if let Some(key) = meta
                .keys()
                .find(|k| k.starts_with(RESERVED_METADATA_PREFIX))
            {
                return Err(SkillError::ReservedMetadataKey(key.clone()));
            }
        }
        Some(_) => return Err(SkillError::MetadataNotMapping),
    }
    Ok((name, description))
}

/// The segments of a `/`-separated path, each one usable as a file or folder name.
pub(crate) fn segments(path: &str) -> Result<Vec<&str>, SkillError> {
    let parts: Vec<&str> = path.split('/').collect();
    let bad = |s: &&str| s.is_empty() || *s == "." || *s == ".." || s.contains('\\');
    if parts.iter().any(bad) {
        return Err(SkillError::BadPath(path.to_owned()));
    }
    Ok(parts)
}

/// `sha256:` and the lowercase hex digest of `bytes`.
pub(crate) fn digest(bytes: &[u8]) -> String {
    let hash = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in hash {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The MIME type of a skill file, by its extension; unknown ones are text when they are UTF-8.
pub(crate) fn mime_of(file_name: &str, bytes: &[u8]) -> &'static str {
    let ext = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "md" | "markdown" => "text/markdown",
        "txt" => "text/plain",
        "py" => "text/x-python",
        "sh" => "text/x-shellscript",
        "js" | "mjs" => "text/javascript",
        "html" | "htm" => "text/html",
        "css" => "text/css",
        "csv" => "text/csv",
        "json" => "application/json",
        "yaml" | "yml" => "application/yaml",
        "toml" => "application/toml",
        "xml" => "application/xml",
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        _ if std::str::from_utf8(bytes).is_ok() => "text/plain",
        _ => "application/octet-stream",
    }
}

/// One path segment as it may stand in a URI (and, first, as an RFC 3986 `reg-name`):
/// unreserved characters and sub-delims stay, everything else is percent-encoded.
pub(crate) fn encode_segment(segment: &str) -> Cow<'_, str> {
    let keep = |b: u8| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=".contains(&b);
    if segment.bytes().all(keep) {
        return Cow::Borrowed(segment);
    }
    let mut out = String::with_capacity(segment.len() * 3);
    for b in segment.bytes() {
        if keep(b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    Cow::Owned(out)
}
