//! The injector keeping its own serving certificate, for installs without cert-manager.
//! The hook Jobs renew it only at `helm install`/`upgrade`: a cluster left alone past the
//! certificate's end would stop injecting, silently (the webhook fails open). So the
//! injector runs the same step itself, at start and every few hours, renewing once a
//! third of the certificate's life is left (as istiod and Vault's injector renew well
//! before the end). The CA is kept, so the caBundle stays valid; the new certificate
//! reaches the injector through its Secret mount, which it reloads.

use std::time::Duration;

use kube::Client;

use super::{install, InstallError, Options, Report};

/// Renewal is due with this many days left of a `cert_days` certificate: a third.
pub fn renew_before_days(cert_days: u32) -> u32 {
    (cert_days / 3).max(1)
}

/// Runs [`install`] now and then every `every`, forever, telling `on_run` each outcome
/// (a failure is tried again at the next turn).
pub async fn keep_renewed(client: Client, options: Options, every: Duration, mut on_run: impl FnMut(&Result<Report, InstallError>)) {
    loop {
        let result = install(client.clone(), &options).await;
        on_run(&result);
        tokio::time::sleep(every).await;
    }
}
