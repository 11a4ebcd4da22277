//! Architecture invariant: no import circles between the modules of any crate of the workspace.
//!
//! The test reads every crate's sources, resolves each `crate::…`, `super::…` and `self::…` path
//! (in `use` items and inline) to the module it names, and lifts each dependency to the two
//! sibling modules it connects (the children of the lowest common ancestor: `crate::session`
//! used in `reader/iec.rs` is an edge `reader → session`). A module using its own ancestors or
//! descendants is no circle. Any cycle among siblings fails the test, with the files to look at.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The crates checked, by source directory under the workspace root.
const CRATES: &[&str] = &["decoder/src", "sim/src", "harness/src", "xtask/src"];

type ModPath = Vec<String>;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("readable source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `a/b.rs` → `[a, b]`, `a/mod.rs` → `[a]`, `lib.rs`/`main.rs` → `[]`.
fn module_of(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().expect("a file name");
    let stem = last.trim_end_matches(".rs");
    if !(stem == "mod" || (parts.is_empty() && (stem == "lib" || stem == "main"))) {
        parts.push(stem.to_string());
    }
    parts
}

/// The source without comments and without the `#[cfg(test)]` module at its end (whose
/// `super::` is the file's own module).
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(i) => &text[..i],
        None => text,
    };
    let mut out = String::with_capacity(text.len());
    let mut in_block = false;
    for line in text.lines() {
        let mut line = line;
        if in_block {
            match line.find("*/") {
                Some(i) => {
                    line = &line[i + 2..];
                    in_block = false;
                }
                None => continue,
            }
        }
        if let Some(i) = line.find("/*") {
            in_block = !line[i..].contains("*/");
            line = &line[..i];
        }
        if let Some(i) = line.find("//") {
            line = &line[..i];
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The paths a `use` tree names: `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e`.
fn use_paths(prefix: &str, tree: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    match tree.find('{') {
        Some(open) if tree.ends_with('}') => {
            let head = tree[..open].trim().trim_end_matches("::");
            let inner = &tree[open + 1..tree.len() - 1];
            let base = join(prefix, head);
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        use_paths(&base, &inner[start..i], out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            use_paths(&base, &inner[start..], out);
        }
        _ => {
            let path = tree.split(" as ").next().unwrap_or("").trim();
            if !path.is_empty() {
                out.push(join(prefix, path));
            }
        }
    }
}

fn join(prefix: &str, path: &str) -> String {
    match (prefix.is_empty(), path.is_empty()) {
        (true, _) => path.to_string(),
        (_, true) => prefix.to_string(),
        _ => format!("{prefix}::{path}"),
    }
}

/// Every path in the code that starts at `crate`, `super` or `self`.
fn paths(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    // `use` items, with their groups.
    let mut rest = code;
    while let Some(i) = rest.find("use ") {
        let boundary = i == 0 || !rest[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let after = &rest[i + 4..];
        if boundary {
            if let Some(end) = after.find(';') {
                use_paths("", &after[..end], &mut out);
            }
        }
        rest = after;
    }
    // Inline paths: `crate::live::run(…)`.
    for root in ["crate::", "super::", "self::"] {
        for (i, _) in code.match_indices(root) {
            if i > 0 && code[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
                continue;
            }
            let end = code[i..]
                .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':'))
                .map_or(code.len(), |e| i + e);
            out.push(code[i..end].trim_end_matches(':').to_string());
        }
    }
    out.retain(|p| p.starts_with("crate") || p.starts_with("super") || p.starts_with("self"));
    out
}

/// The module a path names (the longest known prefix), seen from `from`.
fn resolve(from: &ModPath, path: &str, modules: &BTreeSet<ModPath>) -> Option<ModPath> {
    let mut segs = path.split("::").map(str::trim).filter(|s| !s.is_empty());
    let mut base: ModPath = match segs.next()? {
        "crate" => Vec::new(),
        "self" => from.clone(),
        "super" => {
            let mut b = from.clone();
            b.pop();
            b
        }
        _ => return None,
    };
    let mut best = base.clone();
    for seg in segs {
        if seg == "super" {
            base.pop();
            best = base.clone();
            continue;
        }
        base.push(seg.to_string());
        if modules.contains(&base) {
            best = base.clone();
        } else {
            break;
        }
    }
    Some(best)
}

/// The edges between sibling modules (parent, from child, to child) with the file that causes
/// each.
fn sibling_edges(src: &Path) -> BTreeMap<(ModPath, String, String), BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    let modules: BTreeSet<ModPath> = files.iter().map(|f| module_of(src, f)).collect();
    let mut edges: BTreeMap<(ModPath, String, String), BTreeSet<String>> = BTreeMap::new();
    for file in &files {
        let from = module_of(src, file);
        let text = std::fs::read_to_string(file).expect("readable source");
        for path in paths(&code(&text)) {
            let Some(to) = resolve(&from, &path, &modules) else {
                continue;
            };
            let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue; // an ancestor or a descendant
            }
            edges
                .entry((
                    from[..common].to_vec(),
                    from[common].clone(),
                    to[common].clone(),
                ))
                .or_default()
                .insert(format!("{} ({path})", file.display()));
        }
    }
    edges
}

