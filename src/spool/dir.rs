//! Choosing the spool directory: the explicit option, else `SPOOLSCAN_DIR`, else the system
//! temporary directory, with a warning for an unusable variable and for RAM-backed file systems.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};

/// The environment variable naming the default spool directory.
pub const SPOOL_DIR_ENV: &str = "SPOOLSCAN_DIR";

/// `f_type` of a tmpfs file system (`statfs(2)`).
const TMPFS_MAGIC: u32 = 0x0102_1994;
/// `f_type` of a ramfs file system (`statfs(2)`).
const RAMFS_MAGIC: u32 = 0x8584_58f6;

#[doc(hidden)] // Not part of the API: public for tests/spool.rs only.
/// Chooses the spool directory: `explicit`, else `$SPOOLSCAN_DIR`, else
/// [`std::env::temp_dir`]. Returns the directory and warnings.
///
/// See [`resolve_spool_dir_from`] for the rules; this reads the environment.
/// The warnings are not logged here ([`Runner::run`](crate::Runner::run) logs them).
pub fn resolve_spool_dir(explicit: Option<&Path>) -> (PathBuf, Vec<String>) {
    let env = std::env::var_os(SPOOL_DIR_ENV);
    resolve_spool_dir_from(explicit, env.as_deref())
}

#[doc(hidden)] // Not part of the API: public for tests/spool.rs only.
/// Chooses the spool directory from an explicit choice and the value of
/// `SPOOLSCAN_DIR` (passed in, so that callers and tests need not touch the
/// process environment). Returns the directory and warnings.
///
/// * `explicit` wins and is not checked here (creating a spool in it fails
///   with [`SpoolError::SpoolDir`](crate::SpoolError::SpoolDir) if it is unusable: the user asked for it).
/// * Else `env`, when set: a value that is not a writable directory (missing,
///   not a directory, empty, or a probe file cannot be created in it) gives
///   exactly one warning and falls back to [`std::env::temp_dir`].
/// * Else [`std::env::temp_dir`].
///
/// A chosen directory on tmpfs or ramfs adds a warning that the spool will be
/// held in RAM.
pub fn resolve_spool_dir_from(
    explicit: Option<&Path>,
    env: Option<&OsStr>,
) -> (PathBuf, Vec<String>) {
    let mut warnings = Vec::new();
    let dir = if let Some(dir) = explicit {
        dir.to_path_buf()
    } else if let Some(value) = env {
        match check_writable_dir(Path::new(value)) {
            Ok(()) => PathBuf::from(value),
            Err(why) => {
                let fallback = std::env::temp_dir();
                warnings.push(format!(
                    "{SPOOL_DIR_ENV}={} is not a writable directory ({why}); spooling in {} instead",
                    Path::new(value).display(),
                    fallback.display()
                ));
                fallback
            }
        }
    } else {
        std::env::temp_dir()
    };
    if let Ok(Some(fs)) = ram_backed(&dir) {
        warnings.push(format!(
            "spool directory {} is on {fs}: spooled output will be held in RAM \
             (set {SPOOL_DIR_ENV} or the spool directory to a disk-backed one)",
            dir.display()
        ));
    }
    (dir, warnings)
}

#[doc(hidden)] // Not part of the API: public for tests/spool.rs only.
/// Whether `dir` is on a RAM-backed file system: `Some("tmpfs")` or
/// `Some("ramfs")`, else `None`.
pub fn ram_backed(dir: &Path) -> io::Result<Option<&'static str>> {
    let st = rustix::fs::statfs(dir)?;
    // f_type is a 32-bit magic number stored in a word of varying type.
    #[allow(clippy::unnecessary_cast)]
    let magic = st.f_type as u64 as u32;
    Ok(match magic {
        TMPFS_MAGIC => Some("tmpfs"),
        RAMFS_MAGIC => Some("ramfs"),
        _ => None,
    })
}

fn check_writable_dir(dir: &Path) -> Result<(), String> {
    if dir.as_os_str().is_empty() {
        return Err("empty path".into());
    }
    let meta = std::fs::metadata(dir).map_err(|e| e.to_string())?;
    if !meta.is_dir() {
        return Err("not a directory".into());
    }
    // The only reliable writability test (root ignores modes, read-only
    // mounts, ACLs, quotas): create an unnamed file and drop it.
    tempfile::tempfile_in(dir).map_err(|e| e.to_string())?;
    Ok(())
}
