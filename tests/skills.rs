//! The skills extension (SEP-2640) from outside, over every transport and in both eras: the
//! capability (inline `directoryRead`, merged with the tasks extension), `skills/list` and
//! `skills/get` (the manifest's digests and sizes match what `resources/read` returns, the
//! 2026-07-28 envelope carries cache hints, legacy results carry none), `resources/directory/read`
//! with subfolders as `inode/directory`, -32602 with `data.uri` for unknown skills and for
//! directory reads of files, paging, and the skill in the demo set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::*;
use ringmcp_testkit::msg;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const FIXTURES: [&str; 2] = ["--fixtures", "conformance"];
const PDF: &str = "skill://pdf-processing/SKILL.md";

fn sha256(text: &str) -> String {
    let hash = Sha256::digest(text.as_bytes());
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

fn with_meta(params: Value, modern_era: bool) -> Value {
    if modern_era {
        modern(params)
    } else {
        params
    }
}

/// What every era answers the same way; `modern_era` picks the `_meta` and the envelope check.
fn skills_methods(c: &mut Client, modern_era: bool) {
    let p = |v: Value| with_meta(v, modern_era);
    let list = c.call(10, "skills/list", p(json!({})));
    let skills = list["skills"].as_array().unwrap();
    assert_eq!(skills[0]["uri"], PDF, "{list}");
    assert_eq!(skills[1]["uri"], "skill://acme/billing/refunds/SKILL.md");
    assert_eq!(skills[1]["frontmatter"]["name"], "refunds");
    assert!(list.get("nextCursor").is_none());
    if modern_era {
        assert_eq!(list["resultType"], "complete");
        assert!(
            list["ttlMs"].is_u64() && list["cacheScope"].is_string(),
            "{list}"
        );
    } else {
        for key in ["resultType", "ttlMs", "cacheScope", "_meta"] {
            assert!(list.get(key).is_none(), "legacy result with {key}: {list}");
        }
    }

    let got = c.call(11, "skills/get", p(json!({ "uri": PDF })));
    let skill = &got["skill"];
    assert_eq!(skill, &skills[0], "skills/get shows the listed entry");
    assert!(got.get("nextCursor").is_none());
    assert_eq!(got.get("ttlMs").is_some(), modern_era, "{got}");
    let fm = &skill["frontmatter"];
    assert_eq!(fm["name"], "pdf-processing");
    assert_eq!(
        fm["metadata"],
        json!({"author": "ringmcp", "version": "1.0"})
    );

    // The manifest: SKILL.md first, each file's digest and size those of what reads return.
    let files = skill["resources"].as_array().unwrap();
    let uris: Vec<_> = files.iter().map(|f| f["uri"].as_str().unwrap()).collect();
    assert_eq!(uris, [PDF, "skill://pdf-processing/references/FORMS.md"]);
    for (i, f) in files.iter().enumerate() {
        let read = c.call(
            20 + i as i64,
            "resources/read",
            p(json!({ "uri": f["uri"] })),
        );
        let content = &read["contents"][0];
        let text = content["text"].as_str().unwrap();
        assert_eq!(f["digest"], sha256(text), "{f}");
        assert_eq!(f["size"], text.len(), "{f}");
        assert_eq!(content["mimeType"], "text/markdown");
        assert!(content.get("_meta").is_none());
        if i == 0 {
            assert!(text.starts_with("---\nname: pdf-processing\n"), "{text}");
        }
    }

    // Every skill file is an ordinary resource; SKILL.md named and described by its front
    // matter.
    let all = c.call(30, "resources/list", p(json!({})));
    let listed = all["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["uri"] == PDF)
        .unwrap_or_else(|| panic!("no SKILL.md in {all}"));
    assert_eq!(listed["name"], "pdf-processing");
    assert_eq!(listed["description"], fm["description"]);
    assert_eq!(listed["mimeType"], "text/markdown");

    let dir = c.call(
        40,
        "resources/directory/read",
        p(json!({ "uri": "skill://pdf-processing" })),
    );
    assert_eq!(
        dir["resources"],
        json!([
            {"uri": PDF, "name": "pdf-processing", "description": fm["description"],
             "mimeType": "text/markdown"},
            {"uri": "skill://pdf-processing/references", "name": "references",
             "mimeType": "inode/directory"},
        ]),
        "{dir}"
    );
    let sub = c.call(
        41,
        "resources/directory/read",
        p(json!({ "uri": "skill://pdf-processing/references" })),
    );
    assert_eq!(sub["resources"][0]["name"], "FORMS.md");
    // The organizational prefix is a directory too.
    let acme = c.call(
        42,
        "resources/directory/read",
        p(json!({ "uri": "skill://acme" })),
    );
    assert_eq!(acme["resources"][0]["uri"], "skill://acme/billing");

    // Unknown skills, and directory reads of files or of nothing: -32602 naming the URI.
    let unknown = "skill://mcp-conformance-nonexistent-skill-9f3a2b/SKILL.md";
    for (id, method, uri) in [
        (50, "skills/get", unknown),
        (51, "skills/get", "skill://pdf-processing"),
        (52, "resources/directory/read", PDF),
        (53, "resources/directory/read", "skill://nowhere"),
        (54, "resources/directory/read", "skill://pdf-processing/"),
    ] {
        let e = c.call_err(id, method, p(json!({ "uri": uri })));
        assert_eq!(code(&e), -32602, "{method} {uri}: {e}");
        assert_eq!(e["data"]["uri"], uri, "{e}");
    }
    let e = c.call_err(55, "skills/get", p(json!({})));
    assert_eq!(code(&e), -32602);
}

fn modern_wire(via: Via) {
    let (_s, mut c) = open(via, &FIXTURES);
    let d = c.call(1, "server/discover", modern(json!({})));
    let ext = &d["capabilities"]["extensions"];
    assert_eq!(
        ext["io.modelcontextprotocol/skills"],
        json!({"directoryRead": true}),
        "{d}"
    );
    assert_eq!(
        ext["io.modelcontextprotocol/tasks"],
        json!({}),
        "merged: {d}"
    );
    assert!(d["capabilities"]["resources"].is_object());
    skills_methods(&mut c, true);
}
for_each_transport!(modern_wire);

fn legacy_wire(via: Via) {
    let (_s, mut c) = open(via, &FIXTURES);
    let init = c.initialize("2025-11-25");
    assert_eq!(
        init["capabilities"]["extensions"]["io.modelcontextprotocol/skills"],
        json!({"directoryRead": true}),
        "{init}"
    );
    skills_methods(&mut c, false);
}
for_each_transport!(legacy_wire);

/// The oldest revision sees the same methods (an extension is not tied to a revision).
fn oldest_revision(via: Via) {
    let (_s, mut c) = open(via, &FIXTURES);
    c.initialize("2024-11-05");
    let list = c.call(1, "skills/list", json!({}));
    assert_eq!(list["skills"][0]["uri"], PDF);
    // Before initialize, a legacy session admits nothing but ping.
    let (_s2, mut fresh) = open(Via::Tcp, &FIXTURES);
    let e = fresh.call_err(2, "skills/list", json!({}));
    assert_eq!(code(&e), -32600, "{e}");
}
for_each_transport!(oldest_revision: stdio => Stdio, tcp => Tcp);

fn paging(via: Via) {
    let (_s, mut c) = open(via, &["--fixtures", "conformance", "--page-size", "1"]);
    let first = c.call(1, "skills/list", modern(json!({})));
    assert_eq!(first["skills"].as_array().unwrap().len(), 1);
    assert_eq!(first["skills"][0]["uri"], PDF);
    let cursor = first["nextCursor"].as_str().unwrap().to_owned();
    let second = c.call(2, "skills/list", modern(json!({ "cursor": cursor })));
    assert_eq!(
        second["skills"][0]["uri"],
        "skill://acme/billing/refunds/SKILL.md"
    );
    assert!(second.get("nextCursor").is_none(), "{second}");
    // A skills cursor is no directory cursor, and the other way round.
    let e = c.call_err(
        3,
        "resources/directory/read",
        modern(json!({ "uri": "skill://pdf-processing", "cursor": cursor })),
    );
    assert_eq!(code(&e), -32602);
    let dir = c.call(
        4,
        "resources/directory/read",
        modern(json!({ "uri": "skill://pdf-processing" })),
    );
    assert_eq!(dir["resources"].as_array().unwrap().len(), 1);
    let next = dir["nextCursor"].as_str().unwrap().to_owned();
    let e = c.call_err(5, "skills/list", modern(json!({ "cursor": next })));
    assert_eq!(code(&e), -32602);
    let dir2 = c.call(
        6,
        "resources/directory/read",
        modern(json!({ "uri": "skill://pdf-processing", "cursor": next })),
    );
    assert_eq!(
        dir2["resources"][0]["mimeType"], "inode/directory",
        "{dir2}"
    );
}
for_each_transport!(paging: http => Http);

fn demo_skill(via: Via) {
    let (_s, mut c) = open(via, &[]);
    c.initialize("2025-06-18");
    let list = c.result(msg::request(1, "skills/list"));
    assert_eq!(
        list["skills"][0]["uri"], "skill://demo-tour/SKILL.md",
        "{list}"
    );
    assert_eq!(
        list["skills"][0]["resources"].as_array().unwrap().len(),
        2,
        "{list}"
    );
    let read = c.result(msg::read(2, "skill://demo-tour/examples/session.md"));
    assert!(read["contents"][0]["text"]
        .as_str()
        .unwrap()
        .contains("One short session"));
}
for_each_transport!(demo_skill: stdio => Stdio);
