//! Secrets, API tokens, signed cookies and CSRF tokens.
//!
//! * [`random_secret`]: 32 bytes from the operating system, base64url.
//! * [`new_api_token`]: `atl_` + a random secret; only its [`hash_token`]
//!   (SHA-256, hex) is stored, so a leaked database yields no usable token.
//! * [`CookieSigner`]: `value.mac` cookies with HMAC-SHA256, and CSRF tokens
//!   bound to the login token. Cookie MACs and CSRF MACs are computed under
//!   distinct labels, so one can never be passed off as the other.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The prefix of every API token, so that a token is recognisable in a
/// secret scanner or a support ticket.
pub const API_TOKEN_PREFIX: &str = "atl_";

const COOKIE_LABEL: &[u8] = b"atelier cookie v1\0";
const CSRF_LABEL: &[u8] = b"atelier csrf v1\0";

/// 32 random bytes from the operating system, base64url without padding
/// (43 characters).
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A new API token: `atl_` followed by a [`random_secret`].
pub fn new_api_token() -> String {
    format!("{API_TOKEN_PREFIX}{}", random_secret())
}

/// The SHA-256 of `token` as 64 lowercase hex digits: what is stored and
/// looked up instead of the token itself. A fast hash is right here because
/// tokens carry 256 random bits; there is nothing to brute-force.
pub fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// `bytes` random bytes from the operating system as lowercase hex.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// Signs and checks cookie values and CSRF tokens with one server key.
///
/// The key should be at least 32 random bytes (e.g. from [`random_secret`])
/// kept across restarts, or every signed cookie becomes invalid.
#[derive(Clone)]
pub struct CookieSigner {
    /// HMAC-SHA256 keyed with the server key, cloned for every MAC.
    keyed: Hmac<Sha256>,
}

impl CookieSigner {
    /// A signer using `key`.
    pub fn new(key: &[u8]) -> Self {
        // HMAC takes keys of any length (long ones are hashed, short ones
        // padded), so `new_from_slice` never returns its error.
        let keyed = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
        Self { keyed }
    }

    /// `value` followed by `.` and its MAC in base64url. `value` may itself
    /// contain dots: the MAC is everything after the last one.
    pub fn sign(&self, value: &str) -> String {
        format!(
            "{value}.{}",
            URL_SAFE_NO_PAD.encode(self.mac(COOKIE_LABEL, value))
        )
    }

    /// The value of a cookie made by [`CookieSigner::sign`], or `None` when
    /// the cookie is malformed or its MAC does not match (constant time).
    pub fn verify(&self, cookie: &str) -> Option<String> {
        let (value, mac) = cookie.rsplit_once('.')?;
        let presented = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let expected = self.mac(COOKIE_LABEL, value);
        bool::from(expected.ct_eq(&presented)).then(|| value.to_owned())
    }

    /// The CSRF token for the session whose login token is `login_token`:
    /// a MAC of it under a label distinct from cookies, in base64url.
    pub fn csrf_token(&self, login_token: &str) -> String {
        URL_SAFE_NO_PAD.encode(self.mac(CSRF_LABEL, login_token))
    }

    /// True when `presented` is the CSRF token of `login_token`, compared in
    /// constant time.
    pub fn check_csrf(&self, login_token: &str, presented: &str) -> bool {
        let expected = self.csrf_token(login_token);
        bool::from(expected.as_bytes().ct_eq(presented.as_bytes()))
    }

    fn mac(&self, label: &[u8], value: &str) -> Vec<u8> {
        let mut mac = self.keyed.clone();
        mac.update(label);
        mac.update(value.as_bytes());
        mac.finalize().into_bytes().to_vec()
    }
}

impl fmt::Debug for CookieSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CookieSigner")
            .field("key", &"<redacted>")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_43_base64url_chars_and_differ() {
        let (a, b) = (random_secret(), random_secret());
        assert_eq!(a.len(), 43);
        assert!(
            a.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'),
            "{a}"
        );
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    }

    #[test]
    fn api_tokens_have_the_prefix_and_hash_to_sha256_hex() {
        let token = new_api_token();
        assert!(token.starts_with("atl_") && token.len() == 47, "{token}");
        let hash = hash_token(&token);
        assert_eq!(hash.len(), 64);
        assert_eq!(hash, hash_token(&token));
        assert_ne!(hash, hash_token(&new_api_token()));
        // Known answer: SHA-256("abc").
        assert_eq!(
            hash_token("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn signed_cookie_round_trips_even_with_dots() {
        let signer = CookieSigner::new(b"0123456789abcdef0123456789abcdef");
        for value in ["alice", "", "a.b.c", "tok_123.456"] {
            let cookie = signer.sign(value);
            assert_eq!(signer.verify(&cookie).as_deref(), Some(value));
        }
    }

    #[test]
    fn tampered_or_foreign_cookies_are_rejected() {
        let signer = CookieSigner::new(b"0123456789abcdef0123456789abcdef");
        let cookie = signer.sign("alice");
        let (value, mac) = cookie.rsplit_once('.').unwrap();
        assert_eq!(signer.verify(&format!("mallory.{mac}")), None);
        assert_eq!(signer.verify(&format!("{value}.{}", &mac[1..])), None);
        assert_eq!(signer.verify(&format!("{value}.{mac}A")), None);
        assert_eq!(signer.verify(value), None);
        assert_eq!(signer.verify(&format!("{value}.!!!")), None);
        assert_eq!(signer.verify(""), None);
        let other = CookieSigner::new(b"another key, another key, anothe");
        assert_eq!(other.verify(&cookie), None);
    }

    #[test]
    fn csrf_tokens_are_bound_to_the_login_token() {
        let signer = CookieSigner::new(b"0123456789abcdef0123456789abcdef");
        let login = random_secret();
        let csrf = signer.csrf_token(&login);
        assert!(signer.check_csrf(&login, &csrf));
        assert!(!signer.check_csrf(&login, ""));
        assert!(!signer.check_csrf(&login, &csrf[1..]));
        assert!(!signer.check_csrf(&random_secret(), &csrf));
        assert!(!CookieSigner::new(b"other").check_csrf(&login, &csrf));
    }

    #[test]
    fn csrf_token_is_not_the_cookie_mac() {
        let signer = CookieSigner::new(b"0123456789abcdef0123456789abcdef");
        let login = "login-token";
        let forged = format!("{login}.{}", signer.csrf_token(login));
        assert_eq!(signer.verify(&forged), None);
        assert_ne!(signer.sign(login), forged);
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let shown = format!("{:?}", CookieSigner::new(b"super-secret-key"));
        assert!(!shown.contains("super-secret"), "{shown}");
    }
}
