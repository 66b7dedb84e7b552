//! AWS configuration shared by `vendor.s3.*`, `vendor.kinesis.*` and `wrapper.kflPcapS3`:
//! explicit keys when a script gives them, else the SDK's default chain (environment,
//! IRSA web identity, shared profiles, instance roles). An endpoint for compatible
//! services — `AWS_ENDPOINT_URL_<SERVICE>` or `AWS_ENDPOINT_URL`, from the scripts' env or
//! the process's — replaces AWS's own. Loaded configurations are kept per (region, key).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::config::Credentials;
use aws_sdk_s3::error::ProvideErrorMetadata;

use super::{setting, Session};
use crate::helpers::SharedRef;

#[derive(Default)]
pub(crate) struct AwsConfigs {
    loaded: RefCell<HashMap<(String, String), SdkConfig>>,
}

/// Where and as whom a call goes.
pub(crate) struct Target {
    pub region: String,
    /// (key id, secret); `None` for the default chain.
    pub keys: Option<(String, String)>,
}

impl AwsConfigs {
    pub fn shared() -> Rc<AwsConfigs> {
        Rc::new(AwsConfigs::default())
    }

    pub fn config(&self, net: &Session<'_>, target: &Target) -> Result<SdkConfig, String> {
        let key = (target.region.clone(), target.keys.as_ref().map(|k| k.0.clone()).unwrap_or_default());
        if let Some(config) = self.loaded.borrow().get(&key) {
            return Ok(config.clone());
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest()).region(Region::new(target.region.clone()));
        if let Some((id, secret)) = &target.keys {
            loader = loader.credentials_provider(Credentials::new(id, secret, None, None, "remora-script"));
        }
        let config = net.run(async { Ok(loader.load().await) })?;
        self.loaded.borrow_mut().insert(key, config.clone());
        Ok(config)
    }
}

/// The endpoint that replaces AWS's for `service` (`S3`, `KINESIS`), if any.
pub(crate) fn endpoint(shared: &SharedRef, service: &str) -> Option<String> {
    setting(shared, &format!("AWS_ENDPOINT_URL_{service}")).or_else(|| setting(shared, "AWS_ENDPOINT_URL"))
}

/// What went wrong, in a line: the service's code and message (`NoSuchBucket: The
/// specified bucket does not exist`), else the chain of causes (`dispatch failure: io
/// error: ... Connection refused`).
pub(crate) fn error_text(error: impl ProvideErrorMetadata + std::error::Error) -> String {
    if let Some(code) = error.code() {
        return match error.message() {
            Some(message) => format!("{code}: {message}"),
            None => code.to_string(),
        };
    }
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        text = format!("{text}: {next}");
        cause = next.source();
    }
    text
}
