//! Skills from disk: walking a skills folder (every folder holding a `SKILL.md` is a skill, its
//! path under the root is the skill path) or one skill's folder, and reading the files. Symbolic
//! links are followed only to files inside the skill's own folder; dot files are skipped; names
//! must be UTF-8. It reads files and builds [`SkillDef`]s; the rules and the manifest are
//! [`super::rules`]' and [`super`]'s.

use super::rules::SkillError;
use super::{FileDef, SkillDef, SkillLimits};
use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A file found under a folder.
struct DiskFile {
    /// Path segments relative to the walked folder.
    rel: Vec<String>,
    abs: PathBuf,
    /// Where a symbolic link leads (canonical), checked against the skill's folder.
    link_target: Option<PathBuf>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SkillError + '_ {
    move |e| SkillError::Io {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Every file under `dir` (names only; nothing is read), depth first, sorted by name. Dot files
/// and folders are skipped (VCS and editor litter is no part of a skill).
fn walk(dir: &Path) -> Result<Vec<DiskFile>, SkillError> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_owned(), Vec::<String>::new())];
    while let Some((folder, rel)) = stack.pop() {
        let mut entries = fs::read_dir(&folder)
            .map_err(io(&folder))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(io(&folder))?;
        entries.sort_by_key(|e| e.file_name());
        // Folders are pushed in reverse so that they pop in name order.
        let mut folders = Vec::new();
        for entry in entries {
            let path = entry.path();
            let name = entry
                .file_name()
                .into_string()
                .map_err(|_| SkillError::NonUtf8Name(path.clone()))?;
            if name.starts_with('.') {
                continue;
            }
            let mut child = rel.clone();
            child.push(name);
            let kind = entry.file_type().map_err(io(&path))?;
            if kind.is_dir() {
                folders.push((path, child));
            } else if kind.is_symlink() {
                let target = fs::canonicalize(&path).map_err(io(&path))?;
                if target.is_dir() {
                    return Err(SkillError::SymlinkedFolder(path));
                }
                out.push(DiskFile {
                    rel: child,
                    abs: path,
                    link_target: Some(target),
                });
            } else if kind.is_file() {
                out.push(DiskFile {
                    rel: child,
                    abs: path,
                    link_target: None,
                });
            }
            // Sockets, FIFOs and devices are not content.
        }
        stack.extend(folders.into_iter().rev());
    }
    Ok(out)
}

/// Read the files of one skill, whose folder is `skill_dir`; links must stay inside it.
fn read_files<'a>(
    skill_dir: &Path,
    files: impl Iterator<Item = (&'a DiskFile, Vec<String>)>,
    cache: &mut HashMap<PathBuf, Arc<[u8]>>,
    limits: SkillLimits,
) -> Result<Vec<FileDef>, SkillError> {
    let canonical = fs::canonicalize(skill_dir).map_err(io(skill_dir))?;
    let mut out = Vec::new();
    let mut total = 0u64;
    for (count, (file, rel)) in files.enumerate() {
        // Checked before reading, like the size: a folder with too many files is not read.
        if count >= limits.max_files {
            return Err(SkillError::TooManyFiles {
                count: count + 1,
                max: limits.max_files,
            });
        }
        if let Some(target) = &file.link_target {
            if !target.starts_with(&canonical) {
                return Err(SkillError::SymlinkOutside(file.abs.clone()));
            }
        }
        let cached = cache.get(&file.abs).cloned();
        let len = match &cached {
            Some(b) => b.len() as u64,
            None => fs::metadata(&file.abs).map_err(io(&file.abs))?.len(),
        };
        total = total.saturating_add(len);
        // Checked before reading, so that a huge file is never loaded.
        if total > limits.max_bytes {
            return Err(SkillError::TooLarge {
                bytes: total,
                max: limits.max_bytes,
            });
        }
        let bytes = match cached {
            Some(b) => b,
            None => {
                let b: Arc<[u8]> = fs::read(&file.abs).map_err(io(&file.abs))?.into();
                cache.insert(file.abs.clone(), b.clone());
                b
            }
        };
        out.push(FileDef {
            rel: rel.join("/"),
            bytes,
            mime: None,
        });
    }
    Ok(out)
}

/// The files of the one skill in `dir`.
pub(super) fn skill_dir(dir: &Path, limits: SkillLimits) -> Result<Vec<FileDef>, SkillError> {
    let files = walk(dir)?;
    let mut cache = HashMap::new();
    read_files(
        dir,
        files.iter().map(|f| (f, f.rel.clone())),
        &mut cache,
        limits,
    )
}

/// Every skill under `root`: each folder holding a `SKILL.md`, in path order, with every file
/// under it (a nested skill's files belong to the enclosing skill too, as SEP-2640 says).
pub(super) fn skills_root(
    root: &Path,
    limits: SkillLimits,
) -> Result<Vec<SkillDef>, (String, SkillError)> {
    let at_root = |e| (root.display().to_string(), e);
    let files = walk(root).map_err(at_root)?;
    let skill_dirs: BTreeSet<&[String]> = files
        .iter()
        .filter(|f| f.rel.last().is_some_and(|n| n == "SKILL.md"))
        .map(|f| &f.rel[..f.rel.len() - 1])
        .collect();
    if skill_dirs.contains(&[][..]) {
        return Err(at_root(SkillError::SkillMdAtRoot));
    }
    let mut cache = HashMap::new();
    let mut defs = Vec::new();
    for dir in skill_dirs {
        let path = dir.join("/");
        let under = files.iter().filter(|f| f.rel.starts_with(dir));
        let folder: PathBuf = dir.iter().fold(root.to_owned(), |p, s| p.join(s));
        let read = read_files(
            &folder,
            under.map(|f| (f, f.rel[dir.len()..].to_vec())),
            &mut cache,
            limits,
        )
        .map_err(|e| (path.clone(), e))?;
        defs.push(SkillDef {
            path,
            files: read,
            dir: None,
        });
    }
    Ok(defs)
}
