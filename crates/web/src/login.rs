//! Logging in and recognising callers: password check through the
//! configured provider, rate limits, browser logins as signed cookies backed
//! by a store record (so logout revokes everywhere), bearer API tokens, and
//! the CSRF check for cookie-authenticated changes.

use std::future::Future;
use std::net::IpAddr;
use std::time::Duration;

use atelier_auth::{hash_token, random_secret, CookieSigner, LoginLimiter, Provider};
use atelier_core::{Role, Timestamp, User, UserName};
use atelier_os::Account;
use atelier_store::{Login, Store};
use axum::http::{header, HeaderMap, Method, StatusCode};
use std::sync::Arc;
use tracing::{info, warn};

use crate::caller_cache::{CallerCache, Kind};
use crate::error::ApiError;

/// Name of the browser login cookie.
pub const COOKIE_NAME: &str = "atelier_session";
/// Header that carries the CSRF token on cookie-authenticated changes.
pub const CSRF_HEADER: &str = "x-atelier-csrf";

/// Who may log in besides passing the password check.
#[derive(Debug, Clone)]
pub enum Access {
    /// Root server: the user must have a Linux account with at least this uid.
    Accounts {
        /// Lowest uid allowed.
        min_uid: u32,
    },
    /// Non-root server: only these users (sessions run as the server's account).
    Only(Vec<UserName>),
}

/// How a caller proved who they are.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A browser login; the raw login token, for the CSRF check and logout.
    Cookie(String),
    /// A bearer API token.
    Bearer,
}

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The user.
    pub user: User,
    /// How they authenticated.
    pub credential: Credential,
}

impl Caller {
    /// Whether the caller is an administrator.
    pub fn is_admin(&self) -> bool {
        self.user.role == Role::Admin
    }
}

/// The login service of one node.
pub struct LoginService {
    /// Password checker.
    pub provider: Provider,
    /// Who may log in.
    pub access: Access,
    /// Failed-login limits per user and per address.
    pub limiter: LoginLimiter,
    /// Signs cookies and derives CSRF tokens; the key is shared by all nodes through the store.
    pub signer: CookieSigner,
    /// Where logins and tokens are recorded.
    pub store: Arc<dyn Store>,
    /// How long a browser login lasts.
    pub login_hours: u32,
    /// Whether cookies get the `Secure` attribute (HTTPS).
    pub secure_cookies: bool,
    /// Credentials recognised in the last few seconds (see [`CallerCache`]).
    pub recent: CallerCache,
}

/// A successful login: the cookie to set and the CSRF token for the page.
pub struct NewLogin {
    /// The user.
    pub user: User,
    /// `Set-Cookie` header value.
    pub set_cookie: String,
    /// CSRF token to send back in [`CSRF_HEADER`].
    pub csrf_token: String,
}

