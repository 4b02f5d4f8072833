//! Password hashing with argon2id (the crate's default parameters: 19 MiB,
//! 2 passes, 1 lane) and a random salt, stored as a PHC string such as
//! `$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use atelier_core::UserName;

use crate::AuthError;

/// The shortest password, in characters, that [`check_strength`] accepts.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// A hash of a password nobody knows, made with the default parameters. It is
/// verified against when a user does not exist, so that an unknown user costs
/// as much time as a known one and timing does not reveal which names exist.
pub(crate) const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0c2FsdA$2JTBmWDY9Jf7iGjoPdnqVl7GNqHd/OXP5c0bHvjyFrg";

/// Hashes `password` with argon2id and a fresh random salt, returning the
/// PHC string to store.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AuthError::Hash(err.to_string()))
}

/// True when `password` matches the PHC string `phc`. A malformed or
/// non-argon2 `phc` gives `false`. The comparison is constant-time.
pub fn verify_password(password: &str, phc: &str) -> bool {
    match PasswordHash::new(phc) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checks the minimum rules for a new password of `user`: not empty and at
/// least [`MIN_PASSWORD_CHARS`] characters.
pub fn check_strength(user: &UserName, password: &str) -> Result<(), AuthError> {
    let reason = if password.is_empty() {
        "it is empty"
    } else if password.chars().count() < MIN_PASSWORD_CHARS {
        "it is shorter than 8 characters"
    } else {
        return Ok(());
    };
    Err(AuthError::WeakPassword {
        user: user.clone(),
        reason,
    })
}

/// True when `phc` parses as an argon2 PHC string (any argon2 variant).
pub(crate) fn is_argon2_phc(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| parsed.algorithm.as_str().starts_with("argon2"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let phc = hash_password("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(verify_password("correct horse", &phc));
        assert!(!verify_password("correct horsE", &phc));
        assert!(!verify_password("", &phc));
    }

    #[test]
    fn same_password_gets_a_different_salt() {
        assert_ne!(
            hash_password("same-password").unwrap(),
            hash_password("same-password").unwrap()
        );
    }

    #[test]
    fn malformed_hashes_never_verify() {
        for bad in [
            "",
            "plain",
            "$argon2id$",
            "$argon2id$v=19$m=19456,t=2,p=1$bad",
            "$1$abc$def",
        ] {
            assert!(!verify_password("anything", bad), "{bad:?} verified");
        }
    }

    #[test]
    fn dummy_hash_costs_what_a_real_hash_costs() {
        let real = hash_password("any password").unwrap();
        let real = PasswordHash::new(&real).unwrap();
        let dummy = PasswordHash::new(DUMMY_HASH).unwrap();
        assert_eq!(
            argon2::Params::try_from(&dummy).unwrap(),
            argon2::Params::try_from(&real).unwrap()
        );
        assert_eq!(
            (dummy.algorithm, dummy.version),
            (real.algorithm, real.version)
        );
        assert!(!verify_password("", DUMMY_HASH));
    }

    #[test]
    fn strength_rules() {
        let alice = UserName::parse("alice").unwrap();
        let empty = check_strength(&alice, "").unwrap_err().to_string();
        assert!(
            empty.contains("empty") && empty.contains("alice"),
            "{empty}"
        );
        let short = check_strength(&alice, "seven77").unwrap_err().to_string();
        assert!(short.contains("shorter than 8"), "{short}");
        assert!(check_strength(&alice, "eight888").is_ok());
        // Characters, not bytes: eight accented letters are enough.
        assert!(check_strength(&alice, "éééééééé").is_ok());
    }
}
