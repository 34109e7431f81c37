//! Unit tests of the skills loader and rules: front matter, naming, limits, digests, the
//! directory tree, and folders on disk (nested skills, dot files, symbolic links).

use super::rules::{self, SkillError};
use super::*;
use crate::sdk::Registry;
use ringmcp_proto::types::SkillResources;
use serde_json::json;
use std::fs;
use std::path::Path;

fn md(name: &str, description: &str) -> String {
    format!("---\nname: {name}\ndescription: {description}\n---\n# {name}\n")
}

fn build(b: ServerBuilder) -> Result<Registry, BuildError> {
    b.build()
}

fn skill_error(r: Result<Registry, BuildError>) -> SkillError {
    match r {
        Err(BuildError::Skill { source, .. }) => source,
        Err(other) => panic!("not a skill error: {other}"),
        Ok(_) => panic!("built"),
    }
}

fn builder() -> ServerBuilder {
    ServerBuilder::new("t", "1")
}

#[test]
fn front_matter_is_cut_as_the_suite_cuts_it() {
    assert_eq!(rules::front_matter("---\na: 1\n---\nbody"), Some("a: 1"));
    assert_eq!(
        rules::front_matter("\u{feff}---\r\na: 1\r\n--- \t\r\nbody"),
        Some("a: 1")
    );
    assert_eq!(rules::front_matter("---\na: 1\n---"), Some("a: 1"));
    // `----` is not a closing line; the next `---` line is.
    assert_eq!(
        rules::front_matter("---\na: 1\n----\nb: 2\n---\n"),
        Some("a: 1\n----\nb: 2")
    );
    assert_eq!(rules::front_matter("# no front matter\n"), None);
    assert_eq!(rules::front_matter("---\na: 1\nnever closed\n"), None);
    assert_eq!(rules::front_matter(" ---\na: 1\n---\n"), None);
}

#[test]
fn front_matter_keeps_yaml_types() {
    let fm = rules::parse_front_matter(
        "---\nname: x\ndescription: 'd'\nversion: 1.0\ncount: 3\nok: true\nnone: ~\nwhen: 2024-01-01\nmetadata:\n  author: me\n---\n",
    )
    .unwrap();
    assert_eq!(
        serde_json::Value::Object(fm),
        json!({"name": "x", "description": "d", "version": 1.0, "count": 3, "ok": true,
               "none": null, "when": "2024-01-01", "metadata": {"author": "me"}})
    );
    assert!(matches!(
        rules::parse_front_matter("---\n[1, 2]\n---\n"),
        Err(SkillError::FrontMatterNotMapping)
    ));
    assert!(matches!(
        rules::parse_front_matter("---\na: [unclosed\n---\n"),
        Err(SkillError::BadYaml(_))
    ));
}

#[test]
fn naming_rules() {
    for good in ["a", "pdf-processing", "x1", &"a".repeat(64)] {
        assert!(rules::valid_name(good), "{good}");
    }
    for bad in [
        "",
        "-a",
        "a-",
        "a--b",
        "Upper",
        "under_score",
        "dot.ted",
        "spa ce",
        "é",
        &"a".repeat(65),
    ] {
        assert!(!rules::valid_name(bad), "{bad}");
    }
}

