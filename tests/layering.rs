//! The one-way layering, checked on the sources (docs/DESIGN.md, "Layers"):
//! the engine layer (`src/analysis/`) and the recording format
//! (`src/recording/`) use no async, UI or NATS crate and name no module
//! above them; no library layer takes clap arguments; no view draws with
//! another view's code; and the top-level modules depend on each other
//! without a cycle. Test code (`#[cfg(test)]` modules, `tests.rs`) is not
//! looked at: tests may use anything.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Crates the lower layers must not use.
const ASYNC_UI_NATS: [&str; 4] = ["tokio", "ratatui", "crossterm", "async_nats"];
/// Modules above the engine layer and the recording format.
const UPPER: [&str; 15] = [
    "cli",
    "tui",
    "source",
    "replay",
    "host",
    "session",
    "demo",
    "analyze",
    "record",
    "publish",
    "lag_report",
    "report",
    "config",
    "output",
    "main",
];

/// Every `.rs` file below `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The code of a file without its test module (test modules come last in
/// a file; a file of tests has none of its code looked at), comments
/// dropped.
fn code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]") {
        Some(at) => &text[..at],
        None => &text[..],
    };
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whether `code` uses the path `name::` (as a word, not as a suffix).
fn uses(code: &str, name: &str) -> bool {
    let pat = format!("{name}::");
    code.match_indices(&pat).any(|(at, _)| {
        !code[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
    })
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// What breaks the rules in `dir`: (file, what it names).
fn violations(dir: &str, forbidden: &[String]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for f in files(&src().join(dir)) {
        let code = code(&f);
        for name in forbidden {
            if uses(&code, name) {
                let rel = f.strip_prefix(src()).unwrap().display().to_string();
                out.push((rel, name.clone()));
            }
        }
    }
    out
}

#[test]
fn the_engine_layer_and_the_recording_format_stay_pure() {
    let mut forbidden: Vec<String> = ASYNC_UI_NATS.iter().map(|c| c.to_string()).collect();
    forbidden.extend(UPPER.iter().map(|m| format!("crate::{m}")));
    for dir in ["analysis", "recording"] {
        let v = violations(dir, &forbidden);
        assert!(
            v.is_empty(),
            "src/{dir} must not use async, UI or NATS crates or upper modules: {v:?}"
        );
    }
}

#[test]
fn no_library_layer_takes_clap_arguments() {
    let forbidden = vec!["crate::cli".to_owned(), "clap".to_owned()];
    for dir in ["source", "analysis", "recording", "replay", "host", "tui"] {
        let v = violations(dir, &forbidden);
        assert!(v.is_empty(), "src/{dir} must not use the CLI: {v:?}");
    }
}

#[test]
fn no_view_draws_with_another_views_code() {
    let views_dir = src().join("tui/views");
    let views: Vec<String> = files(&views_dir)
        .iter()
        .filter(|p| p.parent() == Some(&views_dir) || p.ends_with("mod.rs"))
        .filter_map(|p| {
            let name = if p.ends_with("mod.rs") {
                p.parent()?.file_name()?
            } else {
                p.file_stem()?
            };
            Some(name.to_str()?.to_owned())
        })
        .filter(|n| n != "views" && n != "kit")
        .collect();
    for f in files(&views_dir) {
        let rel = f.strip_prefix(&views_dir).unwrap();
        if rel.starts_with("kit") {
            continue;
        }
        let own = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_str()
            .unwrap();
        let own = own.trim_end_matches(".rs");
        let code = code(&f);
        for v in views.iter().filter(|v| *v != own) {
            let named = uses(&code, &format!("super::{v}")) || uses(&code, &format!("views::{v}"));
            // views/mod.rs lays out the screen: it calls every view.
            assert!(
                !named || own == "mod",
                "tui/views/{} uses the view {v}; shared drawing helpers go in views/kit",
                rel.display()
            );
        }
    }
}

/// The top-level module a file belongs to.
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_str()
        .unwrap();
    first.trim_end_matches(".rs").to_owned()
}

#[test]
fn top_level_modules_depend_on_each_other_without_a_cycle() {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let all = files(&src());
    let modules: BTreeSet<String> = all.iter().map(|p| module_of(p)).collect();
    for f in &all {
        let from = module_of(f);
        if from == "main" || from == "lib" {
            continue;
        }
        let code = code(f);
        let deps = graph.entry(from.clone()).or_default();
        for m in &modules {
            if *m != from && uses(&code, &format!("crate::{m}")) {
                deps.insert(m.clone());
            }
        }
    }
    // Depth-first search for a back edge.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_owned());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_owned());
        for d in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(d, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut Vec::new(), &mut done) {
            panic!(
                "modules depend on each other in a cycle: {}",
                cycle.join(" → ")
            );
        }
    }
}

#[test]
fn the_checks_catch_what_they_are_for() {
    let code = "use tokio::sync::watch;\nlet x = crate::cli::Cli;\nlet y = my_tokio::x;";
    assert!(uses(code, "tokio"));
    assert!(uses(code, "crate::cli"));
    assert!(
        !uses("let y = my_tokio::x;", "tokio"),
        "a suffix is not the crate"
    );
}
