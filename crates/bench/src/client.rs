//! A minimal HTTP/1.1 client over one kept-alive TCP connection, with no
//! pool and no retries: the load generator and the driver's API calls must
//! know exactly which connection each request rides on.

use anyhow::{bail, Context};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderName, HeaderValue, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

/// `http://host:port/path` split into what a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    /// `host:port`, also the `Host` header.
    pub(crate) authority: String,
    /// Path and query, starting with `/`.
    pub(crate) path: String,
}

impl Url {
    /// Parses a plain-HTTP URL (no TLS here: everything is on loopback).
    pub(crate) fn parse(text: &str) -> anyhow::Result<Url> {
        let Some(rest) = text.strip_prefix("http://") else {
            bail!("{text:?}: only http:// URLs are supported");
        };
        let (authority, path) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        if authority.is_empty() {
            bail!("{text:?}: no host");
        }
        let authority = if authority.contains(':') {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Ok(Url {
            authority,
            path: path.to_owned(),
        })
    }

    /// The same server with another path.
    pub(crate) fn with_path(&self, path: &str) -> Url {
        Url {
            authority: self.authority.clone(),
            path: path.to_owned(),
        }
    }

    /// Back to text.
    pub(crate) fn to_text(&self) -> String {
        format!("http://{}{}", self.authority, self.path)
    }
}

/// Parses `Name: value` (the load generator's `--header`).
pub(crate) fn parse_header(text: &str) -> anyhow::Result<(HeaderName, HeaderValue)> {
    let (name, value) = text
        .split_once(':')
        .with_context(|| format!("{text:?}: a header is `Name: value`"))?;
    let name = HeaderName::from_bytes(name.trim().as_bytes())
        .with_context(|| format!("{name:?} is not a header name"))?;
    let value = HeaderValue::from_str(value.trim())
        .with_context(|| format!("the value of {name} is not a header value"))?;
    Ok((name, value))
}

/// What [`Conn::send_counting`] read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: StatusCode,
    /// Bytes of the body.
    pub(crate) length: usize,
    /// The server said it closes the connection after this answer
    /// (`Connection: close`, as nginx does after `keepalive_requests`): the
    /// next request needs a new connection, which is no failure.
    pub(crate) closing: bool,
}

/// True if the answer's `Connection` header names `close`.
pub(crate) fn announces_close(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|token| token.trim().eq_ignore_ascii_case("close"))
}

/// One open HTTP/1.1 connection.
pub(crate) struct Conn {
    sender: SendRequest<Full<Bytes>>,
    authority: String,
}

impl Conn {
    /// Connects to `authority` (`host:port`).
    pub(crate) async fn open(authority: &str) -> anyhow::Result<Conn> {
        let stream = tokio::net::TcpStream::connect(authority)
            .await
            .with_context(|| format!("cannot connect to {authority}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Conn {
            sender,
            authority: authority.to_owned(),
        })
    }

    /// A request to this connection's server.
    pub(crate) fn request(
        &self,
        method: Method,
        path: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> anyhow::Result<Request<Full<Bytes>>> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(header::HOST, &self.authority);
        if !body.is_empty() {
            request = request.header(header::CONTENT_TYPE, "application/json");
        }
        let mut request = request.body(Full::new(body))?;
        request.headers_mut().extend(headers.clone());
        Ok(request)
    }

    /// Sends and reads the whole answer, counting the body's bytes without
    /// keeping them.
    pub(crate) async fn send_counting(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> anyhow::Result<Answer> {
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let closing = announces_close(response.headers());
        let mut body = response.into_body();
        let mut length = 0;
        while let Some(frame) = body.frame().await {
            if let Some(data) = frame?.data_ref() {
                length += data.len();
            }
        }
        Ok(Answer {
            status,
            length,
            closing,
        })
    }

    /// Sends and returns the status and the whole body.
    pub(crate) async fn send(
        &mut self,
        request: Request<Full<Bytes>>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_authority_and_path() {
        let url = Url::parse("http://127.0.0.1:8080/s/abc/1k?x=1").unwrap();
        assert_eq!(url.authority, "127.0.0.1:8080");
        assert_eq!(url.path, "/s/abc/1k?x=1");
        assert_eq!(url.to_text(), "http://127.0.0.1:8080/s/abc/1k?x=1");
        let bare = Url::parse("http://localhost").unwrap();
        assert_eq!(
            (bare.authority.as_str(), bare.path.as_str()),
            ("localhost:80", "/")
        );
        assert_eq!(bare.with_path("/1m").path, "/1m");
        assert!(Url::parse("https://x/").is_err());
        assert!(Url::parse("http:///path").is_err());
    }

    #[test]
    fn a_connection_close_answer_is_recognised() {
        let mut headers = HeaderMap::new();
        assert!(!announces_close(&headers));
        headers.insert(header::CONNECTION, HeaderValue::from_static("keep-alive"));
        assert!(!announces_close(&headers));
        headers.insert(
            header::CONNECTION,
            HeaderValue::from_static("Upgrade, Close"),
        );
        assert!(announces_close(&headers));
    }

    #[test]
    fn headers_parse_from_name_colon_value() {
        let (name, value) = parse_header("Authorization: Bearer atl_x").unwrap();
        assert_eq!(name, header::AUTHORIZATION);
        assert_eq!(value, "Bearer atl_x");
        assert!(parse_header("no colon").is_err());
        assert!(parse_header("bad name: x").is_err());
    }
}
