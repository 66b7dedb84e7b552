//! `sidecar.mode: auto`: follows the cluster's nodes (list, then watch) and the API
//! server's version, and tells the injector whether native sidecars run on every node
//! (remora_model::native_sidecars). A node added with an old kubelet turns new pods'
//! sidecars classic from then on; the choice is logged when it changes and shown in
//! `remora_injector_native_sidecars`.

use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::StreamExt;
use k8s_openapi::api::core::v1::Node;
use kube::runtime::{watcher, WatchStreamExt};
use kube::Api;
use remora_model::native_sidecars::{support, Support};

/// How often the API server's version is asked again (an upgrade of the control plane).
const VERSION_EVERY: Duration = Duration::from_secs(600);

/// Runs until the process ends, calling `decided` with each new decision.
pub async fn follow(client: kube::Client, decided: impl Fn(Support) + Send + 'static) {
    let mut api_version: Option<String> = None;
    let mut asked = None::<tokio::time::Instant>;
    let mut kubelets: BTreeMap<String, String> = BTreeMap::new();
    let mut listing: BTreeMap<String, String> = BTreeMap::new();
    let mut last: Option<Support> = None;
    let mut events = watcher(Api::<Node>::all(client.clone()), watcher::Config::default()).default_backoff().boxed();
    while let Some(event) = events.next().await {
        let changed = match event {
            Ok(watcher::Event::Init) => {
                listing.clear();
                false
            }
            Ok(watcher::Event::InitApply(node)) => {
                listing.insert(name(&node), kubelet(&node));
                false
            }
            Ok(watcher::Event::InitDone) => {
                kubelets = std::mem::take(&mut listing);
                true
            }
            Ok(watcher::Event::Apply(node)) => {
                let version = kubelet(&node);
                kubelets.insert(name(&node), version.clone()) != Some(version)
            }
            Ok(watcher::Event::Delete(node)) => kubelets.remove(&name(&node)).is_some(),
            Err(e) => {
                tracing::warn!("watching nodes failed, retrying: {e}");
                false
            }
        };
        if asked.is_none_or(|at| at.elapsed() >= VERSION_EVERY) {
            match client.apiserver_version().await {
                Ok(info) => api_version = Some(info.git_version),
                Err(e) => tracing::warn!("the API server's version could not be read: {e}"),
            }
            asked = Some(tokio::time::Instant::now());
        }
        // Decided once the first list is whole, then on each change.
        if !changed {
            continue;
        }
        let nodes: Vec<(String, String)> = kubelets.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
        let now = support(api_version.as_deref(), &nodes);
        if last.as_ref() != Some(&now) {
            tracing::info!(native = now.native, "sidecar mode auto: {} ({})", if now.native { "native" } else { "classic" }, now.reason);
            decided(now.clone());
            last = Some(now);
        }
    }
}

fn name(node: &Node) -> String {
    node.metadata.name.clone().unwrap_or_default()
}

fn kubelet(node: &Node) -> String {
    node.status.as_ref().and_then(|s| s.node_info.as_ref()).map(|i| i.kubelet_version.clone()).unwrap_or_default()
}
