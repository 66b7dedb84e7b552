//! `vendor.*`: sending what the network shows to the systems users run. Each helper is
//! synchronous — the hook waits for the answer, with the CPU clock stopped and the wait
//! taken from the call's network budget (see `budget.rs`) — and throws a clear error:
//! the helper, the server (host and port only), the status and an excerpt of the answer,
//! with the call's secrets redacted. In a sidecar, scripts run on their own thread, so
//! capture goes on while a hook waits.

mod args;
mod aws;
mod elastic;
mod gcs;
mod influxdb;
mod kinesis;
mod s3;
mod slack;
mod webhook;
mod webhook_form;

use std::rc::Rc;
use std::time::{Duration, Instant};

use rquickjs::{Ctx, Object, Result};

pub(crate) use args::Args;

use super::{fail, SharedRef};
use crate::net::{redact, Net, Reply};

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef) -> Result<Object<'js>> {
    let vendor = Object::new(ctx.clone())?;
    webhook::install(ctx, &vendor, shared)?;
    webhook_form::install(ctx, &vendor, shared)?;
    slack::install(ctx, &vendor, shared)?;
    influxdb::install(ctx, &vendor, shared)?;
    elastic::install(ctx, &vendor, shared)?;
    let aws = aws::AwsConfigs::shared();
    vendor.set("s3", s3::object(ctx, shared, &aws)?)?;
    vendor.set("gcs", gcs::object(ctx, shared)?)?;
    vendor.set("kinesis", kinesis::object(ctx, shared, &aws)?)?;
    Ok(vendor)
}

/// The network during one helper call: requests share what is left of its time.
pub(crate) struct Session<'n> {
    pub net: &'n Net,
    until: Instant,
}

impl Session<'_> {
    pub fn left(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }

    pub fn send(&self, request: reqwest::RequestBuilder) -> std::result::Result<Reply, String> {
        self.net.send(request, self.left())
    }

    /// Runs a client library's future (the AWS SDK's) within the time left.
    pub fn run<T>(&self, work: impl std::future::Future<Output = std::result::Result<T, String>>) -> std::result::Result<T, String> {
        let left = self.left();
        self.net.run(left, work).unwrap_or_else(|| Err(format!("no answer within {:.1} s", left.as_secs_f32())))
    }
}

/// Runs `work` for `helper` with the network: at most `limit`, and no longer than the
/// call's network budget allows. Its error becomes the helper's exception, `secrets`
/// redacted.
pub(crate) fn with_network<T>(
    ctx: &Ctx<'_>,
    shared: &SharedRef,
    helper: &str,
    limit: Duration,
    secrets: &[&str],
    work: impl FnOnce(&Session<'_>) -> std::result::Result<T, String>,
) -> Result<T> {
    let (net, budget) = {
        let mut shared = shared.borrow_mut();
        let net = match &shared.net {
            Some(net) => net.clone(),
            None => {
                let net = Rc::new(Net::new().map_err(|e| fail(ctx, helper, e))?);
                shared.net = Some(net.clone());
                net
            }
        };
        (net, shared.budget.clone())
    };
    let wait = budget.begin_wait(limit).map_err(|e| fail(ctx, helper, e))?;
    let session = Session { net: &net, until: Instant::now() + wait.timeout };
    let result = work(&session);
    budget.end_wait(wait);
    result.map_err(|e| fail(ctx, helper, redact(e, secrets)))
}

/// The longest any one helper call may wait, whatever the budget left.
pub(crate) const HELPER_LIMIT: Duration = Duration::from_secs(60);

/// A file a helper may read and send: in the data directory (`file.*`) or among the
/// per-stream PCAPs (`pcap.path`), whose buffered packets are written out first so the
/// file sent is whole. Nothing else leaves the pod, whatever a script asks: a file of the
/// data directory is opened beneath it, so no symbolic link can lead the read out.
pub(crate) fn readable(shared: &SharedRef, path: &str) -> std::result::Result<Readable, String> {
    let mut shared = shared.borrow_mut();
    let pcaps = shared.pcap_dir.as_ref().and_then(|dir| dir.canonicalize().ok());
    let (path, file) = match shared.sandbox.relative(path) {
        Ok(inside) => {
            let file = shared.sandbox.open(&inside)?;
            (shared.sandbox.root().join(inside), file)
        }
        Err(_) => {
            let real = std::path::Path::new(path).canonicalize().map_err(|e| format!("{path}: {e}"))?;
            if !pcaps.as_ref().is_some_and(|dir| real.starts_with(dir)) {
                return Err(format!("{path:?} is neither in the data directory nor a per-stream PCAP; only those files can be sent"));
            }
            let file = std::fs::File::open(&real).map_err(|e| format!("{}: {e}", real.display()))?;
            (real, file)
        }
    };
    if pcaps.is_some_and(|dir| path.starts_with(dir)) {
        shared.flush_pcaps();
    }
    Ok(Readable { path, file })
}

/// A file opened to be sent, and where it is (its name goes with it).
pub(crate) struct Readable {
    pub path: std::path::PathBuf,
    pub file: std::fs::File,
}

impl Readable {
    pub fn name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    pub fn size(&self) -> std::result::Result<u64, String> {
        self.file.metadata().map(|m| m.len()).map_err(|e| format!("{}: {e}", self.path.display()))
    }

    pub fn is_file(&self) -> bool {
        self.file.metadata().is_ok_and(|m| m.is_file())
    }

    /// The whole file, read from where it was opened.
    pub fn bytes(&self) -> std::result::Result<Vec<u8>, String> {
        use std::io::Read;
        let mut bytes = Vec::new();
        (&self.file).read_to_end(&mut bytes).map_err(|e| format!("{}: {e}", self.path.display()))?;
        Ok(bytes)
    }
}

/// An endpoint or setting: the scripts' `env` first, then the process's environment
/// (`SLACK_API_URL`, `OPENAI_BASE_URL`, `AWS_ENDPOINT_URL_S3`, ...).
pub(crate) fn setting(shared: &SharedRef, key: &str) -> Option<String> {
    let from_env = shared.borrow().env.get(key).cloned();
    from_env.or_else(|| std::env::var(key).ok()).filter(|v| !v.trim().is_empty())
}
