//! The workspace's structure rules, run by every `cargo test`, so CI refuses a change that
//! breaks them. Between crates the compiler enforces the layers: the numeric core (`crates/opt`)
//! cannot import the Flink model or the application while its Cargo.toml names no other
//! workspace crate. Inside a crate nothing stops module A importing B while B imports A, or a
//! file or function growing without bound; this test does. Rules and limits match the team's
//! checkers (`modcycles.py`, `fnlen.py`); one point is stricter: outside test code, a `super::`
//! path to a sibling module is an import like a `crate::` path.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 1000;
const MAX_FN_LINES: usize = 120;

/// Module → the modules of the same crate it imports.
type Graph = BTreeMap<String, BTreeSet<String>>;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rel(path: &Path) -> String {
    let rel = path.strip_prefix(root()).unwrap().display().to_string();
    if rel.is_empty() { ".".into() } else { rel }
}

/// The workspace's crates: the root package and the `members` of `[workspace]`.
fn crate_dirs() -> Vec<PathBuf> {
    let manifest = read(&root().join("Cargo.toml"));
    let members = &manifest[manifest.find("members").expect("[workspace] members")..];
    let list = &members[members.find('[').unwrap() + 1..members.find(']').unwrap()];
    let names = list.split(',').map(|m| m.trim().trim_matches('"'));
    let mut dirs = vec![root()];
    dirs.extend(names.filter(|m| !m.is_empty()).map(|m| root().join(m)));
    let missing = dirs.iter().find(|d| !d.join("src").is_dir());
    assert!(missing.is_none(), "{missing:?}: a crate without src/");
    dirs
}

/// Every `.rs` file under `dir` (none if it does not exist), sorted.
fn rs_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).into_iter().flatten() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rs_files(&path));
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The `.rs` files under the given folders of every crate.
fn sources(folders: &[&str]) -> Vec<PathBuf> {
    let dirs = crate_dirs();
    let all = dirs.iter().flat_map(|d| folders.iter().map(|f| d.join(f)));
    all.flat_map(|folder| rs_files(&folder)).collect()
}

/// Test code by its place (`rel` to the crate or workspace): `tests.rs`, `tests/`, `benches/`.
fn is_test_file(rel: &Path) -> bool {
    rel.ends_with("tests.rs") || rel.iter().any(|c| c == "tests" || c == "benches")
}

/// Index of the file's first `#[cfg(test)]` line: everything from there on is test code.
fn test_from(lines: &[&str]) -> usize {
    let first = lines.iter().position(|l| l.trim() == "#[cfg(test)]");
    first.unwrap_or(lines.len())
}

/// `src/stages/search/multi.rs` → `stages::search::multi`; `mod.rs`, `lib.rs`, `main.rs` name
/// their folder, or `crate`.
fn module_name(src: &Path, file: &Path) -> String {
    let mut stem = file.strip_prefix(src).unwrap().with_extension("");
    if ["mod", "lib", "main"].iter().any(|r| stem.ends_with(r)) {
        stem.pop();
    }
    let parts: Vec<_> = stem.iter().map(|p| p.to_string_lossy()).collect();
    let m = parts.join("::");
    if m.is_empty() { "crate".into() } else { m }
}

/// The modules a path after `base::` names: its longest prefix that is a module other than
/// `this` (`a::b::Item` → `a::b`), or each group head that is one (`{a, b::c}` → `a`, `b`).
fn targets(base: &[&str], path: &str, this: &str, mods: &BTreeSet<String>) -> Vec<String> {
    let end = path.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'));
    let segs = path[..end.unwrap_or(path.len())].split("::");
    let group = path.strip_prefix('{').and_then(|g| g.split_once('}'));
    let items = group.map_or("", |(items, _)| items).split(',');
    let heads = items.map(|item| vec![item.split("::").next().unwrap().trim()]);
    let mut out = Vec::new();
    for segs in heads.chain([segs.take_while(|seg| !seg.is_empty()).collect()]) {
        let prefixes = (1..=segs.len()).rev().map(|k| [base, &segs[..k]].concat());
        let mut names = prefixes.map(|prefix| prefix.join("::"));
        out.extend(names.find(|m| m != this && mods.contains(m)));
    }
    out
}