/// The cycles of a directed graph, one per strongly connected component of more than one node.
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    // Kosaraju's algorithm, iteratively small: the graphs have a few dozen nodes.
    let nodes: BTreeSet<&String> = edges
        .iter()
        .flat_map(|(a, bs)| std::iter::once(a).chain(bs))
        .collect();
    let reach = |start: &String| -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![start.clone()];
        while let Some(n) = stack.pop() {
            for m in edges.get(&n).into_iter().flatten() {
                if seen.insert(m.clone()) {
                    stack.push(m.clone());
                }
            }
        }
        seen
    };
    let reachable: BTreeMap<&String, BTreeSet<String>> =
        nodes.iter().map(|n| (*n, reach(n))).collect();
    let mut done = BTreeSet::new();
    let mut out = Vec::new();
    for n in &nodes {
        if done.contains(*n) || !reachable[*n].contains(*n) {
            continue;
        }
        let component: Vec<String> = nodes
            .iter()
            .filter(|m| reachable[*n].contains(**m) && reachable[**m].contains(*n))
            .map(|m| (*m).clone())
            .collect();
        done.extend(component.iter().cloned());
        out.push(component);
    }
    out
}

fn circles_in(src: &Path) -> Vec<String> {
    let edges = sibling_edges(src);
    let mut by_parent: BTreeMap<ModPath, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (parent, from, to) in edges.keys() {
        by_parent
            .entry(parent.clone())
            .or_default()
            .entry(from.clone())
            .or_default()
            .insert(to.clone());
    }
    let mut found = Vec::new();
    for (parent, graph) in &by_parent {
        for component in cycles(graph) {
            let mut why = Vec::new();
            for ((p, from, to), files) in &edges {
                if p == parent && component.contains(from) && component.contains(to) {
                    why.push(format!(
                        "    {from} → {to}: {}",
                        files.iter().cloned().collect::<Vec<_>>().join(", ")
                    ));
                }
            }
            found.push(format!(
                "{} in crate::{}:\n{}",
                component.join(" ⇄ "),
                parent.join("::"),
                why.join("\n")
            ));
        }
    }
    found
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

#[test]
fn no_import_circles_inside_any_crate() {
    let mut found = Vec::new();
    for krate in CRATES {
        let src = root().join(krate);
        assert!(src.is_dir(), "{} exists", src.display());
        found.extend(
            circles_in(&src)
                .into_iter()
                .map(|c| format!("{krate}: {c}")),
        );
    }
    assert!(found.is_empty(), "import circles:\n{}", found.join("\n"));
}

#[test]
fn the_check_itself_finds_circles() {
    let dir = std::env::temp_dir().join(format!("meterlab-arch-{}", std::process::id()));
    let src = dir.join("src");
    std::fs::create_dir_all(src.join("a")).expect("temp dir");
    let write = |p: &str, t: &str| std::fs::write(src.join(p), t).expect("write");
    write("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n");
    write("a/mod.rs", "pub mod x;\nuse crate::b::Thing;\n");
    write("a/x.rs", "use super::super::c::{self, Other};\n");
    write(
        "b.rs",
        "pub fn f() { crate::c::g() }\n// crate::a would be a circle\n",
    );
    write(
        "c.rs",
        "#[cfg(test)]\nmod test { use crate::a::x; }\nuse crate::{b as bee};\n",
    );
    assert!(circles_in(&src).is_empty(), "{:?}", circles_in(&src));
    // c → a closes a → b → c and a → c.
    write("c.rs", "use crate::{b as bee, a::x::Y};\n");
    let found = circles_in(&src);
    std::fs::remove_dir_all(&dir).expect("clean up");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("a ⇄ b ⇄ c in crate::"), "{found:?}");
}
