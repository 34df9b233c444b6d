//! Owner-only files for the secrets kept on disk: the SQLite database (argon2 hashes, emails,
//! client addresses) and the key-encryption key. Whatever is created here gets 0700 or 0600
//! whatever the umask; whatever existed before keeps its mode, since a directory such as `/etc`
//! holding a key file is not ours to change; and a key file that anyone but its owner can
//! open is refused rather than trusted.

use anyhow::{bail, Context};
use std::fs::{DirBuilder, File, OpenOptions, Permissions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

const PRIVATE_DIR: u32 = 0o700;
const PRIVATE_FILE: u32 = 0o600;
/// The permission bits of everyone but the owner.
const GROUP_OR_OTHERS: u32 = 0o077;

/// Creates `dir` and its missing parents, each 0700. Directories that exist are left as they are.
pub fn create_missing_dirs(dir: &Path) -> anyhow::Result<()> {
    let missing: Vec<&Path> = dir
        .ancestors()
        .take_while(|dir| !dir.as_os_str().is_empty() && !dir.exists())
        .collect();
    for dir in missing.into_iter().rev() {
        match DirBuilder::new().mode(PRIVATE_DIR).create(dir) {
            // The umask may have narrowed the mode asked for: set it exactly on what we made.
            Ok(()) => set_mode(dir, PRIVATE_DIR)?,
            // Made by someone else in the meantime, so theirs.
            Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
            Err(error) => {
                return Err(error).with_context(|| format!("cannot create {}", dir.display()))
            }
        }
    }
    Ok(())
}

/// Writes a new file holding `contents`, 0600, creating missing directories on the way.
pub fn write_new(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut file =
        create_new(path)?.with_context(|| format!("{} exists already", path.display()))?;
    file.write_all(contents)?;
    file.sync_all()?;
    Ok(())
}

/// Makes sure a SQLite database file exists before SQLite opens it: SQLite would create it
/// 0644 less the umask, and gives its `-wal` and `-shm` the database file's mode. A database
/// that exists keeps its mode (it is the operator's), with a warning when others can read it.
pub fn prepare_database(path: &Path) -> anyhow::Result<()> {
    // An empty file is an empty database to SQLite.
    if create_new(path)?.is_none() {
        let mode = mode_of(path)?;
        if mode & GROUP_OR_OTHERS != 0 {
            tracing::warn!(
                path = %path.display(),
                mode = format!("{mode:03o}"),
                "the database holds password hashes and is open to group or others; \
                 run `chmod 600` on it and its -wal and -shm files"
            );
        }
    }
    Ok(())
}

/// Narrows `-wal` and `-shm` files that allow more than the database file itself. SQLite
/// creates them with the database's mode, but ones left by a crash of an older version (or by
/// another tool) may be looser, and they hold the same data.
pub fn narrow_journals(database: &Path) -> anyhow::Result<()> {
    let allowed = mode_of(database)?;
    for suffix in ["-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        let journal = PathBuf::from(name);
        let mode = match std::fs::metadata(&journal) {
            Ok(metadata) => metadata.permissions().mode() & 0o777,
            Err(error) if error.kind() == ErrorKind::NotFound => continue,
            Err(error) => {
                return Err(error).with_context(|| format!("cannot inspect {}", journal.display()))
            }
        };
        if mode & !allowed != 0 {
            set_mode(&journal, mode & allowed)?;
        }
    }
    Ok(())
}

/// Refuses a key file that anyone but its owner may read or write: the key decrypts the signing
/// keys and derives refresh tokens. Like ssh with private keys, no start with a loose one.
pub fn check_key_file(path: &Path) -> anyhow::Result<()> {
    let mode = mode_of(path)?;
    if mode & GROUP_OR_OTHERS != 0 {
        bail!(
            "the key-encryption key file {path} is open to group or others (mode {mode:03o}): \
             run `chmod 600 {path}` (or pass the key in PORTCULLIS_KEY_ENCRYPTION_KEY)",
            path = path.display()
        );
    }
    Ok(())
}

/// Creates `path` 0600 (and its missing directories 0700); `None` when it exists already.
fn create_new(path: &Path) -> anyhow::Result<Option<File>> {
    if let Some(parent) = path.parent() {
        create_missing_dirs(parent)?;
    }
    let created = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(PRIVATE_FILE)
        .open(path);
    match created {
        Ok(file) => {
            file.set_permissions(Permissions::from_mode(PRIVATE_FILE))
                .with_context(|| format!("cannot restrict {}", path.display()))?;
            Ok(Some(file))
        }
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(None),
        Err(error) => Err(error).with_context(|| format!("cannot create {}", path.display())),
    }
}

/// The permission bits of `path`, following symbolic links (a mounted secret is often one).
fn mode_of(path: &Path) -> anyhow::Result<u32> {
    let metadata =
        std::fs::metadata(path).with_context(|| format!("cannot inspect {}", path.display()))?;
    Ok(metadata.permissions().mode() & 0o777)
}

fn set_mode(path: &Path, mode: u32) -> anyhow::Result<()> {
    std::fs::set_permissions(path, Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_missing_directories_are_created_and_made_private() {
        let root = tempfile::TempDir::new().expect("temporary directory");
        set_mode(root.path(), 0o755).expect("chmod");
        let leaf = root.path().join("a/b");
        create_missing_dirs(&leaf).expect("created");
        assert_eq!(mode_of(root.path()).expect("mode"), 0o755);
        assert_eq!(mode_of(&root.path().join("a")).expect("mode"), 0o700);
        assert_eq!(mode_of(&leaf).expect("mode"), 0o700);
        create_missing_dirs(&leaf).expect("nothing to do");
    }

    #[test]
    fn journals_looser_than_their_database_are_narrowed_to_its_mode() {
        let root = tempfile::TempDir::new().expect("temporary directory");
        let database = root.path().join("x.db");
        prepare_database(&database).expect("created");
        assert_eq!(mode_of(&database).expect("mode"), 0o600);
        let (wal, shm) = (root.path().join("x.db-wal"), root.path().join("x.db-shm"));
        std::fs::write(&wal, b"").expect("wal");
        set_mode(&wal, 0o644).expect("chmod");
        std::fs::write(&shm, b"").expect("shm");
        set_mode(&shm, 0o400).expect("chmod");
        narrow_journals(&database).expect("narrowed");
        assert_eq!(mode_of(&wal).expect("mode"), 0o600);
        assert_eq!(mode_of(&shm).expect("mode"), 0o400, "never widened");
    }

    #[test]
    fn a_key_file_is_refused_when_anyone_but_the_owner_may_open_it() {
        let root = tempfile::TempDir::new().expect("temporary directory");
        let key = root.path().join("kek");
        write_new(&key, b"key").expect("written");
        assert_eq!(mode_of(&key).expect("mode"), 0o600);
        check_key_file(&key).expect("0600 is accepted");
        set_mode(&key, 0o400).expect("chmod");
        check_key_file(&key).expect("0400 is accepted");
        for loose in [0o640, 0o604, 0o620, 0o602] {
            set_mode(&key, loose).expect("chmod");
            let error = check_key_file(&key).expect_err("refused").to_string();
            assert!(
                error.contains(&format!("chmod 600 {}", key.display())),
                "{error}"
            );
        }
    }
}
