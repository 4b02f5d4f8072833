//! Where passwords are checked: the built-in users file or the system's PAM
//! stack. The web layer holds one [`Provider`] from the configuration and
//! asks it on every login.

use std::path::PathBuf;

use atelier_core::{Role, UserName};

use crate::{pam, AuthError, UsersFile};

/// A source of truth for user names, passwords and roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provider {
    /// The built-in users file (see [`UsersFile`]). It is read again on each
    /// login, so `atelier user add` takes effect without a restart.
    UsersFile {
        /// Path of the users file.
        path: PathBuf,
    },
    /// Local or directory accounts through PAM (see [`crate::pam`]).
    Pam {
        /// The PAM service name, normally `atelier`.
        service: String,
        /// Accounts that get the admin role; everyone else is a user.
        admins: Vec<UserName>,
    },
}

impl Provider {
    /// The role of `name` when `password` is theirs, `None` when the
    /// credentials are wrong, an error when the provider is broken (an
    /// unreadable or insecure users file, a PAM failure). The check runs on
    /// tokio's blocking pool: argon2 and PAM both take tens of milliseconds.
    pub async fn authenticate(
        &self,
        name: &UserName,
        password: &str,
    ) -> Result<Option<Role>, AuthError> {
        let user = name.clone();
        let password = password.to_owned();
        let task = match self {
            Provider::UsersFile { path } => {
                let path = path.clone();
                tokio::task::spawn_blocking(move || {
                    Ok(UsersFile::load(&path)?.verify(&user, &password))
                })
            }
            Provider::Pam { service, admins } => {
                let service = service.clone();
                let role = if admins.contains(name) {
                    Role::Admin
                } else {
                    Role::User
                };
                tokio::task::spawn_blocking(move || {
                    Ok(pam::authenticate(&service, user.as_str(), &password)?.then_some(role))
                })
            }
        };
        task.await.map_err(|source| AuthError::Task {
            user: name.clone(),
            source,
        })?
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn name(text: &str) -> UserName {
        UserName::parse(text).unwrap()
    }

    #[tokio::test]
    async fn users_file_is_read_again_on_each_login() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        let provider = Provider::UsersFile { path: path.clone() };
        assert_eq!(
            provider
                .authenticate(&name("alice"), "password-1")
                .await
                .unwrap(),
            None
        );

        let mut file = UsersFile::load(&path).unwrap();
        file.set(&name("alice"), Role::Admin, "password-1").unwrap();
        file.save().unwrap();
        let ok = provider
            .authenticate(&name("alice"), "password-1")
            .await
            .unwrap();
        assert_eq!(ok, Some(Role::Admin));
        assert_eq!(
            provider
                .authenticate(&name("alice"), "password-2")
                .await
                .unwrap(),
            None
        );
        assert_eq!(
            provider
                .authenticate(&name("bob"), "password-1")
                .await
                .unwrap(),
            None
        );
    }

    #[tokio::test]
    async fn insecure_users_file_is_an_error_not_a_refusal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("users");
        std::fs::write(&path, "# nobody yet\n").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let provider = Provider::UsersFile { path };
        let err = provider
            .authenticate(&name("alice"), "password-1")
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthError::InsecureMode { mode: 0o644, .. }),
            "{err}"
        );
    }
}
