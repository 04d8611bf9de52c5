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

/// Chooses the spool directory: `explicit`, else `$SPOOLSCAN_DIR`, else
/// [`std::env::temp_dir`]. Returns the directory and warnings.
///
/// See [`resolve_spool_dir_from`] for the rules; this reads the environment.
/// The warnings are not logged here ([`Runner::run`](crate::Runner::run) logs them).
pub(crate) fn resolve_spool_dir(explicit: Option<&Path>) -> (PathBuf, Vec<String>) {
    let env = std::env::var_os(SPOOL_DIR_ENV);
    resolve_spool_dir_from(explicit, env.as_deref())
}

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
pub(crate) fn resolve_spool_dir_from(
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

/// Whether `dir` is on a RAM-backed file system: `Some("tmpfs")` or
/// `Some("ramfs")`, else `None`.
pub(crate) fn ram_backed(dir: &Path) -> io::Result<Option<&'static str>> {
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

#[cfg(test)]
mod tests {
    //! The rules of the choice (the warnings of a whole run are tested in tests/spool.rs).

    use std::process::Command;

    use super::*;

    fn env_warnings(warnings: &[String]) -> Vec<&String> {
        warnings
            .iter()
            .filter(|w| w.contains(SPOOL_DIR_ENV))
            .collect()
    }

    #[test]
    fn env_var_valid_dir_is_used() {
        let dir = tempfile::tempdir().unwrap();
        let (chosen, warnings) = resolve_spool_dir_from(None, Some(dir.path().as_os_str()));
        assert_eq!(chosen, dir.path());
        if ram_backed(dir.path()).unwrap().is_none() {
            assert!(warnings.is_empty(), "{warnings:?}");
        }
        assert!(env_warnings(&warnings).is_empty(), "{warnings:?}");
        // The probe file left no trace.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn explicit_dir_beats_env_var() {
        let a = tempfile::tempdir().unwrap();
        let (chosen, warnings) =
            resolve_spool_dir_from(Some(a.path()), Some(OsStr::new("/nonexistent/spool")));
        assert_eq!(chosen, a.path());
        assert!(env_warnings(&warnings).is_empty(), "{warnings:?}");
    }

    #[test]
    fn no_env_var_uses_temp_dir() {
        let (chosen, warnings) = resolve_spool_dir_from(None, None);
        assert_eq!(chosen, std::env::temp_dir());
        assert!(env_warnings(&warnings).is_empty(), "{warnings:?}");
    }

    #[test]
    fn env_var_invalid_warns_once_and_falls_back() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a-file");
        std::fs::write(&file, b"x").unwrap();
        let missing = dir.path().join("missing");
        let ro = dir.path().join("read-only-mount");
        for (value, why) in [
            (missing.as_os_str(), "No such file"),
            (file.as_os_str(), "not a directory"),
            (OsStr::new(""), "empty"),
            (ro.as_os_str(), "Read-only"),
        ] {
            if value == ro.as_os_str() {
                // Unwritable: a read-only bind mount (root ignores permission bits, so a mode
                // of 0o555 would not do).
                std::fs::create_dir(&ro).unwrap();
                let bind = Command::new("mount")
                    .args([OsStr::new("--bind"), value, value])
                    .status();
                let remount = || {
                    Command::new("mount")
                        .args([OsStr::new("-o"), OsStr::new("remount,bind,ro"), value])
                        .status()
                };
                if !bind.is_ok_and(|s| s.success()) || !remount().is_ok_and(|s| s.success()) {
                    let _ = Command::new("umount").arg(value).status();
                    eprintln!("skipping the read-only case: cannot make a read-only bind mount");
                    continue;
                }
            }
            let (chosen, warnings) = resolve_spool_dir_from(None, Some(value));
            if value == ro.as_os_str() {
                let _ = Command::new("umount").arg(value).status();
            }
            assert_eq!(chosen, std::env::temp_dir(), "{value:?}");
            let env = env_warnings(&warnings);
            assert_eq!(env.len(), 1, "{value:?}: {warnings:?}");
            assert!(env[0].contains(&*value.to_string_lossy()), "{}", env[0]);
            assert!(env[0].contains(why), "{value:?}: {}", env[0]);
            assert!(
                env[0].contains(&*std::env::temp_dir().to_string_lossy()),
                "{}",
                env[0]
            );
        }
    }

    #[test]
    fn tmpfs_spool_dir_warns_about_ram() {
        let shm = Path::new("/dev/shm");
        match ram_backed(shm) {
            Ok(Some("tmpfs")) => {}
            other => {
                eprintln!("skipping: /dev/shm is not a tmpfs here ({other:?})");
                return;
            }
        }
        let (chosen, warnings) = resolve_spool_dir_from(Some(shm), None);
        assert_eq!(chosen, shm);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("/dev/shm") && warnings[0].contains("tmpfs"));
        assert!(warnings[0].contains("RAM"), "{}", warnings[0]);
        // SPOOLSCAN_DIR on tmpfs warns the same way.
        let (_, warnings) = resolve_spool_dir_from(None, Some(shm.as_os_str()));
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        // A disk-backed directory does not warn.
        let dir = tempfile::tempdir().unwrap();
        if ram_backed(dir.path()).unwrap().is_none() {
            let (_, warnings) = resolve_spool_dir_from(Some(dir.path()), None);
            assert!(warnings.is_empty(), "{warnings:?}");
        }
    }
}
