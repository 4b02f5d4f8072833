//! Tests of the users file against real files in a temporary directory.

use std::time::Instant;

use super::*;

fn name(text: &str) -> UserName {
    UserName::parse(text).unwrap()
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn write_with_mode(path: &Path, text: &str, mode: u32) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

fn phc() -> String {
    password::hash_password("password-1").unwrap()
}

#[test]
fn missing_file_is_an_empty_list() {
    let dir = tempfile::tempdir().unwrap();
    let file = UsersFile::load(dir.path().join("users")).unwrap();
    assert_eq!(file.users().count(), 0);
    assert_eq!(file.get(&name("alice")), None);
}

#[test]
fn set_save_load_round_trip_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    let mut file = UsersFile::load(&path).unwrap();
    assert!(!file
        .set(&name("alice"), Role::Admin, "alice-password")
        .unwrap());
    assert!(!file.set(&name("bob"), Role::User, "bob-password").unwrap());
    file.save().unwrap();
    assert_eq!(mode_of(&path), 0o600);

    let text = fs::read_to_string(&path).unwrap();
    assert!(
        text.starts_with("alice:admin:$argon2id$v=19$") && text.contains("\nbob:user:$argon2id$")
    );
    assert!(!text.contains("alice-password"));
    let loaded = UsersFile::load(&path).unwrap();
    let users: Vec<_> = loaded
        .users()
        .map(|(n, r)| (n.as_str().to_owned(), r))
        .collect();
    assert_eq!(
        users,
        [
            ("alice".to_owned(), Role::Admin),
            ("bob".to_owned(), Role::User)
        ]
    );
    assert_eq!(
        loaded.verify(&name("alice"), "alice-password"),
        Some(Role::Admin)
    );
    assert_eq!(loaded.verify(&name("alice"), "bob-password"), None);
    assert_eq!(
        loaded.verify(&name("bob"), "bob-password"),
        Some(Role::User)
    );
}

#[test]
fn replacing_a_user_changes_role_and_password() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    let mut file = UsersFile::load(&path).unwrap();
    file.set(&name("alice"), Role::User, "first-password")
        .unwrap();
    assert!(file
        .set(&name("alice"), Role::Admin, "second-password")
        .unwrap());
    file.save().unwrap();
    let loaded = UsersFile::load(&path).unwrap();
    assert_eq!(loaded.users().count(), 1);
    assert_eq!(loaded.verify(&name("alice"), "first-password"), None);
    assert_eq!(
        loaded.verify(&name("alice"), "second-password"),
        Some(Role::Admin)
    );
}

#[test]
fn comments_and_blank_lines_survive_a_save() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    let hash = phc();
    let original = format!("# Atelier users\n\nalice:user:{hash}\n  # the end\n");
    write_with_mode(&path, &original, 0o600);
    let mut file = UsersFile::load(&path).unwrap();
    assert_eq!(file.verify(&name("alice"), "password-1"), Some(Role::User));
    file.save().unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), original);
    assert!(file.remove(&name("alice")));
    assert!(!file.remove(&name("alice")));
    file.save().unwrap();
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        "# Atelier users\n\n  # the end\n"
    );
}

#[test]
fn a_file_others_can_access_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    for mode in [0o644, 0o640, 0o604, 0o660, 0o602] {
        write_with_mode(&path, "", mode);
        let err = UsersFile::load(&path).unwrap_err();
        assert!(
            matches!(err, AuthError::InsecureMode { mode: m, .. } if m == mode),
            "{err}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("chmod 600 {}", path.display())),
            "{message}"
        );
    }
    for mode in [0o600, 0o400] {
        write_with_mode(&path, "", mode);
        assert!(UsersFile::load(&path).is_ok(), "mode {mode:o} refused");
    }
}

#[test]
fn malformed_lines_are_reported_with_path_and_line_number() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    let hash = phc();
    let cases = [
        ("alice", "three fields"),
        ("alice:admin", "three fields"),
        ("Alice:admin:HASH", "user name"),
        ("alice:root:HASH", "role"),
        ("alice:user:$1$salt$md5crypt", "not an argon2"),
        ("alice:user:plaintext", "not an argon2"),
        ("bob:user:HASH", "more than once"),
    ];
    for (bad, expected) in cases {
        let text = format!(
            "# header\nbob:user:{hash}\n{}\n",
            bad.replace("HASH", &hash)
        );
        write_with_mode(&path, &text, 0o600);
        let err = UsersFile::load(&path).unwrap_err();
        let AuthError::Malformed {
            path: ref at,
            line,
            ref reason,
        } = err
        else {
            panic!("{bad:?} gave {err}");
        };
        assert_eq!((at.as_path(), line), (path.as_path(), 3), "{bad:?}");
        assert!(reason.contains(expected), "{bad:?}: {reason}");
        let message = err.to_string();
        assert!(
            message.contains(&format!("{}, line 3", path.display())),
            "{message}"
        );
        assert!(!message.contains(&hash), "the hash leaked into {message}");
    }
}

#[test]
fn weak_passwords_are_refused_and_nothing_changes() {
    let dir = tempfile::tempdir().unwrap();
    let mut file = UsersFile::load(dir.path().join("users")).unwrap();
    for weak in ["", "1234567"] {
        let err = file.set(&name("alice"), Role::User, weak).unwrap_err();
        assert!(matches!(err, AuthError::WeakPassword { .. }), "{err}");
    }
    assert_eq!(file.get(&name("alice")), None);
}

#[test]
fn save_replaces_the_file_by_rename_and_leaves_no_temporary() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    let mut file = UsersFile::load(&path).unwrap();
    file.set(&name("alice"), Role::User, "alice-password")
        .unwrap();
    file.save().unwrap();
    let before = fs::read_to_string(&path).unwrap();
    // A reader that opened the old file keeps seeing it whole: the new
    // content arrives as a new inode, never written over the old one.
    let mut old_reader = File::open(&path).unwrap();
    file.set(&name("bob"), Role::User, "bob-password").unwrap();
    file.save().unwrap();
    assert_eq!(std::io::read_to_string(&mut old_reader).unwrap(), before);
    assert!(fs::read_to_string(&path).unwrap().contains("\nbob:user:"));
    assert_eq!(mode_of(&path), 0o600);
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["users"]);
}

#[test]
fn save_into_a_missing_directory_fails_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("absent").join("users");
    let mut file = UsersFile::load(&path).unwrap();
    file.set(&name("alice"), Role::User, "alice-password")
        .unwrap();
    let err = file.save().unwrap_err();
    assert!(
        matches!(err, AuthError::Io { path: ref p, .. } if p == &path),
        "{err}"
    );
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn unknown_users_cost_a_hash_too() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users");
    write_with_mode(&path, &format!("alice:user:{}\n", phc()), 0o600);
    let file = UsersFile::load(&path).unwrap();
    let time = |user: &str| {
        let start = Instant::now();
        assert_eq!(file.verify(&name(user), "wrong-password"), None);
        start.elapsed()
    };
    let known = (0..3).map(|_| time("alice")).min().unwrap();
    let unknown = (0..3).map(|_| time("nobody")).min().unwrap();
    assert!(
        unknown * 3 > known,
        "unknown {unknown:?} vs known {known:?}"
    );
}
