//! The layout map in `src/lib.rs` gives every module a rank and says what it may not
//! import. This reads that map and every `crate::` path in `src/` (comments aside) and
//! fails on any import of a module of the same or a higher rank (an upward import, or a
//! circle) and on any the map forbids, so data keeps flowing one way.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// One module's line of the layout map.
struct Layer {
    rank: u32,
    forbidden: BTreeSet<String>,
}

/// `module → its rank and the modules it may not import`, from the
/// `//! - \`name\` (rank) — … May not import: …` lines.
fn layers() -> BTreeMap<String, Layer> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).unwrap();
    let mut map = BTreeMap::new();
    for line in lib.lines() {
        let Some(entry) = line.strip_prefix("//! - `") else {
            continue;
        };
        let (name, rest) = entry.split_once('`').unwrap();
        let rank = rest
            .trim_start()
            .strip_prefix('(')
            .and_then(|r| r.split_once(')'))
            .and_then(|(n, _)| n.parse::<u32>().ok())
            .unwrap_or_else(|| panic!("the layout line of `{name}` gives its rank: `{name}` (N)"));
        let (_, list) = rest
            .split_once("May not import:")
            .unwrap_or_else(|| panic!("the layout line of `{name}` says what it may not import"));
        let list = list.trim().trim_end_matches('.');
        let names: BTreeSet<String> = if list == "nothing is above it" {
            BTreeSet::new()
        } else {
            list.split(',').map(|m| m.trim().to_string()).collect()
        };
        map.insert(
            name.to_string(),
            Layer {
                rank,
                forbidden: names,
            },
        );
    }
    map
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

/// The modules named by `crate::…` paths in a line of code (not in a comment).
fn imported(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    code.match_indices("crate::")
        .filter(|(at, _)| !code[..*at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect()
        })
        .collect()
}

#[test]
fn every_import_follows_the_layout_map() {
    let layers = layers();
    let mut ranks = BTreeMap::new();
    for (module, layer) in &layers {
        if let Some(other) = ranks.insert(layer.rank, module) {
            panic!("`{module}` and `{other}` have the same rank {}", layer.rank);
        }
    }
    let declared: BTreeSet<String> = std::fs::read_to_string(src().join("lib.rs"))
        .unwrap()
        .lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect();
    let mapped: BTreeSet<String> = layers.keys().cloned().collect();
    assert_eq!(
        declared, mapped,
        "every module has one line in the layout map"
    );
    for (module, layer) in &layers {
        for name in &layer.forbidden {
            assert!(
                declared.contains(name),
                "`{module}` forbids an unknown module `{name}`"
            );
        }
    }

    let mut broken = Vec::new();
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for file in files {
        let relative = file.strip_prefix(src()).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
        let Some(layer) = layers.get(&module) else {
            continue; // lib.rs, main.rs
        };
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            for target in imported(line) {
                let Some(below) = layers.get(&target).filter(|_| target != module) else {
                    continue; // itself, or not a module (`crate::Foo` at the root)
                };
                let why = if layer.forbidden.contains(&target) {
                    format!("`{module}` may not import `{target}`")
                } else if below.rank >= layer.rank {
                    format!(
                        "`{module}` ({}) imports `{target}` ({}), which is not below it",
                        layer.rank, below.rank
                    )
                } else {
                    continue;
                };
                broken.push(format!(
                    "src/{}:{}: {why}: {}",
                    relative.display(),
                    n + 1,
                    line.trim()
                ));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "imports against the layout map:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_scan_sees_imports_and_skips_comments() {
    assert_eq!(imported("use crate::core::Core;"), ["core"]);
    assert_eq!(
        imported("    x: crate::chat::Role, y: crate::store::Decision"),
        ["chat", "store"]
    );
    assert!(imported("// see crate::core").is_empty());
    assert!(imported("use other_crate::core;").is_empty());
}
