//! The built-in users file: one user per line, `name:role:$argon2id$...`,
//! with `#` comments and blank lines allowed (and kept when the file is
//! saved). The file holds password hashes, so it must be mode 0600: a file
//! that group or others can access is refused rather than used.
//!
//! Saving writes a temporary file with mode 0600 in the same directory and
//! renames it over the old one, so the file is never readable by others and
//! never half-written.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use atelier_core::{Role, UserName};

use crate::password::{self, DUMMY_HASH};
use crate::AuthError;

/// One line of the file, kept in order so that comments survive a save.
#[derive(Clone, Debug)]
enum Line {
    /// A comment or blank line, as written.
    Other(String),
    /// A user entry.
    User(Entry),
}

#[derive(Clone, Debug)]
struct Entry {
    name: UserName,
    role: Role,
    phc: String,
}

/// The users file in memory, tied to the path it was loaded from.
#[derive(Clone, Debug)]
pub struct UsersFile {
    path: PathBuf,
    lines: Vec<Line>,
}

impl UsersFile {
    /// Loads the file at `path`. A missing file is an empty list. Fails when
    /// group or others may access the file, and on the first malformed line.
    pub fn load(path: impl AsRef<Path>) -> Result<UsersFile, AuthError> {
        let path = path.as_ref().to_path_buf();
        let text = match read_private(&path) {
            Ok(text) => text,
            Err(AuthError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                return Ok(UsersFile {
                    path,
                    lines: Vec::new(),
                });
            }
            Err(err) => return Err(err),
        };
        let lines = text
            .lines()
            .enumerate()
            .map(|(index, line)| parse_line(line).map_err(|reason| malformed(&path, index, reason)))
            .collect::<Result<Vec<_>, _>>()?;
        let file = UsersFile { path, lines };
        file.check_unique()?;
        Ok(file)
    }

    /// The path the file is loaded from and saved to.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The role of `name`, if the user exists.
    pub fn get(&self, name: &UserName) -> Option<Role> {
        self.entry(name).map(|entry| entry.role)
    }

    /// Every user and their role, in file order.
    pub fn users(&self) -> impl Iterator<Item = (&UserName, Role)> {
        self.entries().map(|entry| (&entry.name, entry.role))
    }

    /// The role of `name` when `password` is theirs. For an unknown user the
    /// password is still checked against a dummy hash, so that the answer
    /// takes as long whether the user exists or not.
    pub fn verify(&self, name: &UserName, password: &str) -> Option<Role> {
        match self.entry(name) {
            Some(entry) => password::verify_password(password, &entry.phc).then_some(entry.role),
            None => {
                password::verify_password(password, DUMMY_HASH);
                None
            }
        }
    }

    /// Adds `name` with `role` and `password`, or replaces the role and
    /// password of an existing user. Returns true when a user was replaced.
    /// Only changes memory: call [`UsersFile::save`] to write the file.
    pub fn set(&mut self, name: &UserName, role: Role, password: &str) -> Result<bool, AuthError> {
        password::check_strength(name, password)?;
        let entry = Entry {
            name: name.clone(),
            role,
            phc: password::hash_password(password)?,
        };
        match self.entry_mut(name) {
            Some(existing) => {
                *existing = entry;
                Ok(true)
            }
            None => {
                self.lines.push(Line::User(entry));
                Ok(false)
            }
        }
    }

    /// Removes `name`. Returns true when the user existed.
    pub fn remove(&mut self, name: &UserName) -> bool {
        let before = self.lines.len();
        self.lines
            .retain(|line| !matches!(line, Line::User(entry) if &entry.name == name));
        self.lines.len() != before
    }

    /// Writes the file atomically with mode 0600: a temporary file in the
    /// same directory, flushed to disk, then renamed over the old file.
    pub fn save(&self) -> Result<(), AuthError> {
        let mut text = String::new();
        for line in &self.lines {
            match line {
                Line::Other(raw) => text.push_str(raw),
                Line::User(e) => {
                    text.push_str(&format!("{}:{}:{}", e.name, e.role.as_str(), e.phc))
                }
            }
            text.push('\n');
        }
        write_atomically(&self.path, text.as_bytes())
    }

    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.lines.iter().filter_map(|line| match line {
            Line::User(entry) => Some(entry),
            Line::Other(_) => None,
        })
    }

    fn entry(&self, name: &UserName) -> Option<&Entry> {
        self.entries().find(|entry| &entry.name == name)
    }

    fn entry_mut(&mut self, name: &UserName) -> Option<&mut Entry> {
        self.lines.iter_mut().find_map(|line| match line {
            Line::User(entry) if &entry.name == name => Some(entry),
            _ => None,
        })
    }

    /// A user listed twice would make the file mean two things.
    fn check_unique(&self) -> Result<(), AuthError> {
        let mut seen = std::collections::HashSet::new();
        for (index, line) in self.lines.iter().enumerate() {
            if let Line::User(entry) = line {
                if !seen.insert(&entry.name) {
                    let reason = format!("user {} is listed more than once", entry.name);
                    return Err(malformed(&self.path, index, reason));
                }
            }
        }
        Ok(())
    }
}

/// Reads the file after checking, on the open handle, that only its owner
/// may access it.
fn read_private(path: &Path) -> Result<String, AuthError> {
    let io_err = |source| AuthError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let mode = file.metadata().map_err(io_err)?.permissions().mode() & 0o7777;
    if mode & 0o077 != 0 {
        return Err(AuthError::InsecureMode {
            path: path.to_path_buf(),
            mode,
        });
    }
    std::io::read_to_string(file).map_err(io_err)
}

fn parse_line(line: &str) -> Result<Line, String> {
    let trimmed = line.trim();
    if trimmed.is_empty() || trimmed.starts_with('#') {
        return Ok(Line::Other(line.to_owned()));
    }
    let mut fields = trimmed.splitn(3, ':');
    let (Some(name), Some(role), Some(phc)) = (fields.next(), fields.next(), fields.next()) else {
        return Err("expected name:role:$argon2id$... (three fields separated by ':')".to_owned());
    };
    let name = UserName::parse(name).map_err(|err| err.to_string())?;
    let role = Role::parse(role).map_err(|err| err.to_string())?;
    if !password::is_argon2_phc(phc) {
        return Err(format!(
            "the password of {name} is not an argon2 PHC hash ($argon2id$...)"
        ));
    }
    Ok(Line::User(Entry {
        name,
        role,
        phc: phc.to_owned(),
    }))
}

fn malformed(path: &Path, index: usize, reason: String) -> AuthError {
    AuthError::Malformed {
        path: path.to_path_buf(),
        line: index + 1,
        reason,
    }
}

/// Writes `bytes` to a fresh 0600 temporary file next to `path`, syncs it,
/// renames it over `path` and syncs the directory. The temporary file is
/// removed if any step fails.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), AuthError> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let file_name = path
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or("users");
    let temp = dir.join(format!(".{file_name}.{}.tmp", crate::tokens::random_hex(8)));
    let result = write_new_private(&temp, bytes)
        .and_then(|()| fs::rename(&temp, path))
        .and_then(|()| File::open(dir)?.sync_all());
    result.map_err(|source| {
        // Best effort: after a successful rename the temporary name is gone.
        let _ = fs::remove_file(&temp);
        AuthError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

fn write_new_private(temp: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(temp)?;
    // The mode above is filtered by the umask; set it exactly.
    file.set_permissions(fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
#[path = "users_file_tests.rs"]
mod tests;