/// Modules `this` imports by `crate::` paths and `crate::{…}` groups, as modcycles.py reads them.
fn crate_edges(text: &str, this: &str, mods: &BTreeSet<String>) -> BTreeSet<String> {
    let found = text.match_indices("crate::");
    let paths = found.map(|(i, head)| &text[i + head.len()..]);
    paths.flat_map(|p| targets(&[], p, this, mods)).collect()
}

/// Modules below `this`'s parent (or a `super::super` ancestor) that `this` reaches by `super::`.
fn super_edges(text: &str, this: &str, mods: &BTreeSet<String>) -> BTreeSet<String> {
    let parts: Vec<&str> = this.split("::").filter(|p| *p != "crate").collect();
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("super::") {
        if text[..i].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue; // not a path's head: `x::super::`, or the second of `super::super::`
        }
        let rest = text[i..].trim_start_matches("super::");
        let ups = (text.len() - i - rest.len()) / "super::".len();
        if let Some(n) = parts.len().checked_sub(ups) {
            out.extend(targets(&parts[..n], rest, this, mods));
        }
    }
    out
}

/// The import graph of the crate whose sources are under `src` (`//` comments stripped; the
/// `super::` edges only from non-test code).
fn module_graph(src: &Path) -> Graph {
    let files = rs_files(src);
    let mods: BTreeSet<String> = files.iter().map(|f| module_name(src, f)).collect();
    let mut graph: Graph = mods.iter().map(|m| (m.clone(), BTreeSet::new())).collect();
    for file in &files {
        let (module, text) = (module_name(src, file), read(file));
        let code = text.split('\n').map(|l| l.split("//").next().unwrap());
        let lines: Vec<_> = code.collect();
        let mut edges = crate_edges(&lines.join("\n"), &module, &mods);
        if !is_test_file(file.strip_prefix(src).unwrap()) {
            let code = lines[..test_from(&lines)].join("\n");
            edges.extend(super_edges(&code, &module, &mods));
        }
        graph.get_mut(&module).unwrap().extend(edges);
    }
    graph
}

/// Depth-first from `v` through modules not `seen` yet, each pushed after all it reaches.
fn dfs<'g>(graph: &'g Graph, v: &'g str, seen: &mut BTreeSet<&'g str>, done: &mut Vec<&'g str>) {
    if seen.insert(v) {
        for w in graph.get(v).into_iter().flatten() {
            dfs(graph, w, seen, done);
        }
        done.push(v);
    }
}

/// The strongly connected components of more than one module (Kosaraju), each sorted.
fn circles(graph: &Graph) -> Vec<Vec<String>> {
    let mut back = Graph::new();
    for (from, to) in graph {
        for t in to {
            back.entry(t.clone()).or_default().insert(from.clone());
        }
    }
    let (mut seen, mut order) = (BTreeSet::new(), Vec::new());
    for v in graph.keys() {
        dfs(graph, v, &mut seen, &mut order);
    }
    seen.clear();
    let mut out = Vec::new();
    for v in order.into_iter().rev() {
        let mut component = Vec::new();
        dfs(&back, v, &mut seen, &mut component);
        let mut component: Vec<String> = component.into_iter().map(String::from).collect();
        component.sort();
        out.extend(Some(component).filter(|c| c.len() > 1));
    }
    out.sort();
    out
}

/// `(indentation, name)` when `line` starts a function, read as fnlen.py's pattern reads it:
/// `[pub[(…)]] [const] [async] [unsafe] [extern "…"] fn name`.
fn fn_head(line: &str) -> Option<(&str, &str)> {
    fn spaces(s: &str) -> Option<&str> {
        let t = s.trim_start();
        (t.len() < s.len()).then_some(t)
    }
    let body = line.trim_start();
    let mut rest = body;
    for word in ["pub", "const", "async", "unsafe", "extern"] {
        if let Some(r) = rest.strip_prefix(word) {
            let r = match word {
                "pub" if r.starts_with('(') => r.split_once(')').map(|p| p.1),
                "extern" => spaces(r)
                    .and_then(|r| r.strip_prefix('"')?.split_once('"'))
                    .map(|p| p.1),
                _ => Some(r),
            };
            rest = r.and_then(spaces).unwrap_or(rest);
        }
    }
    let rest = spaces(rest.strip_prefix("fn")?)?;
    let n = rest.find(|c: char| !(c.is_alphanumeric() || c == '_'));
    let n = n.unwrap_or(rest.len());
    (n > 0).then(|| (&line[..line.len() - body.len()], &rest[..n]))
}

