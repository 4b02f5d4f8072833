//! What the supervisor does only for sessions on other nodes (Slurm jobs):
//! it reads the IDE's environment from the session folder's `env` file
//! (secrets never pass through the batch script), and serves the IDE's unix
//! socket on a TCP port behind the session gate ([`atelier_proxy::gate`]),
//! writing the node's name and the port to `endpoint.json` for the server.

use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream, UnixStream};

use super::say;

/// The file, in the session folder, naming where the gate listens.
pub(crate) const ENDPOINT_FILE: &str = "endpoint.json";

/// The `env` file: the IDE's whole environment, and the gate's secret.
#[derive(Serialize, Deserialize)]
pub(crate) struct EnvFile {
    /// Variables of the IDE's environment, in order.
    pub(crate) env: Vec<(String, String)>,
    /// The session secret the gate asks for.
    pub(crate) secret: String,
}

impl EnvFile {
    /// Reads the file and removes it (the secret is then only in memory).
    pub(crate) fn take(path: &Path) -> io::Result<EnvFile> {
        let text = std::fs::read(path)?;
        let _ = std::fs::remove_file(path);
        serde_json::from_slice(&text).map_err(io::Error::other)
    }
}

/// Where the gate listens, as written to `endpoint.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GateEndpoint {
    /// The node's host name.
    pub host: String,
    /// The TCP port.
    pub port: u16,
}

/// Starts the gate: listens on every address of the node, writes
/// `endpoint.json`, and admits connections that greet with `secret`, each
/// carried to `<dir>/ide.sock`. Runs until the supervisor ends.
pub(crate) async fn start_gate(dir: &Path, secret: String) -> io::Result<()> {
    let listener = TcpListener::bind(("0.0.0.0", 0)).await?;
    let endpoint = GateEndpoint {
        host: host_name()?,
        port: listener.local_addr()?.port(),
    };
    let temp = dir.join(format!("{ENDPOINT_FILE}.tmp"));
    std::fs::write(&temp, serde_json::to_vec(&endpoint)?)?;
    std::fs::rename(&temp, dir.join(ENDPOINT_FILE))?;
    say(&format!(
        "gate listening on {}:{}",
        endpoint.host, endpoint.port
    ));
    let socket = dir.join(crate::SOCKET_FILE);
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, peer)) => {
                    let (socket, secret) = (socket.clone(), secret.clone());
                    tokio::spawn(async move {
                        if let Err(error) = carry(stream, &socket, &secret).await {
                            say(&format!("gate: connection from {peer} ended: {error}"));
                        }
                    });
                }
                Err(error) => say(&format!("gate: accept failed: {error}")),
            }
        }
    });
    Ok(())
}

/// Admits one connection and copies bytes both ways between it and the IDE.
async fn carry(mut stream: TcpStream, socket: &PathBuf, secret: &str) -> io::Result<()> {
    stream.set_nodelay(true)?;
    if !atelier_proxy::gate::admits(&mut stream, secret).await {
        return Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            "refused: no valid greeting",
        ));
    }
    let mut ide = UnixStream::connect(socket).await?;
    stream.write_all(atelier_proxy::gate::ACCEPTED).await?;
    tokio::io::copy_bidirectional(&mut stream, &mut ide).await?;
    Ok(())
}

/// This node's host name, as Slurm names it.
fn host_name() -> io::Result<String> {
    let name = std::fs::read_to_string("/proc/sys/kernel/hostname")?;
    Ok(name.trim().to_owned())
}
