//! Skills (SEP-2640, `io.modelcontextprotocol/skills`) in the SDK: [`SkillDef`] for a skill
//! registered in code or read from one folder, [`ServerBuilder::skills_dir`] for a folder of
//! skills, [`SkillLimits`], and the assembly at build time: front matter parsed and checked
//! ([`rules`]), sha256 digests and sizes, each file registered as an ordinary resource
//! (`skill://<skill-path>/<file>`, `SKILL.md` as `text/markdown` named and described by its front
//! matter), and the directory tree that `resources/directory/read` answers from. It produces
//! registry parts; answering requests is the engine's, and it must not touch sessions or shards.

mod load;
mod rules;
#[cfg(test)]
mod tests;

use super::builder::ServerBuilder;
use super::error::BuildError;
use super::registry::{ReadFn, ResourceEntry};
use base64::Engine as _;
use ringmcp_proto::types::{
    Resource, ResourceContents, SkillEntry, SkillFile, SkillResources, DIRECTORY_MIME_TYPE,
};
pub use rules::SkillError;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

/// The name of the file every skill has at its root.
pub const SKILL_MD: &str = "SKILL.md";

/// The most files and bytes one skill may hold. SEP-2640 says a skill SHOULD NOT pass 512
/// files or 16 MiB; [`ServerBuilder::build`] refuses one that does, unless the limits are raised
/// with [`ServerBuilder::skill_limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SkillLimits {
    /// Files per skill, `SKILL.md` included.
    pub max_files: usize,
    /// Bytes per skill, all files together.
    pub max_bytes: u64,
}

impl Default for SkillLimits {
    fn default() -> Self {
        SkillLimits {
            max_files: 512,
            max_bytes: 16 * 1024 * 1024,
        }
    }
}

/// One file of a [`SkillDef`].
#[derive(Debug, Clone)]
struct FileDef {
    /// Path under the skill's folder, `/`-separated.
    rel: String,
    bytes: Arc<[u8]>,
    /// MIME type; by extension when not given.
    mime: Option<String>,
}

/// A skill to register: a skill path (`pdf-processing`, or `acme/billing/refunds` with a
/// prefix; its last segment must be the skill's `name`) and its files, given in code or read
/// from a folder when the registry is built.
///
/// ```
/// use ringmcp::sdk::{ServerBuilder, SkillDef};
///
/// let skill_md = "---\nname: greeting\ndescription: How to greet people.\n---\nSay hello.\n";
/// let registry = ServerBuilder::new("skills", "1.0.0")
///     .skill(SkillDef::new("greeting", skill_md).file("examples/formal.md", "Good day."))
///     .build()
///     .expect("valid skill");
/// # let _ = registry;
/// ```
#[derive(Debug, Clone)]
pub struct SkillDef {
    path: String,
    files: Vec<FileDef>,
    /// A folder whose files are read at build time, before `files`.
    dir: Option<PathBuf>,
}

impl SkillDef {
    /// A skill at `skill_path` with its `SKILL.md` text (front matter included).
    pub fn new(skill_path: impl Into<String>, skill_md: impl Into<String>) -> Self {
        SkillDef {
            path: skill_path.into(),
            files: vec![FileDef {
                rel: SKILL_MD.to_owned(),
                bytes: skill_md.into().into_bytes().into(),
                mime: None,
            }],
            dir: None,
        }
    }

    /// A skill at `skill_path` whose files are those under `dir` (read when the registry is
    /// built; `dir` must hold a `SKILL.md`).
    pub fn from_dir(skill_path: impl Into<String>, dir: impl Into<PathBuf>) -> Self {
        SkillDef {
            path: skill_path.into(),
            files: Vec::new(),
            dir: Some(dir.into()),
        }
    }

    /// Add a file at `rel` (a `/`-separated path under the skill's folder); its MIME type comes
    /// from its extension.
    pub fn file(mut self, rel: impl Into<String>, bytes: impl Into<Vec<u8>>) -> Self {
        self.files.push(FileDef {
            rel: rel.into(),
            bytes: bytes.into().into(),
            mime: None,
        });
        self
    }

    /// Add a file with an explicit MIME type.
    pub fn file_as(
        mut self,
        rel: impl Into<String>,
        bytes: impl Into<Vec<u8>>,
        mime: impl Into<String>,
    ) -> Self {
        self.files.push(FileDef {
            rel: rel.into(),
            bytes: bytes.into().into(),
            mime: Some(mime.into()),
        });
        self
    }
}

/// Where the builder's skills come from, in registration order (kept by the registry, so that a
/// live set rebuilt from it reads its folders again).
#[derive(Clone)]
pub(crate) enum SkillSource {
    One(SkillDef),
    Root(PathBuf),
}