/// Functions before the first `#[cfg(test)]` line longer than `limit`: `(line, name, lines)`.
/// A function runs from its `fn` line to the first later line that is only `}` at its indentation.
fn long_functions(text: &str, limit: usize) -> Vec<(usize, String, usize)> {
    let lines: Vec<&str> = text.split('\n').collect();
    let end = test_from(&lines);
    let mut out = Vec::new();
    for (i, line) in lines[..end].iter().enumerate() {
        let Some((indent, name)) = fn_head(line).filter(|_| !line.trim_end().ends_with(';')) else {
            continue;
        };
        let closing = |l: &&str| l.strip_prefix(indent) == Some("}");
        let close = lines[i + 1..end].iter().position(closing);
        if let Some(len) = close.map(|j| j + 2).filter(|&len| len > limit) {
            out.push((i + 1, name.to_string(), len));
        }
    }
    out
}

/// Lines of a crate manifest's dependency tables that name a workspace crate: a `path`
/// dependency, or a `flinktune` package.
fn workspace_dependencies(manifest: &str) -> Vec<String> {
    let mut in_deps = false;
    let mut out = Vec::new();
    for (i, raw) in manifest.lines().enumerate() {
        let line = raw.split('#').next().unwrap().trim();
        if line.starts_with('[') {
            in_deps = line.contains("dependencies"); // [dependencies], [dev-dependencies.x], …
        }
        let flat = line.replace(char::is_whitespace, "");
        let path_key = flat.split(['{', ',', '.']).any(|k| k.starts_with("path="));
        if in_deps && (path_key || line.contains("flinktune")) {
            out.push(format!("line {}: {line}", i + 1));
        }
    }
    out
}

fn report(what: &str, found: &[String]) {
    let list = found.join("\n  ");
    assert!(found.is_empty(), "{} {what}:\n  {list}", found.len());
}

#[test]
fn no_import_circle_between_the_modules_of_a_crate() {
    let mut found = Vec::new();
    for dir in crate_dirs() {
        let graph = module_graph(&dir.join("src"));
        for circle in circles(&graph) {
            let list = circle.join(", ");
            let mut text = format!("{}: circle of {} modules: {list}", rel(&dir), circle.len());
            for m in &circle {
                let to = graph[m].iter().filter(|t| circle.contains(t));
                let to: Vec<_> = to.map(String::as_str).collect();
                text += &format!("\n      {m} -> {}", to.join(", "));
            }
            found.push(text);
        }
    }
    report("import circle(s) between modules", &found);
}

#[test]
fn no_source_file_over_1000_lines() {
    let mut found = Vec::new();
    for file in sources(&["src", "tests", "benches", "examples"]) {
        let n = read(&file).lines().count();
        if n > MAX_FILE_LINES {
            found.push(format!("{}: {n} lines", rel(&file)));
        }
    }
    report(&format!("file(s) over {MAX_FILE_LINES} lines"), &found);
}

#[test]
fn no_non_test_function_over_120_lines() {
    let mut found = Vec::new();
    for file in sources(&["src", "examples"]) {
        if is_test_file(file.strip_prefix(root()).unwrap()) {
            continue;
        }
        for (line, name, n) in long_functions(&read(&file), MAX_FN_LINES) {
            found.push(format!("{}:{line} fn {name}: {n} lines", rel(&file)));
        }
    }
    let what = format!("non-test function(s) over {MAX_FN_LINES} lines");
    report(&what, &found);
}

#[test]
fn numeric_crate_depends_on_no_other_workspace_crate() {
    let found = workspace_dependencies(&read(&root().join("crates/opt/Cargo.toml")));
    report("workspace crate(s) named in crates/opt/Cargo.toml", &found);
}

/// The checker itself, on small inputs.
mod checker {
    use super::*;