impl LoginService {
    /// Checks a password and opens a browser login.
    pub async fn login(
        &self,
        name: &str,
        password: &str,
        addr: IpAddr,
    ) -> Result<NewLogin, ApiError> {
        if let Err(wait) = self.limiter.check(name, addr) {
            let mut error = ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                "too many failed logins; wait and try again",
            );
            error.retry_after = Some(wait.as_secs().max(1));
            return Err(error);
        }
        let Some(user) = self.verify(name, password).await? else {
            self.limiter.record_failure(name, addr);
            // Only a well-formed name is logged: a password typed into the
            // name field must not reach the log.
            let shown = UserName::parse(name).map_or("<malformed>".to_owned(), |n| n.to_string());
            info!(user = %shown, %addr, "login refused");
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "wrong user name or password",
            ));
        };
        self.limiter.record_success(name, addr);
        self.check_access(&user.name)?;
        self.store.upsert_user(&user).await?;
        let token = random_secret();
        let now = Timestamp::now();
        let login = Login {
            hash: hash_token(&token),
            user: user.name.clone(),
            created_at: now,
            expires_at: now.plus_seconds(i64::from(self.login_hours) * 3600),
        };
        self.store.insert_login(&login).await?;
        info!(user = %user.name, %addr, "login");
        Ok(NewLogin {
            set_cookie: self.cookie(
                &self.signer.sign(&token),
                i64::from(self.login_hours) * 3600,
            ),
            csrf_token: self.signer.csrf_token(&token),
            user,
        })
    }

    async fn verify(&self, name: &str, password: &str) -> Result<Option<User>, ApiError> {
        let Ok(name) = UserName::parse(name) else {
            return Ok(None);
        };
        match self.provider.authenticate(&name, password).await {
            Ok(Some(role)) => Ok(Some(User { name, role })),
            Ok(None) => Ok(None),
            Err(error) => Err(ApiError::internal(format!(
                "authentication provider: {error}"
            ))),
        }
    }

    fn check_access(&self, name: &UserName) -> Result<(), ApiError> {
        let allowed = match &self.access {
            Access::Only(users) => users.contains(name),
            Access::Accounts { min_uid } => match Account::lookup(name.as_str()) {
                Ok(Some(account)) => account.uid >= *min_uid,
                Ok(None) => false,
                Err(error) => return Err(ApiError::internal(error)),
            },
        };
        if allowed {
            Ok(())
        } else {
            warn!(user = %name, "login refused: no usable account");
            Err(ApiError::forbidden(format!(
                "{name} may not use this server: there is no account for it here (or it is a system account)"
            )))
        }
    }

    /// Ends a browser login everywhere.
    pub async fn logout(&self, login_token: &str) -> Result<String, ApiError> {
        let hash = hash_token(login_token);
        self.store.revoke_login(&hash).await?;
        self.recent.forget(Kind::Cookie, &hash);
        Ok(self.cookie("", 0))
    }

    /// Recognises the caller from a bearer token or the login cookie.
    pub async fn caller(&self, headers: &HeaderMap) -> Result<Option<Caller>, ApiError> {
        if let Some(token) = bearer_token(headers) {
            let user = self.bearer_user(&hash_token(token)).await?;
            return Ok(user.map(|user| Caller {
                user,
                credential: Credential::Bearer,
            }));
        }
        let Some(cookie) = cookie_value(headers, COOKIE_NAME) else {
            return Ok(None);
        };
        let Some(token) = self.signer.verify(cookie) else {
            return Ok(None);
        };
        let user = self.cookie_user(&hash_token(&token)).await?;
        Ok(user.map(|user| Caller {
            user,
            credential: Credential::Cookie(token),
        }))
    }

    /// The owner of the API token whose hash is `hash`.
    async fn bearer_user(&self, hash: &str) -> Result<Option<User>, ApiError> {
        let find = async {
            let record = self.store.find_api_token(hash).await?;
            Ok(record.map(|record| (record.user, None)))
        };
        self.recognised(Kind::Bearer, hash, find).await
    }

    /// The user of the browser login whose token hashes to `hash`; never
    /// remembered past the login's expiry.
    async fn cookie_user(&self, hash: &str) -> Result<Option<User>, ApiError> {
        let find = async {
            let now = Timestamp::now();
            let login = self.store.find_login(hash, now).await?;
            Ok(login.map(|login| {
                let left_ms = login.expires_at.as_millis().saturating_sub(now.as_millis());
                let left = Duration::from_millis(u64::try_from(left_ms).unwrap_or(0));
                (login.user, Some(left))
            }))
        };
        self.recognised(Kind::Cookie, hash, find).await
    }

    /// The user behind credential `hash`: remembered, or found by `find`
    /// (the credential's owner and how long it stays valid) and then
    /// remembered. `find` is not polled before the store's credentials
    /// epoch is noted, so a revocation racing with it leaves an entry that
    /// is never served.
    async fn recognised(
        &self,
        kind: Kind,
        hash: &str,
        find: impl Future<Output = atelier_store::Result<Option<(UserName, Option<Duration>)>>>,
    ) -> Result<Option<User>, ApiError> {
        let epoch = self.store.credentials_epoch();
        if let Some(user) = self.recent.get(kind, hash, epoch) {
            return Ok(Some(user));
        }
        let Some((name, valid_for)) = find.await? else {
            return Ok(None);
        };
        let user = self.store.get_user(&name).await?;
        if let Some(user) = &user {
            self.recent
                .put(kind, hash.to_owned(), user.clone(), epoch, valid_for);
        }
        Ok(user)
    }

    /// For cookie callers, state-changing methods must carry the CSRF token.
    pub fn check_csrf(
        &self,
        caller: &Caller,
        method: &Method,
        headers: &HeaderMap,
    ) -> Result<(), ApiError> {
        let Credential::Cookie(token) = &caller.credential else {
            return Ok(());
        };
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let presented = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if self.signer.check_csrf(token, presented) {
            Ok(())
        } else {
            Err(ApiError::forbidden(
                "missing or wrong CSRF token (header X-Atelier-CSRF)",
            ))
        }
    }

    /// The CSRF token for a cookie caller.
    pub fn csrf_token(&self, caller: &Caller) -> Option<String> {
        match &caller.credential {
            Credential::Cookie(token) => Some(self.signer.csrf_token(token)),
            Credential::Bearer => None,
        }
    }

    fn cookie(&self, value: &str, max_age: i64) -> String {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        format!("{COOKIE_NAME}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
    }
}

/// The token of an `Authorization: Bearer …` header.
pub(crate) fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_cookie_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            "_xsrf=abc; atelier_session=v.mac; other=1".parse().unwrap(),
        );
        assert_eq!(cookie_value(&headers, COOKIE_NAME), Some("v.mac"));
        assert_eq!(cookie_value(&headers, "missing"), None);
    }

    #[test]
    fn reads_bearer_case_insensitively() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "bearer atl_x".parse().unwrap());
        assert_eq!(bearer_token(&headers), Some("atl_x"));
        headers.insert(header::AUTHORIZATION, "token atl_x".parse().unwrap());
        assert_eq!(bearer_token(&headers), None);
    }
}