impl ServerBuilder {
    /// Register a skill (see [`SkillDef`]). Declares the skills extension.
    pub fn skill(mut self, def: SkillDef) -> Self {
        self.skills.push(SkillSource::One(def));
        self
    }

    /// Register every skill under `root`: each folder holding a `SKILL.md` is a skill, its path
    /// under `root` the skill path (`root/acme/billing/refunds/SKILL.md` is
    /// `skill://acme/billing/refunds/SKILL.md`), every file under it one of its files. Read when
    /// the registry is built; a skill that breaks a rule fails the build with
    /// [`BuildError::Skill`].
    pub fn skills_dir(mut self, root: impl Into<PathBuf>) -> Self {
        self.skills.push(SkillSource::Root(root.into()));
        self
    }

    /// Change the per-skill limits on files and bytes (default: 512 files, 16 MiB).
    pub fn skill_limits(mut self, limits: SkillLimits) -> Self {
        self.skill_limits = limits;
        self
    }
}

/// What the registry keeps of its skills.
#[derive(Default)]
pub(crate) struct SkillSet {
    /// What `skills/list` shows, in registration order.
    pub(crate) entries: Vec<SkillEntry>,
    /// Every skill file as a resource, each URI once.
    pub(crate) resources: Vec<ResourceEntry>,
    /// Directory URI -> its direct children (subfolders as `inode/directory`), by name.
    pub(crate) dirs: HashMap<String, Vec<Resource>>,
}

/// A file on its way into the set: its URI's segments after `skill://`, and its digest.
struct Placed {
    segments: Vec<String>,
    digest: String,
    entry: ResourceEntry,
}

/// Load, check and index every skill.
pub(super) fn assemble(
    sources: Vec<SkillSource>,
    limits: SkillLimits,
) -> Result<SkillSet, BuildError> {
    let mut defs = Vec::new();
    for source in sources {
        match source {
            SkillSource::One(def) => defs.push(def),
            SkillSource::Root(root) => defs.extend(
                load::skills_root(&root, limits)
                    .map_err(|(skill, source)| BuildError::Skill { skill, source })?,
            ),
        }
    }
    let mut entries = Vec::with_capacity(defs.len());
    let mut placed: Vec<Placed> = Vec::new();
    let mut by_uri: HashMap<String, usize> = HashMap::new();
    for def in defs {
        let skill = def.path.clone();
        let wrap = |source| BuildError::Skill {
            skill: skill.clone(),
            source,
        };
        let (entry, files) = one_skill(def, limits).map_err(wrap)?;
        if entries.iter().any(|e: &SkillEntry| e.uri == entry.uri) {
            return Err(BuildError::Duplicate {
                kind: "skill",
                name: entry.uri,
            });
        }
        for file in files {
            let uri = file.entry.resource.uri.clone();
            match by_uri.get(&uri) {
                None => {
                    by_uri.insert(uri, placed.len());
                    placed.push(file);
                }
                Some(&at) if placed[at].digest != file.digest => {
                    return Err(wrap(SkillError::DuplicateFile(uri)));
                }
                // A nested skill's files belong to the enclosing skill too; its own SKILL.md
                // listing (name, description) wins over the enclosing skill's plain file.
                Some(&at) if file.segments.last().is_some_and(|s| s == SKILL_MD) => {
                    placed[at] = file;
                }
                Some(_) => {}
            }
        }
        entries.push(entry);
    }
    let dirs = directories(&placed);
    tracing::debug!(
        skills = entries.len(),
        files = placed.len(),
        "skills assembled"
    );
    Ok(SkillSet {
        entries,
        resources: placed.into_iter().map(|p| p.entry).collect(),
        dirs,
    })
}

