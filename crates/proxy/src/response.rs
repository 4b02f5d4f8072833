//! Building the responses the proxy hands back: upstream answers with their
//! body boxed as a [`ProxyBody`], and the JSON error answers.

use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, Response, StatusCode};
use http_body_util::{BodyExt, Empty, Full};

use crate::{ProxyBody, ProxyError};

/// Boxes any body into a [`ProxyBody`].
pub(crate) fn boxed<B>(body: B) -> ProxyBody
where
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<crate::BoxError>,
{
    body.map_err(Into::into).boxed_unsync()
}

/// An empty [`ProxyBody`].
pub(crate) fn empty() -> ProxyBody {
    boxed(Empty::<Bytes>::new())
}

/// The answer for a failed forward: the status of `error` and a JSON body
/// `{"error":{"code":"session_unreachable","message":"..."}}` whose message
/// names no internals.
pub(crate) fn error(error: &ProxyError) -> Response<ProxyBody> {
    let status = error.status();
    let (code, message) = match status {
        StatusCode::GATEWAY_TIMEOUT => {
            ("session_unreachable", "The session did not answer in time.")
        }
        StatusCode::BAD_GATEWAY => (
            "session_unreachable",
            "The session cannot be reached. It may have stopped.",
        ),
        _ => (
            "internal",
            "The request could not be forwarded to the session.",
        ),
    };
    let json = format!(r#"{{"error":{{"code":"{code}","message":"{message}"}}}}"#);
    let mut response = Response::new(boxed(Full::new(Bytes::from(json))));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
