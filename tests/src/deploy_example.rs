//! What the tests that run real third-party servers (nginx, Traefik) on the project's example
//! configs share: reading an example of `deploy/` whose placeholders they replace, finding the
//! server's binary, and writing its files.

use std::path::{Path, PathBuf};

/// The example file `relative` (to the workspace root), checked to still hold every
/// placeholder a test replaces: one left in would mean the test runs something else than it
/// says, so a missing one is a failure, never a silent pass.
pub fn read(relative: &str, placeholders: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    for placeholder in placeholders {
        assert!(
            text.contains(placeholder),
            "{relative} no longer contains `{placeholder}`: the tests put their own values in its \
             place, so keep it (or change the harness in tests/src/ with it)"
        );
    }
    text
}

/// The first of: `name` on PATH, then `elsewhere` (places a package or the test setup puts it).
pub fn find_binary(name: &str, elsewhere: impl IntoIterator<Item = PathBuf>) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(name))
        .chain(elsewhere)
        .find(|candidate| candidate.is_file())
}

pub fn write(path: &Path, contents: &str) {
    std::fs::write(path, contents).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
