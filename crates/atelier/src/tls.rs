//! HTTPS: a rustls acceptor in front of the same router, with WebSocket
//! upgrades and the client address passed to handlers.

use std::sync::Arc;

use anyhow::{bail, Context};
use atelier_config::TlsConfig;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;
use tracing::debug;

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    tls: &TlsConfig,
) -> anyhow::Result<()> {
    let acceptor = TlsAcceptor::from(Arc::new(server_config(tls)?));
    let shutdown = crate::serve::shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = &mut shutdown => return Ok(()),
        };
        crate::serve::set_nodelay(&stream);
        let acceptor = acceptor.clone();
        let app = app.clone();
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(stream).await else {
                debug!(%peer, "TLS handshake failed");
                return;
            };
            let service = hyper::service::service_fn(
                move |mut request: hyper::Request<hyper::body::Incoming>| {
                    request.extensions_mut().insert(ConnectInfo(peer));
                    app.clone().oneshot(request)
                },
            );
            let builder = auto::Builder::new(TokioExecutor::new());
            let _ = builder
                .serve_connection_with_upgrades(TokioIo::new(stream), service)
                .await;
        });
    }
}

fn server_config(tls: &TlsConfig) -> anyhow::Result<ServerConfig> {
    let cert_text =
        std::fs::read(&tls.cert).with_context(|| format!("reading {}", tls.cert.display()))?;
    let key_text =
        std::fs::read(&tls.key).with_context(|| format!("reading {}", tls.key.display()))?;
    let certs = rustls_pemfile::certs(&mut cert_text.as_slice())
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("parsing certificates in {}", tls.cert.display()))?;
    if certs.is_empty() {
        bail!("{} holds no PEM certificate", tls.cert.display());
    }
    let key = rustls_pemfile::private_key(&mut key_text.as_slice())
        .with_context(|| format!("parsing the key in {}", tls.key.display()))?
        .with_context(|| format!("{} holds no PEM private key", tls.key.display()))?;
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .context("the certificate and key do not match")?;
    Ok(config)
}
