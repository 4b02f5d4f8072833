//! Calls to the REST APIs of Atelier and JupyterHub: one fresh connection
//! per call (these are not the measured requests).

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;

use crate::client::{Conn, Url};

/// A server and the credential to use on it.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    /// The server (its path is ignored).
    pub(crate) base: Url,
    /// Headers sent with every call (the token).
    pub(crate) headers: HeaderMap,
}

impl Api {
    /// `Authorization: <scheme> <token>`.
    pub(crate) fn new(base: &Url, scheme: &str, token: &str) -> anyhow::Result<Api> {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("{scheme} {token}"))?,
        );
        Ok(Api {
            base: base.clone(),
            headers,
        })
    }

    /// Sends one request; the answer's body as JSON (`Null` if it is not).
    pub(crate) async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Value)> {
        let (status, bytes) = self.raw(method, path, body).await?;
        Ok((
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        ))
    }

    /// Sends one request; the answer's body as bytes.
    pub(crate) async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        let mut conn = Conn::open(&self.base.authority).await?;
        let body = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let request = conn.request(method, path, &self.headers, body)?;
        conn.send(request).await
    }

    /// `call`, failing unless the status is one of `ok`.
    pub(crate) async fn expect(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        ok: &[u16],
    ) -> anyhow::Result<Value> {
        let (status, value) = self.call(method.clone(), path, body).await?;
        anyhow::ensure!(
            ok.contains(&status.as_u16()),
            "{method} {path} answered {status}: {value}"
        );
        Ok(value)
    }
}