/// One skill: its files read and checked, its entry and its resources.
fn one_skill(def: SkillDef, limits: SkillLimits) -> Result<(SkillEntry, Vec<Placed>), SkillError> {
    let path = rules::segments(&def.path)?;
    let mut files = match &def.dir {
        Some(dir) => load::skill_dir(dir, limits)?,
        None => Vec::new(),
    };
    files.extend(def.files);
    let mut rels = Vec::with_capacity(files.len());
    for f in &files {
        let segs = rules::segments(&f.rel)?;
        rels.push(segs.into_iter().map(str::to_owned).collect::<Vec<_>>());
    }
    if files.len() > limits.max_files {
        return Err(SkillError::TooManyFiles {
            count: files.len(),
            max: limits.max_files,
        });
    }
    let bytes: u64 = files.iter().map(|f| f.bytes.len() as u64).sum();
    if bytes > limits.max_bytes {
        return Err(SkillError::TooLarge {
            bytes,
            max: limits.max_bytes,
        });
    }
    let md_at = files
        .iter()
        .position(|f| f.rel == SKILL_MD)
        .ok_or(SkillError::NoSkillMd)?;
    let text = std::str::from_utf8(&files[md_at].bytes).map_err(|_| SkillError::SkillMdNotText)?;
    let frontmatter = rules::parse_front_matter(text)?;
    let segment = path.last().copied().unwrap_or_default();
    let (name, description) = rules::check_front_matter(&frontmatter, segment)?;
    let (name, description) = (name.to_owned(), description.to_owned());

    // SKILL.md first, then the other files by path.
    let mut order: Vec<usize> = (0..files.len()).collect();
    order.sort_by(|&a, &b| (a != md_at, &files[a].rel).cmp(&(b != md_at, &files[b].rel)));
    if order.windows(2).any(|w| files[w[0]].rel == files[w[1]].rel) {
        let twice = order
            .windows(2)
            .find(|w| files[w[0]].rel == files[w[1]].rel)
            .map(|w| files[w[0]].rel.clone())
            .unwrap_or_default();
        return Err(SkillError::DuplicateFile(twice));
    }
    let mut manifest = Vec::with_capacity(files.len());
    let mut placed = Vec::with_capacity(files.len());
    for i in order {
        let f = &files[i];
        let segments: Vec<String> = path
            .iter()
            .map(|s| (*s).to_owned())
            .chain(rels[i].iter().cloned())
            .collect();
        let uri = uri_of(&segments);
        let digest = rules::digest(&f.bytes);
        manifest.push(SkillFile {
            uri: uri.clone(),
            digest: digest.clone(),
            size: f.bytes.len() as u64,
        });
        let file_name = rels[i].last().cloned().unwrap_or_default();
        let mime = f
            .mime
            .clone()
            .unwrap_or_else(|| rules::mime_of(&file_name, &f.bytes).to_owned());
        let is_md = i == md_at;
        let resource = Resource {
            uri,
            name: if is_md { name.clone() } else { file_name },
            title: None,
            description: is_md.then(|| description.clone()),
            mime_type: Some(mime.clone()),
            annotations: None,
        };
        placed.push(Placed {
            segments,
            digest,
            entry: ResourceEntry {
                resource,
                subscribable: false,
                read: reader(f.bytes.clone(), mime),
            },
        });
    }
    let entry = SkillEntry {
        uri: manifest.first().map(|f| f.uri.clone()).unwrap_or_default(),
        frontmatter,
        resources: SkillResources::Listed(manifest),
    };
    Ok((entry, placed))
}

/// `skill://` and the percent-encoded segments.
fn uri_of(segments: &[impl AsRef<str>]) -> String {
    let mut uri = String::from("skill://");
    for (i, s) in segments.iter().enumerate() {
        if i > 0 {
            uri.push('/');
        }
        uri.push_str(&rules::encode_segment(s.as_ref()));
    }
    uri
}

/// The reader of one skill file.
fn reader(bytes: Arc<[u8]>, mime: String) -> ReadFn {
    Arc::new(move |_ctx, uri, _vars| {
        let contents = contents(uri, &mime, &bytes);
        Box::pin(async move { Ok(vec![contents]) })
    })
}

/// A skill file's contents: text when the bytes are UTF-8, else a base64 blob.
fn contents(uri: String, mime: &str, bytes: &[u8]) -> ResourceContents {
    match std::str::from_utf8(bytes) {
        Ok(text) => ResourceContents::text(uri, mime, text),
        Err(_) => ResourceContents {
            uri,
            mime_type: Some(mime.to_owned()),
            text: None,
            blob: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            meta: None,
        },
    }
}

/// Every directory above a skill file, down from the first segment, with its direct children.
fn directories(placed: &[Placed]) -> HashMap<String, Vec<Resource>> {
    let mut dirs: HashMap<String, BTreeMap<String, Resource>> = HashMap::new();
    for file in placed {
        let n = file.segments.len();
        for depth in 1..n {
            let child = &file.segments[..=depth];
            let resource = if depth + 1 == n {
                file.entry.resource.clone()
            } else {
                Resource {
                    uri: uri_of(child),
                    name: file.segments[depth].clone(),
                    title: None,
                    description: None,
                    mime_type: Some(DIRECTORY_MIME_TYPE.to_owned()),
                    annotations: None,
                }
            };
            dirs.entry(uri_of(&file.segments[..depth]))
                .or_default()
                .insert(file.segments[depth].clone(), resource);
        }
    }
    dirs.into_iter()
        .map(|(uri, children)| (uri, children.into_values().collect()))
        .collect()
}
