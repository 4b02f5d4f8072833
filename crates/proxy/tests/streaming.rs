//! Bodies stream both ways: 20 MB up and down, the request body reaches the
//! upstream before the client has finished sending it, and a response chunk
//! reaches the client before the upstream has produced the rest.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::upstream::KINDS;
use common::{read_all, within, Front, TestUpstream};
use futures_util::stream;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::Frame;
use tokio::sync::mpsc;

const TWENTY_MB: usize = 20 * 1024 * 1024;

#[tokio::test]
async fn post_of_20_mb_is_streamed_to_upstream() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        let chunk = Bytes::from(vec![7u8; 256 * 1024]);
        let frames = (0..TWENTY_MB / chunk.len()).map(move |_| Ok(Frame::data(chunk.clone())));
        let body = StreamBody::new(stream::iter(frames))
            .map_err(|never: Infallible| match never {})
            .boxed_unsync();
        let req = Request::post("/s/abc/upload").body(body).unwrap();
        let response = within(60, client.send(req)).await;
        assert_eq!(response.status(), StatusCode::OK, "{kind:?}");
        assert_eq!(
            read_all(response.into_body()).await,
            TWENTY_MB.to_string(),
            "{kind:?}"
        );
    }
}

#[tokio::test]
async fn request_body_reaches_upstream_before_the_client_finishes() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        let (chunks, receiver) = mpsc::channel::<Bytes>(1);
        let frames = stream::unfold(receiver, |mut receiver| async move {
            let chunk = receiver.recv().await?;
            Some((Ok::<_, Infallible>(Frame::data(chunk)), receiver))
        });
        let body = StreamBody::new(frames)
            .map_err(|never| match never {})
            .boxed_unsync();
        let req = Request::post("/s/abc/upload").body(body).unwrap();
        let sending =
            tokio::spawn(async move { read_all(client.send(req).await.into_body()).await });

        chunks
            .send(Bytes::from_static(b"first chunk"))
            .await
            .unwrap();
        within(5, upstream.state.first_chunk.notified()).await;
        chunks
            .send(Bytes::from_static(b", the rest"))
            .await
            .unwrap();
        drop(chunks);
        assert_eq!(within(5, sending).await.unwrap(), "21", "{kind:?}");
    }
}

#[tokio::test]
async fn response_of_20_mb_is_streamed_back() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        let response = within(
            5,
            client.send(common::get(&format!("/s/abc/download?bytes={TWENTY_MB}"))),
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK, "{kind:?}");
        let mut body = response.into_body();
        let mut total = 0;
        while let Some(frame) = within(30, body.frame()).await {
            let data = frame.unwrap().into_data().unwrap_or_default();
            assert!(data.iter().all(|b| *b == b'x'));
            total += data.len();
        }
        assert_eq!(total, TWENTY_MB, "{kind:?}");
    }
}

#[tokio::test]
async fn first_chunk_arrives_before_the_upstream_sends_the_rest() {
    for kind in KINDS {
        let upstream = TestUpstream::start(kind).await;
        let front = Front::start(upstream.upstream.clone()).await;
        let mut client = front.client().await;

        let response = within(5, client.send(common::get("/s/abc/slow"))).await;
        let mut body = response.into_body();
        let first = within(5, body.frame())
            .await
            .unwrap()
            .unwrap()
            .into_data()
            .unwrap();
        assert_eq!(first, "first", "{kind:?}");

        upstream.state.release.notify_one();
        let rest = read_all(body).await;
        assert_eq!(rest, "rest", "{kind:?}");
    }
}
