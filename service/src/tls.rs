//! TLS serving for the injector and the hub: the certificate read from a directory (a
//! cert-manager Secret mount or `remora certs generate`) and swapped in place when it
//! changes — new handshakes get the new certificate, open connections keep going — and
//! an axum router served over it with a handshake timeout and a bounded drain.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use notify::Watcher;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

pub const CERT_FILE: &str = "tls.crt";
pub const KEY_FILE: &str = "tls.key";
/// Poll this often in case a file-system event was missed (some volume types send none).
pub const POLL: Duration = Duration::from_secs(10);
/// A client that has not finished its TLS handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections get this long to finish after a shutdown signal.
const DRAIN: Duration = Duration::from_secs(20);

/// The certificate in force and the bytes it was read from.
#[derive(Debug)]
pub struct CertStore {
    dir: PathBuf,
    provider: Arc<CryptoProvider>,
    current: RwLock<Option<Arc<CertifiedKey>>>,
    loaded_from: Mutex<Option<(Vec<u8>, Vec<u8>)>>,
    not_after: Mutex<Option<i64>>,
}

/// The result of looking at the directory.
#[derive(Debug, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    Loaded,
}

impl CertStore {
    pub fn new(dir: &Path, provider: Arc<CryptoProvider>) -> CertStore {
        CertStore {
            dir: dir.to_path_buf(),
            provider,
            current: RwLock::new(None),
            loaded_from: Mutex::new(None),
            not_after: Mutex::new(None),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn is_loaded(&self) -> bool {
        self.current.read().map(|c| c.is_some()).unwrap_or(false)
    }

    /// UNIX time after which the certificate in force is invalid.
    pub fn not_after(&self) -> Option<i64> {
        *self.not_after.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Reads both files and takes them if they changed and make a valid pair. On error
    /// the certificate in force stays (a half-written update is retried next time).
    pub fn reload(&self) -> Result<Reload, String> {
        let read = |name: &str| {
            let path = self.dir.join(name);
            std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
        };
        let (cert_pem, key_pem) = (read(CERT_FILE)?, read(KEY_FILE)?);
        {
            let last = self.loaded_from.lock().unwrap_or_else(|p| p.into_inner());
            if last.as_ref() == Some(&(cert_pem.clone(), key_pem.clone())) {
                return Ok(Reload::Unchanged);
            }
        }
        let cert_path = self.dir.join(CERT_FILE);
        let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
            .collect::<Result<_, _>>()
            .map_err(|e| format!("{}: {e}", cert_path.display()))?;
        if chain.is_empty() {
            return Err(format!("{}: no certificate in it", cert_path.display()));
        }
        let key = PrivateKeyDer::from_pem_slice(&key_pem)
            .map_err(|e| format!("{}: {e}", self.dir.join(KEY_FILE).display()))?;
        let not_after = not_after(&chain[0]);
        let certified = CertifiedKey::from_der(chain, key, &self.provider).map_err(|e| {
            format!(
                "{}: the key does not fit the certificate ({e})",
                self.dir.display()
            )
        })?;
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(certified));
        *self.loaded_from.lock().unwrap_or_else(|p| p.into_inner()) = Some((cert_pem, key_pem));
        *self.not_after.lock().unwrap_or_else(|p| p.into_inner()) = not_after;
        Ok(Reload::Loaded)
    }
}

fn not_after(cert: &CertificateDer<'_>) -> Option<i64> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    Some(parsed.validity().not_after.timestamp())
}

impl ResolvesServerCert for CertStore {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok()?.clone()
    }
}

/// TLS 1.2 and 1.3 (rustls has nothing older), HTTP/2 preferred.
pub fn server_config(store: Arc<CertStore>) -> Result<rustls::ServerConfig, rustls::Error> {
    let provider = store.provider.clone();
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_cert_resolver(store);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Watches the directory (a Secret update swaps the `..data` symlink, which shows up as
/// events on the directory) and polls every [`POLL`] as a fallback; `on_reload` hears
/// each attempt's result.
pub fn spawn_watcher(
    store: Arc<CertStore>,
    on_reload: impl Fn(&Result<Reload, String>) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(1);
    let dir = store.dir().to_path_buf();
    let watcher = notify::recommended_watcher(move |_event: notify::Result<notify::Event>| {
        // A full channel already holds a pending reload: that one will see this change.
        let _ = tx.try_send(());
    });
    let watcher = watcher.and_then(|mut w| {
        w.watch(&dir, notify::RecursiveMode::NonRecursive)?;
        Ok(w)
    });
    if let Err(e) = &watcher {
        tracing::warn!(dir = %dir.display(), "cannot watch the certificate directory ({e}); polling every {POLL:?}");
    }
    tokio::spawn(async move {
        let _watcher = watcher.ok();
        let mut poll = tokio::time::interval(POLL);
        loop {
            tokio::select! {
                _ = poll.tick() => {}
                Some(()) = rx.recv() => {
                    // Let a burst of events (several files renamed) settle first.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    while rx.try_recv().is_ok() {}
                }
            }
            let result = store.reload();
            on_reload(&result);
        }
    })
}

/// Accepts TLS connections until `stop`, then waits (at most 20 s) for open ones.
/// Upgrades (WebSocket) are served; an upgraded connection is not waited for.
pub async fn serve_tls(listener: TcpListener, acceptor: TlsAcceptor, router: Router, mut stop: tokio::sync::watch::Receiver<bool>) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            // The guard `wait_for` returns is dropped at once: the future stays Send.
            () = async { let _ = stop.wait_for(|s| *s).await; } => break,
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => {
                    tracing::debug!(%peer, "TLS handshake failed: {e}");
                    return;
                }
                Err(_) => {
                    tracing::debug!(%peer, "TLS handshake timed out");
                    return;
                }
            };
            let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
            if let Err(e) = watcher.watch(connection.into_owned()).await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    if tokio::time::timeout(DRAIN, graceful.shutdown()).await.is_err() {
        tracing::warn!("connections still open after {DRAIN:?}; closing them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> remora_certs::Bundle {
        let request = remora_certs::Request {
            service: "hook".into(),
            namespace: "ns".into(),
            cert_days: 1,
            ca_days: 2,
        };
        remora_certs::issue(&request, None).expect("issue")
    }

    #[test]
    fn a_bad_update_keeps_the_certificate_in_force() {
        let dir = tempfile::tempdir().expect("tempdir");
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let store = CertStore::new(dir.path(), provider);
        let err = store.reload().expect_err("no files yet");
        assert!(err.contains("tls.crt"), "{err}");
        assert!(!store.is_loaded());

        let first = bundle();
        std::fs::write(dir.path().join(CERT_FILE), &first.cert).expect("write");
        std::fs::write(dir.path().join(KEY_FILE), &first.key).expect("write");
        assert_eq!(store.reload(), Ok(Reload::Loaded));
        assert_eq!(store.reload(), Ok(Reload::Unchanged));
        assert!(store.not_after().is_some());

        // Half an update: a new certificate beside the old key.
        let second = bundle();
        std::fs::write(dir.path().join(CERT_FILE), &second.cert).expect("write");
        let err = store.reload().expect_err("mismatched pair");
        assert!(err.contains("does not fit"), "{err}");
        assert!(store.is_loaded(), "the old certificate must stay in force");

        std::fs::write(dir.path().join(KEY_FILE), &second.key).expect("write");
        assert_eq!(store.reload(), Ok(Reload::Loaded));
        std::fs::write(dir.path().join(CERT_FILE), "garbage").expect("write");
        assert!(store.reload().is_err());
        assert!(store.is_loaded());
    }
}
