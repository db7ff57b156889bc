//! A platform is its folder and one registry line: its name appears in no file of `src/`
//! but those under `src/channels/<name>/` and the registry in `src/channels/mod.rs`, so
//! config, core, tasks and the rest know platforms only through the registry.

use fanops::channels::PLATFORMS;
use std::path::{Path, PathBuf};

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        match path.is_dir() {
            true => files(&path, out),
            false => out.push(path),
        }
    }
}

/// The file's lines that name `word` in any case, as `path:line: text`.
fn naming(path: &Path, word: &str) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(path) else {
        return Vec::new(); // not text: nothing to read a name in
    };
    let word = word.to_lowercase();
    text.lines()
        .enumerate()
        .filter(|(_, line)| line.to_lowercase().contains(&word))
        .map(|(i, line)| format!("{}:{}: {}", path.display(), i + 1, line.trim()))
        .collect()
}

#[test]
fn a_platform_is_named_only_in_its_folder_and_the_registry() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let registry = src.join("channels").join("mod.rs");
    let mut all = Vec::new();
    files(&src, &mut all);
    assert!(
        all.len() > 50,
        "the scan sees the source tree: {}",
        all.len()
    );
    for platform in PLATFORMS {
        let folder = src.join("channels").join(platform.name());
        assert!(
            folder.join("mod.rs").is_file(),
            "{} has its folder {}",
            platform.title(),
            folder.display()
        );
        let outside: Vec<String> = all
            .iter()
            .filter(|f| !f.starts_with(&folder) && **f != registry)
            .flat_map(|f| {
                let mut found = naming(f, platform.name());
                found.extend(naming(f, platform.title()));
                found.sort();
                found.dedup();
                found
            })
            .collect();
        assert!(
            outside.is_empty(),
            "{} is named outside its folder and the registry:\n{}",
            platform.title(),
            outside.join("\n")
        );
    }
}

#[test]
fn the_scan_finds_a_name_in_any_case() {
    let dir = std::env::temp_dir().join(format!("fanops-names-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("x.rs");
    std::fs::write(&file, "fn a() {}\n// posts to PlatformX here\n").unwrap();
    assert_eq!(naming(&file, "platformx").len(), 1);
    assert!(naming(&file, "other").is_empty());
    std::fs::remove_dir_all(&dir).unwrap();
}