#[test]
fn every_rule_breaks_with_its_own_error() {
    let cases: Vec<(SkillDef, SkillError)> = vec![
        (
            SkillDef::new("a", "# no front matter"),
            SkillError::MissingFrontMatter,
        ),
        (
            SkillDef::new("a", "---\ndescription: d\n---\n"),
            SkillError::MissingField("name"),
        ),
        (
            SkillDef::new("a", "---\nname: a\ndescription: ''\n---\n"),
            SkillError::MissingField("description"),
        ),
        (
            SkillDef::new("a", "---\nname: 7\ndescription: d\n---\n"),
            SkillError::MissingField("name"),
        ),
        (
            SkillDef::new("Bad", md("Bad", "d")),
            SkillError::BadName("Bad".into()),
        ),
        (
            SkillDef::new("folder", md("other", "d")),
            SkillError::NameMismatch {
                name: "other".into(),
                segment: "folder".into(),
            },
        ),
        (
            SkillDef::new("a", md("a", &"x".repeat(1025))),
            SkillError::DescriptionTooLong(1025),
        ),
        (
            SkillDef::new(
                "a",
                "---\nname: a\ndescription: d\nmetadata:\n  io.modelcontextprotocol/x: y\n---\n",
            ),
            SkillError::ReservedMetadataKey("io.modelcontextprotocol/x".into()),
        ),
        (
            SkillDef::new("a", "---\nname: a\ndescription: d\nmetadata: 3\n---\n"),
            SkillError::MetadataNotMapping,
        ),
        (
            SkillDef::new("acme//a", md("a", "d")),
            SkillError::BadPath("acme//a".into()),
        ),
        (
            SkillDef::new("a", md("a", "d")).file("../escape.md", "x"),
            SkillError::BadPath("../escape.md".into()),
        ),
        (
            SkillDef::new("a", md("a", "d")).file("SKILL.md", "again"),
            SkillError::DuplicateFile("SKILL.md".into()),
        ),
        (
            SkillDef {
                path: "a".into(),
                files: vec![],
                dir: None,
            },
            SkillError::NoSkillMd,
        ),
    ];
    for (def, want) in cases {
        let got = skill_error(build(builder().skill(def)));
        assert_eq!(got, want);
        assert!(!got.to_string().is_empty());
    }
    let e = build(builder().skill(SkillDef::new("folder", md("other", "d"))))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert_eq!(
        e,
        "skill folder: the skill's folder (last path segment) \"folder\" must equal its name \"other\""
    );
}

#[test]
fn limits_refuse_big_skills_unless_raised() {
    let small = SkillLimits {
        max_files: 2,
        max_bytes: 1000,
    };
    let three = || {
        SkillDef::new("a", md("a", "d"))
            .file("b.md", "b")
            .file("c.md", "c")
    };
    assert_eq!(
        skill_error(build(builder().skill_limits(small).skill(three()))),
        SkillError::TooManyFiles { count: 3, max: 2 }
    );
    let big = SkillDef::new("a", md("a", "d")).file("big.bin", vec![0u8; 1000]);
    assert!(matches!(
        skill_error(build(builder().skill_limits(small).skill(big))),
        SkillError::TooLarge { max: 1000, .. }
    ));
    assert!(build(builder().skill(three())).is_ok(), "default limits");
    let many = (0..513).fold(SkillDef::new("a", md("a", "d")), |d, i| {
        d.file(format!("f{i}.md"), "x")
    });
    assert_eq!(
        skill_error(build(builder().skill(many))),
        SkillError::TooManyFiles {
            count: 514,
            max: 512
        }
    );
}

