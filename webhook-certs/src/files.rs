//! The output directory: `ca.crt`, `ca.key`, `tls.crt`, `tls.key` (PEM), the names a
//! cert-manager Secret mount uses, so the injector reads either the same way.

use std::fs;
use std::io::Write;
use std::path::Path;

use crate::{parse_ca, Bundle, CaFiles, CertError};

pub const CA_CERT: &str = "ca.crt";
pub const CA_KEY: &str = "ca.key";
pub const TLS_CERT: &str = "tls.crt";
pub const TLS_KEY: &str = "tls.key";

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CertError + '_ {
    move |source| CertError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The CA in `dir`, if both its files are there.
pub fn read_ca(dir: &Path) -> Result<Option<CaFiles>, CertError> {
    let cert_path = dir.join(CA_CERT);
    let key_path = dir.join(CA_KEY);
    if !cert_path.exists() || !key_path.exists() {
        return Ok(None);
    }
    let cert_pem = fs::read_to_string(&cert_path).map_err(io_err(&cert_path))?;
    let key_pem = fs::read_to_string(&key_path).map_err(io_err(&key_path))?;
    parse_ca(&cert_path.display().to_string(), &cert_pem, &key_pem).map(Some)
}

/// Writes the four files; each is written beside its final name and renamed over it, so
/// a reader (the injector watching this directory) never sees half a file.
pub fn write_bundle(dir: &Path, bundle: &Bundle) -> Result<(), CertError> {
    fs::create_dir_all(dir).map_err(io_err(dir))?;
    // The key first and the certificate last: a reader that loads tls.crt as soon as it
    // changes then finds the matching key already in place.
    write_atomic(dir, CA_KEY, &bundle.ca_key, true)?;
    write_atomic(dir, CA_CERT, &bundle.ca_cert, false)?;
    write_atomic(dir, TLS_KEY, &bundle.key, true)?;
    write_atomic(dir, TLS_CERT, &bundle.cert, false)?;
    Ok(())
}

fn write_atomic(dir: &Path, name: &str, text: &str, secret: bool) -> Result<(), CertError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if secret { 0o600 } else { 0o644 });
    }
    let mut file = options.open(&tmp).map_err(io_err(&tmp))?;
    file.write_all(text.as_bytes()).map_err(io_err(&tmp))?;
    file.sync_all().map_err(io_err(&tmp))?;
    fs::rename(&tmp, &path).map_err(io_err(&path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{issue, Request};

    #[test]
    fn renewal_keeps_the_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let req = Request {
            service: "hook".into(),
            namespace: "ns".into(),
            cert_days: 30,
            ca_days: 3650,
        };
        let first = issue(&req, None).expect("first");
        write_bundle(dir.path(), &first).expect("write");
        let ca = read_ca(dir.path()).expect("read").expect("present");
        let second = issue(&req, Some(&ca)).expect("renew");
        assert!(second.ca_reused);
        assert_eq!(second.ca_cert, first.ca_cert);
        assert_ne!(second.cert, first.cert);
        assert_ne!(second.key, first.key);
    }

    #[test]
    fn a_ca_that_expires_first_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut req = Request {
            service: "hook".into(),
            namespace: "ns".into(),
            cert_days: 10,
            ca_days: 10,
        };
        write_bundle(dir.path(), &issue(&req, None).expect("issue")).expect("write");
        let ca = read_ca(dir.path()).expect("read").expect("present");
        req.cert_days = 400;
        let err = issue(&req, Some(&ca)).expect_err("too old");
        assert!(err.to_string().contains("--new-ca"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_ca_is_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(CA_CERT), "hello").expect("write");
        fs::write(dir.path().join(CA_KEY), "hello").expect("write");
        let err = read_ca(dir.path()).expect_err("bad");
        assert!(err.to_string().contains("ca.crt"), "{err}");
    }
}
