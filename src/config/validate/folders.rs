//! The folders the file names: a mistyped one would leave its tasks or skills silently
//! unloaded, so a folder set in the file must exist. A built-in default may be absent.

use crate::config::{path, Report};
use std::path::Path;

pub(super) fn validate_folders(r: &mut Report<'_>) {
    let workflows = r.config.scheduler.workflows_dir.clone();
    folder(
        r,
        &["scheduler", "workflows_dir"],
        &workflows,
        "its workflow files would never be loaded, so their tasks would never run",
    );
    if let Some(dir) = r.config.skills.dir.clone() {
        folder(
            r,
            &["skills", "dir"],
            &dir,
            "its skills would never be loaded",
        );
    }
}

/// A problem at `keys` when the file sets it to a folder that is not there.
fn folder(r: &mut Report<'_>, keys: &[&str], value: &str, unloaded: &str) {
    if r.locator.line_if_present(&path(keys)).is_none() {
        return;
    }
    let key = format!("[{}] {}", keys[0], keys[1]);
    if value.trim().is_empty() {
        return r.at(keys, format!("{key} must name a folder"));
    }
    let dir = Path::new(value);
    // Relative folders are read from the working directory, as the loaders read them.
    let looked = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => r.at(
            keys,
            format!(
                "{key} `{value}` is a file, not a folder ({}): {unloaded}",
                looked.display()
            ),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => r.at(
            keys,
            format!(
                "{key} `{value}` does not exist (looked for {}): {unloaded}; correct the path or create the folder",
                looked.display()
            ),
        ),
        Err(e) => r.at(
            keys,
            format!("{key} `{value}` cannot be read ({}): {e}", looked.display()),
        ),
    }
}