#[test]
fn manifest_resources_and_directories() {
    let text = md("pdf-processing", "Fill PDF forms");
    let r = build(
        builder()
            .skill(
                SkillDef::new("pdf-processing", text.clone())
                    .file("references/FORMS.md", "abc")
                    .file("a b.txt", "spaced")
                    .file_as("scripts/x.bin", vec![0xff, 0xfe], "application/x-thing"),
            )
            .skill(SkillDef::new(
                "acme/billing/refunds",
                md("refunds", "Refunds"),
            )),
    )
    .unwrap();
    let caps = serde_json::to_value(r.capabilities()).unwrap();
    assert_eq!(
        caps["extensions"]["io.modelcontextprotocol/skills"],
        json!({"directoryRead": true})
    );
    assert!(caps["resources"].is_object());
    let entry = r.skill("skill://pdf-processing/SKILL.md").unwrap();
    assert_eq!(entry.frontmatter["description"], "Fill PDF forms");
    let SkillResources::Listed(files) = &entry.resources else {
        panic!("dynamic")
    };
    let uris: Vec<_> = files.iter().map(|f| f.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "skill://pdf-processing/SKILL.md",
            "skill://pdf-processing/a%20b.txt",
            "skill://pdf-processing/references/FORMS.md",
            "skill://pdf-processing/scripts/x.bin",
        ]
    );
    // sha256("abc"), as sha256sum prints it.
    assert_eq!(
        files[2].digest,
        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert_eq!((files[0].size, files[2].size), (text.len() as u64, 3));
    assert_eq!(r.skills[1].uri, "skill://acme/billing/refunds/SKILL.md");

    let md_res = &r.resources[0];
    assert_eq!(
        (
            md_res.name.as_str(),
            md_res.description.as_deref(),
            md_res.mime_type.as_deref()
        ),
        (
            "pdf-processing",
            Some("Fill PDF forms"),
            Some("text/markdown")
        )
    );
    let bin = r.resource("skill://pdf-processing/scripts/x.bin").unwrap();
    assert_eq!(
        bin.resource.mime_type.as_deref(),
        Some("application/x-thing")
    );
    assert_eq!(bin.resource.name, "x.bin");

    let children = |uri: &str| -> Vec<(String, Option<String>)> {
        r.skill_dirs[uri]
            .iter()
            .map(|c| (c.uri.clone(), c.mime_type.clone()))
            .collect()
    };
    let dir = Some("inode/directory".to_owned());
    assert_eq!(
        children("skill://pdf-processing"),
        [
            (
                "skill://pdf-processing/SKILL.md".into(),
                Some("text/markdown".into())
            ),
            (
                "skill://pdf-processing/a%20b.txt".into(),
                Some("text/plain".into())
            ),
            ("skill://pdf-processing/references".into(), dir.clone()),
            ("skill://pdf-processing/scripts".into(), dir.clone()),
        ]
    );
    assert_eq!(
        children("skill://acme"),
        [("skill://acme/billing".into(), dir.clone())]
    );
    assert!(!r.skill_dirs.contains_key("skill://pdf-processing/SKILL.md"));
    assert!(r.skill("skill://pdf-processing").is_none());
}

#[test]
fn skill_files_read_back_as_text_or_blob() {
    let text = contents("skill://a/SKILL.md".into(), "text/markdown", b"# a");
    assert_eq!(text.text.as_deref(), Some("# a"));
    assert_eq!(text.mime_type.as_deref(), Some("text/markdown"));
    assert!(text.meta.is_none() && text.blob.is_none());
    let blob = contents(
        "skill://a/x.bin".into(),
        "application/octet-stream",
        &[0xff],
    );
    assert_eq!((blob.blob.as_deref(), blob.text), (Some("/w=="), None));
}

#[test]
fn duplicate_skills_are_refused() {
    let r = build(
        builder()
            .skill(SkillDef::new("a", md("a", "d")))
            .skill(SkillDef::new("a", md("a", "d"))),
    );
    assert!(matches!(
        r,
        Err(BuildError::Duplicate { kind: "skill", .. })
    ));
}

/// A fresh folder under the system temp folder, removed on drop.
struct TempDir(std::path::PathBuf);

