//! The server crate's layers, checked: each top-level module of `server/src` has a rank, and a
//! module may name (`crate::x`) only modules of a lower rank. Same-rank modules may not name each
//! other either, so no cycle can form. docs/ARCHITECTURE.md draws the same table; change both
//! together. Also checks the size rule: no file in `server/src` or `proto/src` over 600 lines,
//! its tests included (a long test module goes to a `tests.rs` of its own).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

/// Bottom to top. A module may import the modules of the rows above its own.
const LAYERS: &[&[&str]] = &[
    // Primitives: no MCP, no sockets of their own.
    &["metrics", "mesh", "telemetry", "auth", "transport"],
    // Bytes and sockets: the net ring, outboxes, the protocol seam.
    &["netring"],
    // MCP client sessions dialed on a shard's net ring, and shards that only run clients.
    &["client"],
    // What outlives a request: the store seams and their in-memory implementations.
    &["store"],
    // Shard-local state: sessions, outlets, tasks, cancellation, the shard context.
    &["service"],
    // The cluster mode's stores: the Redis link each shard dials, the Redis-backed seams.
    &["cluster"],
    // What a server author writes against.
    &["sdk"],
    // The protocol engine of one shard.
    &["engine"],
    // Connection protocols on top of the engine.
    &["lines", "http"],
    // Starting shards, wiring protocols to the net ring.
    &["runtime"],
    // The public entry point, and the inside as ringmcp's bench and test kit see it.
    &["serve", "internals"],
];

/// Lines a file may have.
const MAX_LINES: usize = 600;

fn rank(module: &str) -> Option<usize> {
    LAYERS.iter().position(|row| row.contains(&module))
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The library's top-level modules, from `lib.rs` (the binary's own modules are not layered).
fn lib_modules(src: &Path) -> BTreeSet<String> {
    let lib = fs::read_to_string(src.join("lib.rs")).unwrap();
    lib.lines()
        .filter_map(|l| {
            let l = l.trim();
            let rest = l
                .strip_prefix("pub mod ")
                .or_else(|| l.strip_prefix("pub(crate) mod "))
                .or_else(|| l.strip_prefix("mod "))?;
            Some(rest.trim_end_matches(';').to_owned())
        })
        .collect()
}

/// The top-level modules a piece of source names through `crate::`, including grouped imports
/// (`use crate::{a::X, b}`).
fn named_modules(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = source;
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().last();
        rest = &rest[at + "crate::".len()..];
        // `ringmcp_proto::...` or `mycrate::` are other paths.
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.extend(first_ident(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(c);
                }
            }
            out.extend(first_ident(&item));
        } else {
            out.extend(first_ident(rest));
        }
    }
    out
}

fn first_ident(s: &str) -> Option<String> {
    let ident: String = s
        .trim_start()
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!ident.is_empty()).then_some(ident)
}

/// The source without its `#[cfg(test)]` module and without comments, so that a doc comment
/// that mentions `crate::x` is not an import.
fn code_of(source: &str) -> String {
    let body = match source.find("#[cfg(test)]\nmod tests") {
        Some(at) => &source[..at],
        None => source,
    };
    body.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_lib_module_has_a_layer() {
    let src = root().join("server/src");
    let missing: Vec<_> = lib_modules(&src)
        .into_iter()
        .filter(|m| rank(m).is_none())
        .collect();
    assert!(
        missing.is_empty(),
        "modules of server/src/lib.rs without a layer in tests/layers.rs: {missing:?}"
    );
}

#[test]
fn no_module_imports_an_equal_or_higher_layer() {
    let src = root().join("server/src");
    let modules = lib_modules(&src);
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut violations = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let top = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .trim_end_matches(".rs")
            .to_owned();
        if !modules.contains(&top) {
            continue; // lib.rs, main.rs and the binary's own modules
        }
        let Some(own) = rank(&top) else { continue };
        let source = fs::read_to_string(&file).unwrap();
        for named in named_modules(&code_of(&source)) {
            if named == top || !modules.contains(&named) {
                continue;
            }
            match rank(&named) {
                Some(r) if r < own => {}
                _ => violations.push(format!("{} names crate::{named}", rel.display())),
            }
        }
    }
    assert!(
        violations.is_empty(),
        "upward or sideways imports (see the LAYERS table):\n  {}",
        violations.join("\n  ")
    );
}

#[test]
fn no_source_file_is_over_the_line_limit() {
    let mut files = Vec::new();
    rust_files(&root().join("server/src"), &mut files);
    rust_files(&root().join("proto/src"), &mut files);
    let long: Vec<_> = files
        .iter()
        .filter_map(|f| {
            let n = fs::read_to_string(f).unwrap().lines().count();
            (n > MAX_LINES).then(|| format!("{} has {n} lines", f.display()))
        })
        .collect();
    assert!(
        long.is_empty(),
        "files over {MAX_LINES} lines (split them by job):\n  {}",
        long.join("\n  ")
    );
}

#[test]
fn the_checker_sees_grouped_and_nested_imports() {
    let named = named_modules(
        "use crate::{a::X, b::{c, d}, e};\nfn f() { crate::g::h(); mycrate::z::w() }",
    );
    let expected: BTreeSet<String> = ["a", "b", "e", "g"].iter().map(|s| s.to_string()).collect();
    assert_eq!(named, expected);
    assert_eq!(code_of("// crate::x\nuse crate::y;"), "use crate::y;");
}
