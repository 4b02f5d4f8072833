//! A small HTTP client that behaves like the browser UI (cookie + CSRF
//! header) or like a script (bearer token).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// An answer.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|_| {
            panic!(
                "not JSON ({}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The error code of an API error answer.
    pub fn error_code(&self) -> String {
        self.json()["error"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("no error code: {}", self.text()))
            .to_owned()
    }
}

/// A client for one server, optionally logged in.
#[derive(Clone)]
pub struct Client {
    pub base: String,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
    pub bearer: Option<String>,
    inner: HyperClient<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>,
}

impl Client {
    pub fn new(base: &str) -> Client {
        Client {
            base: base.trim_end_matches('/').to_owned(),
            cookie: None,
            csrf: None,
            bearer: None,
            inner: HyperClient::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The same server, as a script with this API token.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            cookie: None,
            csrf: None,
            bearer: Some(token.to_owned()),
            ..self.clone()
        }
    }

    /// Logs in through the API and keeps the cookie and CSRF token.
    pub async fn login(&mut self, user: &str, password: &str) -> Reply {
        let body = serde_json::json!({ "username": user, "password": password });
        let reply = self
            .send(
                Method::POST,
                "/api/v1/auth/login",
                Some(body.to_string()),
                &[],
            )
            .await;
        if reply.status == StatusCode::OK {
            let set_cookie = reply.headers["set-cookie"].to_str().unwrap();
            self.cookie = Some(set_cookie.split(';').next().unwrap().to_owned());
            self.csrf = reply.json()["csrf_token"].as_str().map(str::to_owned);
        }
        reply
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.send(Method::GET, path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(body.to_string()), &[])
            .await
    }

    pub async fn delete(&self, path: &str) -> Reply {
        self.send(Method::DELETE, path, None, &[]).await
    }

    /// Any request; the cookie, CSRF header and bearer token are added when set.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<String>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(csrf) = &self.csrf {
            request = request.header("x-atelier-csrf", csrf);
        }
        if let Some(token) = &self.bearer {
            request = request.header("authorization", format!("Bearer {token}"));
        }
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let request = request
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .unwrap();
        let response = self
            .inner
            .request(request)
            .await
            .expect("the server answers");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            headers,
            body,
        }
    }
}
