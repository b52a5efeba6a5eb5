//! The shape of the workspace, kept by a test: crates depend only on crates in layers below
//! their own, and no crate's top-level modules import each other in a cycle.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Each library crate and its layer (see docs/architecture.md).
const LAYERS: [(&str, u32); 9] = [
    ("polybatch-protocol", 0),
    ("polybatch-sim", 1),
    ("polybatch", 2),
    ("polybatch-http", 3),
    ("polybatch-azure", 4),
    ("polybatch-tencent", 4),
    ("polybatch-aws", 4),
    ("polybatch-emulator", 4),
    ("polybatch-cli", 5),
];

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates")
}

/// The workspace crates named in `[dependencies]` of a crate's manifest.
fn dependencies(krate: &str) -> Vec<String> {
    let manifest = std::fs::read_to_string(crates_dir().join(krate).join("Cargo.toml")).unwrap();
    let mut in_deps = false;
    let mut deps = Vec::new();
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_deps = line == "[dependencies]";
            continue;
        }
        if !in_deps {
            continue;
        }
        let name = line.split(['.', ' ', '=']).next().unwrap_or("");
        if LAYERS.iter().any(|(c, _)| *c == name) {
            deps.push(name.to_string());
        }
    }
    deps
}

#[test]
fn crates_depend_only_on_lower_layers() {
    let layer: BTreeMap<&str, u32> = LAYERS.into_iter().collect();
    for (krate, own) in LAYERS {
        for dep in dependencies(krate) {
            let theirs = layer[dep.as_str()];
            assert!(
                theirs < own,
                "{krate} (layer {own}) depends on {dep} (layer {theirs})"
            );
        }
    }
    // The emulator speaks the protocols through polybatch-protocol, never through a client.
    let emulator = dependencies("polybatch-emulator");
    assert!(
        !emulator
            .iter()
            .any(|d| d == "polybatch-azure" || d == "polybatch-tencent")
    );
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The identifiers after each `crate::` in code (not comments, not unit tests).
fn crate_paths(text: &str) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let mut found = BTreeSet::new();
    for line in code.lines().filter(|l| !l.trim_start().starts_with("//")) {
        for (i, _) in line.match_indices("crate::") {
            let rest = &line[i + "crate::".len()..];
            let ident: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !ident.is_empty() {
                found.insert(ident);
            }
        }
    }
    found
}

#[test]
fn no_crate_has_a_cycle_between_its_modules() {
    for (krate, _) in LAYERS {
        let src = crates_dir().join(krate).join("src");
        let mut files = Vec::new();
        rust_files(&src, &mut files);
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for file in &files {
            let rel = file.strip_prefix(&src).unwrap();
            let top = rel
                .components()
                .next()
                .unwrap()
                .as_os_str()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string();
            if top == "lib" || top == "main" {
                continue;
            }
            let uses = crate_paths(&std::fs::read_to_string(file).unwrap());
            graph.entry(top.clone()).or_default().extend(uses);
        }
        let modules: BTreeSet<String> = graph.keys().cloned().collect();
        for deps in graph.values_mut() {
            deps.retain(|d| modules.contains(d));
        }
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "{krate}: modules import each other in a cycle: {}",
                cycle.join(" -> ")
            );
        }
    }
}

/// A path of modules that leads back to where it started, if the graph has one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    for start in graph.keys() {
        let mut stack = vec![vec![start.clone()]];
        let mut seen = BTreeSet::new();
        while let Some(path) = stack.pop() {
            let at = path.last()?;
            for next in graph.get(at).into_iter().flatten() {
                let mut p = path.clone();
                p.push(next.clone());
                if next == start {
                    return Some(p);
                }
                if seen.insert(next.clone()) {
                    stack.push(p);
                }
            }
        }
    }
    None
}

#[test]
fn the_checks_can_fail() {
    let graph = |edges: &[(&str, &str)]| {
        let mut g: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (a, b) in edges {
            g.entry(a.to_string()).or_default().insert(b.to_string());
            g.entry(b.to_string()).or_default();
        }
        g
    };
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("c", "a")])),
        Some(vec!["a".into(), "b".into(), "c".into(), "a".into()])
    );
    assert_eq!(
        find_cycle(&graph(&[("a", "b"), ("b", "c"), ("a", "c")])),
        None
    );
    assert!(crate_paths("use crate::b::X;\n// crate::c\n").contains("b"));
    assert!(!crate_paths("// use crate::c;\n").contains("c"));
    assert!(!crate_paths("fn f() {}\n#[cfg(test)]\nmod tests { use crate::d; }").contains("d"));
}
