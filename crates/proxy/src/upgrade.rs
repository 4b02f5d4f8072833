//! WebSocket pass-through: once the upstream has answered `101`, both
//! connections are taken over from hyper and bytes are copied between them
//! until either side closes.

use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tracing::debug;

use crate::pool::Sender;
use crate::Upstream;

/// Splices the client's connection (`client`, resolved once the `101` has
/// been written to it) with the upstream's (`upstream`) in a task of its own.
/// `sender` is held until both upgrades resolve so that hyper hands the
/// upstream connection over rather than closing it; it is never reused.
pub(crate) fn splice(client: OnUpgrade, upstream: OnUpgrade, sender: Sender, name: Upstream) {
    tokio::spawn(async move {
        let joined = tokio::try_join!(client, upstream);
        drop(sender);
        let (client, upstream) = match joined {
            Ok(pair) => pair,
            Err(error) => {
                debug!(upstream = %name, %error, "websocket upgrade did not complete");
                return;
            }
        };
        let mut client = TokioIo::new(client);
        let mut upstream = TokioIo::new(upstream);
        match tokio::io::copy_bidirectional(&mut client, &mut upstream).await {
            Ok((sent, received)) => {
                debug!(upstream = %name, sent, received, "websocket closed");
            }
            Err(error) => debug!(upstream = %name, %error, "websocket ended with an error"),
        }
    });
}
