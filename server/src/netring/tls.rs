//! [`TlsLayer`]: one connection's TLS record layer, between the socket bytes the net ring moves
//! and the plaintext the protocol (ndjson or HTTP) sees: the server side of accepted connections,
//! the client side of dialed ones ([`ClientTls`]). Sans-IO: ciphertext in from received
//! buffers, plaintext out to the protocol; plaintext in from the outbox, ciphertext out into the
//! send buffer. It never touches the socket and never blocks.

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};
use std::io::{self, Read, Write};
use std::sync::Arc;

/// What a dial needs to speak TLS as a client: the settings (roots, ALPN) and the name the
/// server's certificate must carry (also sent as SNI).
#[derive(Clone)]
pub(crate) struct ClientTls {
    /// rustls client settings, shared by every dial that uses them.
    pub(crate) config: Arc<ClientConfig>,
    /// The server's name.
    pub(crate) name: ServerName<'static>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What the received ciphertext produced.
#[derive(Debug, Default)]
pub(super) struct Opened {
    /// The peer sent close_notify: treat as end of input.
    pub(super) peer_closed: bool,
    /// There are TLS records to send (handshake messages, alerts) even if the outbox is empty.
    pub(super) wants_write: bool,
}

/// A TLS failure that ends the connection (after the alert, if any, is sent).
#[derive(Debug, thiserror::Error)]
#[error("TLS: {0}")]
pub(super) struct TlsFailure(String);

/// One connection's TLS state.
pub(super) struct TlsLayer {
    conn: Connection,
    plain: Vec<u8>,
}

impl TlsLayer {
    /// Start the server side of a handshake.
    pub(super) fn new(config: Arc<ServerConfig>) -> Result<Self, TlsFailure> {
        let conn = ServerConnection::new(config).map_err(|e| TlsFailure(e.to_string()))?;
        Ok(Self::over(conn.into()))
    }

    /// Start the client side of a handshake (its first flight is queued: seal to send it).
    pub(super) fn client(tls: ClientTls) -> Result<Self, TlsFailure> {
        let conn =
            ClientConnection::new(tls.config, tls.name).map_err(|e| TlsFailure(e.to_string()))?;
        Ok(Self::over(conn.into()))
    }

    fn over(mut conn: Connection) -> Self {
        // The outbox already bounds what a connection may queue; rustls must not refuse writes
        // made before the handshake completes (a client's first request is written then).
        conn.set_buffer_limit(None);
        TlsLayer {
            conn,
            plain: Vec::new(),
        }
    }

    /// Whether the handshake is still running (used for the handshake timeout).
    pub(super) fn handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Decrypt `data` and hand every plaintext run to `deliver`. On a protocol error the alert
    /// is left queued: write it out with [`TlsLayer::seal_into`] before closing.
    pub(super) fn open(
        &mut self,
        mut data: &[u8],
        mut deliver: impl FnMut(&[u8]),
    ) -> Result<Opened, TlsFailure> {
        let mut opened = Opened::default();
        while !data.is_empty() {
            match self.conn.read_tls(&mut data) {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(TlsFailure(e.to_string())),
            }
            let state = self
                .conn
                .process_new_packets()
                .map_err(|e| TlsFailure(e.to_string()))?;
            let n = state.plaintext_bytes_to_read();
            if n > 0 {
                self.plain.resize(n, 0);
                match self.conn.reader().read_exact(&mut self.plain) {
                    Ok(()) => deliver(&self.plain),
                    Err(e) => return Err(TlsFailure(e.to_string())),
                }
            }
            if state.peer_has_closed() {
                opened.peer_closed = true;
                break;
            }
        }
        opened.wants_write = self.conn.wants_write();
        Ok(opened)
    }

    /// Encrypt `plain` (may be empty) and append every pending TLS record to `out`.
    pub(super) fn seal_into(&mut self, plain: &[u8], out: &mut Vec<u8>) -> io::Result<()> {
        if !plain.is_empty() {
            self.conn.writer().write_all(plain)?;
        }
        while self.conn.wants_write() {
            self.conn.write_tls(out)?;
        }
        Ok(())
    }
}
