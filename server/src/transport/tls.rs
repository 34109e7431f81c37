//! TLS settings for the network listeners: loads a PEM certificate chain and private key into a
//! rustls [`ServerConfig`]. The record layer itself runs inside the net ring (see
//! `netring::tls`); this module only reads files and checks that they belong together.

use rustls::crypto::ring::default_provider;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file is missing, unreadable or holds no PEM certificate.
    #[error("TLS certificate {path}: {reason}")]
    Certificate {
        /// The file named by `--tls-cert`.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The key file is missing, unreadable or holds no PEM private key.
    #[error("TLS private key {path}: {reason}")]
    Key {
        /// The file named by `--tls-key`.
        path: PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// rustls refused the pair (key does not match the certificate, unsupported algorithm).
    #[error("TLS certificate and key rejected: {0}")]
    Rejected(#[from] rustls::Error),
}

/// Build the server-side TLS configuration from a PEM certificate chain (leaf first) and a PEM
/// private key (PKCS#8, PKCS#1 or SEC1). TLS 1.2 and 1.3 with rustls' safe defaults; the ring
/// crypto provider.
pub fn load_server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| TlsError::Certificate {
            path: cert.to_path_buf(),
            reason: e.to_string(),
        })?
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Certificate {
            path: cert.to_path_buf(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Certificate {
            path: cert.to_path_buf(),
            reason: "no PEM certificate in the file".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| TlsError::Key {
        path: key.to_path_buf(),
        reason: e.to_string(),
    })?;
    let config = ServerConfig::builder_with_provider(Arc::new(default_provider()))
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    Ok(Arc::new(config))
}

/// A copy of `config` for one shard's listeners of one kind, with its own session-resumption
/// cache so that shards never share the cache's lock. HTTP listeners offer ALPN `http/1.1` (some
/// clients insist on ALPN); line listeners offer none, so any client without ALPN connects.
pub(crate) fn per_shard(config: &ServerConfig, http: bool) -> Arc<ServerConfig> {
    let mut own = config.clone();
    own.session_storage = rustls::server::ServerSessionMemoryCache::new(4096);
    own.alpn_protocols = if http {
        vec![b"http/1.1".to_vec()]
    } else {
        Vec::new()
    };
    Arc::new(own)
}
