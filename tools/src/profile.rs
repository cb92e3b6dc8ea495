//! Profiles: one JSON file per profile holding the device token, the per-chat cursors of
//! `tail`, and the usernames this profile has learnt.
//!
//! The token is a bearer secret, so the file is created with mode 0600 (its folder 0700) and
//! replaced atomically (write a temporary file, rename), so a crash never leaves half a file.
//! Two magpiectl processes may share a profile (a `tail` running while `send` is used), so
//! changes are read-modify-write of the file as it is now, not of a copy read at start.

use crate::error::{CliError, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The signed-in device of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub user_id: u64,
    pub device_id: u64,
    pub username: String,
    pub token: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<Login>,
    /// Per chat, the last sequence number `tail` has printed.
    #[serde(default)]
    pub cursors: BTreeMap<u64, u64>,
    /// Usernames by user id, learnt from lookups (there is no lookup by id in the protocol).
    #[serde(default)]
    pub names: BTreeMap<u64, String>,
}

/// Where one profile is kept.
#[derive(Debug, Clone)]
pub struct ProfileStore {
    pub name: String,
    pub path: PathBuf,
}

impl ProfileStore {
    /// The profile `name` in `$MAGPIE_HOME`, or in `~/.config/magpie` when that is unset.
    pub fn locate(name: &str) -> Result<ProfileStore> {
        let dir = match std::env::var_os("MAGPIE_HOME") {
            Some(dir) if !dir.is_empty() => PathBuf::from(dir),
            _ => match std::env::var_os("HOME") {
                Some(home) if !home.is_empty() => Path::new(&home).join(".config").join("magpie"),
                _ => {
                    return Err(CliError::new(
                        "no_home",
                        "neither MAGPIE_HOME nor HOME is set: nowhere to keep profiles",
                    ))
                }
            },
        };
        ProfileStore::in_dir(&dir, name)
    }

    pub fn in_dir(dir: &Path, name: &str) -> Result<ProfileStore> {
        // The name becomes a file name: keep it to a safe alphabet (no '/', no '..').
        let ok = !name.is_empty()
            && name.len() <= 64
            && !name.starts_with('.')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            return Err(CliError::invalid(format!(
                "profile name {name:?}: use 1..=64 of A-Z a-z 0-9 _ - . (not starting with .)"
            )));
        }
        Ok(ProfileStore { name: name.to_owned(), path: dir.join(format!("{name}.json")) })
    }

    /// The profile as stored now; an empty one if there is no file yet.
    pub fn load(&self) -> Result<Profile> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| CliError::new("bad_profile", format!("{}: {e}", self.path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Profile::default()),
            Err(e) => Err(CliError::from(e).context(self.path.display())),
        }
    }

    /// The profile's login, or the error telling the user how to get one.
    pub fn require_login(&self) -> Result<(Profile, Login)> {
        let profile = self.load()?;
        match profile.login.clone() {
            Some(login) => Ok((profile, login)),
            None => Err(CliError::new(
                "not_signed_in",
                format!(
                    "profile {:?} has no device token: run `magpiectl --profile {} register` or `login` first",
                    self.name, self.name
                ),
            )),
        }
    }

    pub fn save(&self, profile: &Profile) -> Result<()> {
        let dir = self.path.parent().expect("a profile path has a folder");
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| CliError::from(e).context(dir.display()))?;
        let tmp = self.path.with_extension(format!("json.tmp.{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
            let mut text = serde_json::to_vec_pretty(profile).map_err(std::io::Error::other)?;
            text.push(b'\n');
            f.write_all(&text)?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            CliError::from(e).context(self.path.display())
        })
    }

    /// Applies `change` to the profile as stored now and saves it.
    pub fn update(&self, change: impl FnOnce(&mut Profile)) -> Result<Profile> {
        let mut profile = self.load()?;
        change(&mut profile);
        self.save(&profile)?;
        Ok(profile)
    }

    /// Deletes the profile file (after logout: its token is dead and its cursors belong to
    /// the revoked device).
    pub fn remove(&self) -> Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(CliError::from(e).context(self.path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn round_trips_with_private_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let store = ProfileStore::in_dir(&dir.path().join("sub"), "alice").unwrap();
        assert_eq!(store.load().unwrap(), Profile::default());
        assert_eq!(store.require_login().unwrap_err().code, "not_signed_in");
        let login = Login { user_id: 5, device_id: 6, username: "alice".into(), token: "t0k".into() };
        store
            .update(|p| {
                p.login = Some(login.clone());
                p.cursors.insert(12, 34);
                p.names.insert(7, "bob".into());
            })
            .unwrap();
        let p = store.load().unwrap();
        assert_eq!(
            (p.login.as_ref(), p.cursors.get(&12), p.names.get(&7).map(String::as_str)),
            (Some(&login), Some(&34), Some("bob"))
        );
        let mode = std::fs::metadata(&store.path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let dir_mode = std::fs::metadata(store.path.parent().unwrap()).unwrap().permissions().mode() & 0o777;
        assert_eq!(dir_mode, 0o700);
        store.remove().unwrap();
        assert_eq!(store.load().unwrap(), Profile::default());
    }

    #[test]
    fn refuses_names_that_are_paths() {
        for bad in ["", "../x", "a/b", ".hidden", "a b"] {
            assert!(ProfileStore::in_dir(Path::new("/tmp"), bad).is_err(), "{bad:?}");
        }
        assert!(ProfileStore::in_dir(Path::new("/tmp"), "work-2.alice_x").is_ok());
    }
}