impl TempDir {
    fn new(what: &str) -> TempDir {
        let p = std::env::temp_dir().join(format!(
            "ringmcp-skills-{what}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&p);
        fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
    fn write(&self, rel: &str, body: &str) {
        let p = self.0.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, body).unwrap();
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

fn link(target: &Path, at: &Path) {
    std::os::unix::fs::symlink(target, at).unwrap();
}

#[test]
fn a_folder_of_skills() {
    let root = TempDir::new("root");
    root.write("pdf-processing/SKILL.md", &md("pdf-processing", "PDF"));
    root.write("pdf-processing/references/FORMS.md", "forms");
    root.write("pdf-processing/.git/config", "litter");
    root.write("pdf-processing/.DS_Store", "litter");
    root.write("acme/billing/refunds/SKILL.md", &md("refunds", "R"));
    root.write("acme/billing/refunds/inner/SKILL.md", &md("inner", "I"));
    root.write("acme/notes.md", "not in any skill");
    link(
        &root.0.join("pdf-processing/references/FORMS.md"),
        &root.0.join("pdf-processing/forms-link.md"),
    );
    let r = build(builder().skills_dir(&root.0)).unwrap();
    let uris: Vec<_> = r.skills.iter().map(|s| s.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "skill://acme/billing/refunds/SKILL.md",
            "skill://acme/billing/refunds/inner/SKILL.md",
            "skill://pdf-processing/SKILL.md",
        ]
    );
    let files = |i: usize| match &r.skills[i].resources {
        SkillResources::Listed(f) => f.iter().map(|f| f.uri.clone()).collect::<Vec<_>>(),
        SkillResources::Dynamic => vec![],
    };
    // The nested skill's files belong to the enclosing one too.
    assert_eq!(
        files(0),
        [
            "skill://acme/billing/refunds/SKILL.md",
            "skill://acme/billing/refunds/inner/SKILL.md"
        ]
    );
    assert_eq!(
        files(2),
        [
            "skill://pdf-processing/SKILL.md",
            "skill://pdf-processing/forms-link.md",
            "skill://pdf-processing/references/FORMS.md",
        ]
    );
    // The nested SKILL.md is listed once, named by its own front matter.
    let inner = r
        .resource("skill://acme/billing/refunds/inner/SKILL.md")
        .unwrap();
    assert_eq!(inner.resource.name, "inner");
    assert!(r.resource("skill://acme/notes.md").is_none());
    assert_eq!(r.resources.len(), 5);

    // A single skill from its folder, at a path of the caller's choosing.
    let one = build(builder().skill(SkillDef::from_dir(
        "tools/pdf-processing",
        root.0.join("pdf-processing"),
    )))
    .unwrap();
    assert_eq!(one.skills[0].uri, "skill://tools/pdf-processing/SKILL.md");
}

#[test]
fn folders_that_break_the_rules() {
    let outside = TempDir::new("outside");
    outside.write("secret.txt", "secret");

    let root = TempDir::new("escape");
    root.write("evil/SKILL.md", &md("evil", "E"));
    link(
        &outside.0.join("secret.txt"),
        &root.0.join("evil/secret.txt"),
    );
    assert!(matches!(
        skill_error(build(builder().skills_dir(&root.0))),
        SkillError::SymlinkOutside(_)
    ));

    // A link to a sibling skill's file leaves the skill's own folder too.
    let root = TempDir::new("sibling");
    root.write("a/SKILL.md", &md("a", "A"));
    root.write("b/SKILL.md", &md("b", "B"));
    link(&root.0.join("a/SKILL.md"), &root.0.join("b/a.md"));
    assert!(matches!(
        skill_error(build(builder().skills_dir(&root.0))),
        SkillError::SymlinkOutside(_)
    ));

    let root = TempDir::new("dirlink");
    root.write("a/SKILL.md", &md("a", "A"));
    link(&root.0.join("a"), &root.0.join("a/loop"));
    assert!(matches!(
        skill_error(build(builder().skills_dir(&root.0))),
        SkillError::SymlinkedFolder(_)
    ));

    let root = TempDir::new("atroot");
    root.write("SKILL.md", &md("x", "X"));
    assert_eq!(
        skill_error(build(builder().skills_dir(&root.0))),
        SkillError::SkillMdAtRoot
    );

    let root = TempDir::new("badname");
    root.write("Bad_Name/SKILL.md", &md("Bad_Name", "X"));
    assert_eq!(
        skill_error(build(builder().skills_dir(&root.0))),
        SkillError::BadName("Bad_Name".into())
    );

    // Limits are checked before the files are read.
    let root = TempDir::new("many");
    root.write("a/SKILL.md", &md("a", "A"));
    root.write("a/b.md", "b");
    root.write("a/c.md", "c");
    let two = SkillLimits {
        max_files: 2,
        max_bytes: 1 << 20,
    };
    assert_eq!(
        skill_error(build(builder().skill_limits(two).skills_dir(&root.0))),
        SkillError::TooManyFiles { count: 3, max: 2 }
    );
    let tiny = SkillLimits {
        max_files: 10,
        max_bytes: 5,
    };
    assert!(matches!(
        skill_error(build(builder().skill_limits(tiny).skills_dir(&root.0))),
        SkillError::TooLarge { max: 5, .. }
    ));

    assert!(matches!(
        skill_error(build(builder().skills_dir(root.0.join("missing")))),
        SkillError::Io { .. }
    ));
}