    fn mods(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn edges_take_the_longest_module_prefix_and_group_heads() {
        let m = mods(&["a", "a::b", "c", "d"]);
        let text = "use crate::a::b::{X, Y};\nfn f() { crate::c::g() }\nuse crate::{d, a::Z};";
        assert_eq!(crate_edges(text, "x", &m), mods(&["a", "a::b", "c", "d"]));
        // A path into the module itself counts for its parent, as in modcycles.py.
        assert_eq!(crate_edges("crate::a::b::X", "a::b", &m), mods(&["a"]));
        let text = "use super::s::X;\nuse super::{t, Item};\nuse super::*;\nuse super::super::q;";
        let m = mods(&["p", "p::s", "p::t", "p::u", "q"]);
        assert_eq!(super_edges(text, "p::me", &m), mods(&["p::s", "p::t", "q"]));
        assert_eq!(super_edges("use super::Item;", "p::me", &m), mods(&[]));
        assert_eq!(super_edges("use super::q;", "crate", &m), mods(&[]));
    }

    #[test]
    fn circles_are_the_components_of_more_than_one_module() {
        let mut graph = Graph::new();
        for (from, to) in [("a", "b"), ("b", "c"), ("c", "a"), ("d", "a"), ("e", "e")] {
            graph.insert(from.into(), mods(&[to]));
        }
        assert_eq!(circles(&graph), [["a", "b", "c"]]);
        assert!(circles(&Graph::from([("a".into(), mods(&["b"]))])).is_empty());
    }

    #[test]
    fn a_crate_on_disk_with_and_without_a_circle() {
        let src = std::env::temp_dir().join(format!("flinktune-structure-{}", std::process::id()));
        let w = |file: &str, text: &str| {
            fs::create_dir_all(src.join(file).parent().unwrap()).unwrap();
            fs::write(src.join(file), text).unwrap();
        };
        w("lib.rs", "mod a;\nmod b;\n// use crate::b::c::X;\n");
        w("a.rs", "use crate::b::c::X;\n#[cfg(test)]\nuse super::*;");
        w("b/mod.rs", "pub mod c;\n");
        w("b/c.rs", "struct X;\n#[cfg(test)]\nuse super::super::a;");
        w("b/tests.rs", "use super::super::a;\n");
        let before = circles(&module_graph(&src));
        w("b/c.rs", "use super::super::a;\npub struct X;\n");
        let after = circles(&module_graph(&src));
        fs::remove_dir_all(&src).unwrap();
        assert!(before.is_empty(), "{before:?}");
        assert_eq!(after, [["a", "b::c"]]);
    }

    #[test]
    fn functions_run_to_their_closing_brace_and_tests_are_skipped() {
        assert_eq!(fn_head("  pub(crate) async fn f<T>("), Some(("  ", "f")));
        assert_eq!(fn_head("const unsafe extern \"C\" fn f()"), Some(("", "f")));
        for not_a_head in ["pub (crate) fn f()", "let f: fn(u8) = g;", "fn_call();"] {
            assert_eq!(fn_head(not_a_head), None);
        }
        let text = "trait T {\n    fn decl(&self);\n}\nfn long() {\n    if x {\n    }\n}\n\
                    fn short() {}\n#[cfg(test)]\nfn in_tests() {\n\n\n\n}\n";
        assert_eq!(long_functions(text, 3), [(4, "long".to_string(), 4)]);
        assert!(long_functions(text, 4).is_empty());
        assert!(is_test_file(Path::new("src/study/tests.rs")));
        assert!(is_test_file(Path::new("src/x/tests/y.rs")));
        assert!(!is_test_file(Path::new("src/x/testsuite.rs")));
    }

    #[test]
    fn manifest_dependencies_on_workspace_crates() {
        let bad = "[dependencies]\nflink = { package = \"flinktune-flink\", path = \"../flink\" }\n\
                   [dev-dependencies.x]\npath = \"../x\"\n[package]\nname = \"flinktune-opt\"\n";
        assert_eq!(workspace_dependencies(bad).len(), 2);
        let good = "[package]\nname = \"flinktune-opt\"\n[dependencies]\nfaer.workspace = true\n\
                    libm = \"0.2\" # no path = here\nxpath = \"1\"\n";
        assert!(workspace_dependencies(good).is_empty());
    }
}
