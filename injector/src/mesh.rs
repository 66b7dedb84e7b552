//! Service meshes in the same pod (Istio, Linkerd). Their proxies redirect the pod's TCP
//! with iptables: the sidecar's own hub session would be sent through the mesh proxy (and
//! escape the capture's exclusion of it), the kubelet's probes of the sidecar's health
//! port would reach the proxy (and fail under strict mTLS), and a health port in the
//! mesh's reserved range would collide with the proxy's own. The mesh's webhook runs before
//! Remora's (the API server calls mutating webhooks in the order of their configurations'
//! names: `istio-sidecar-injector` and `linkerd-proxy-injector-webhook-config` sort before
//! `remora`), so its containers are in the pod we see. We exclude both ports from the
//! redirection in the two places a mesh reads them: its init container's arguments (the
//! iptables it sets up) and its annotations (what its CNI plugin reads when the pod's
//! network is set up, after admission), and tell the sidecar (`REMORA_MESH`) to capture
//! the plaintext on `lo`.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;

use k8s_openapi::api::core::v1::{Container, Pod};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mesh {
    Istio,
    Linkerd,
}

/// How one mesh is set up in a pod.
struct Shape {
    name: &'static str,
    /// `REMORA_MESH`'s value.
    code: &'static str,
    /// Its proxy container (regular, or a native sidecar).
    proxy: &'static str,
    /// An annotation its injector leaves on the pods it injected.
    injected_annotation: &'static str,
    /// The init container that sets up its iptables.
    init: &'static str,
    /// The init container's flags for ports left alone (outbound, inbound).
    init_flags: (&'static str, &'static str),
    /// The annotations its CNI plugin and injector read for the same.
    annotations: (&'static str, &'static str),
    /// Ports the mesh keeps for itself.
    reserved: RangeInclusive<u16>,
}

const ISTIO: Shape = Shape {
    name: "Istio",
    code: "istio",
    proxy: "istio-proxy",
    injected_annotation: "sidecar.istio.io/status",
    init: "istio-init",
    init_flags: ("-o", "-d"),
    annotations: ("traffic.sidecar.istio.io/excludeOutboundPorts", "traffic.sidecar.istio.io/excludeInboundPorts"),
    // Envoy's admin, listeners, the agent's health and telemetry, Envoy's Prometheus port.
    reserved: 15000..=15090,
};

const LINKERD: Shape = Shape {
    name: "Linkerd",
    code: "linkerd",
    proxy: "linkerd-proxy",
    injected_annotation: "linkerd.io/proxy-version",
    init: "linkerd-init",
    init_flags: ("--outbound-ports-to-ignore", "--inbound-ports-to-ignore"),
    annotations: ("config.linkerd.io/skip-outbound-ports", "config.linkerd.io/skip-inbound-ports"),
    reserved: 4140..=4191,
};

impl Mesh {
    fn shape(self) -> &'static Shape {
        match self {
            Mesh::Istio => &ISTIO,
            Mesh::Linkerd => &LINKERD,
        }
    }

    pub fn name(self) -> &'static str {
        self.shape().name
    }

    /// What `REMORA_MESH` says to the sidecar.
    pub fn code(self) -> &'static str {
        self.shape().code
    }

    pub fn reserved(self) -> RangeInclusive<u16> {
        self.shape().reserved.clone()
    }
}

fn containers(pod: &Pod) -> impl Iterator<Item = &Container> {
    pod.spec.iter().flat_map(|s| s.containers.iter().chain(s.init_containers.iter().flatten()))
}

/// The mesh whose proxy this pod already has.
pub fn detect(pod: &Pod) -> Option<Mesh> {
    let annotations = pod.metadata.annotations.as_ref();
    [Mesh::Istio, Mesh::Linkerd].into_iter().find(|mesh| {
        let shape = mesh.shape();
        containers(pod).any(|c| c.name == shape.proxy) || annotations.is_some_and(|a| a.contains_key(shape.injected_annotation))
    })
}

/// `list` (comma-separated ports) with `ports` added that were not in it.
fn with_ports(list: &str, ports: &[u16]) -> String {
    let mut items: Vec<String> = list.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_string).collect();
    for port in ports {
        if !items.iter().any(|p| p == &port.to_string()) {
            items.push(port.to_string());
        }
    }
    items.join(",")
}

/// Adds `ports` to the value of `flag` in `args` (`-o 1,2`, `--flag 1,2` or
/// `--flag=1,2`), or appends the flag.
fn add_to_flag(args: &mut Vec<String>, flag: &str, ports: &[u16]) {
    let joined = format!("{flag}=");
    if let Some(i) = args.iter().position(|a| a == flag) {
        match args.get_mut(i + 1) {
            Some(value) => *value = with_ports(value, ports),
            None => args.push(with_ports("", ports)),
        }
    } else if let Some(arg) = args.iter_mut().find(|a| a.starts_with(&joined)) {
        *arg = format!("{joined}{}", with_ports(&arg[joined.len()..], ports));
    } else {
        args.push(flag.to_string());
        args.push(with_ports("", ports));
    }
}

/// Keeps `outbound` (the hub's port) and `inbound` (the health port) out of the mesh's
/// redirection in `pod` (the parts of it the patch changes); returns what was done.
pub fn exclude_ports(pod: &mut Pod, mesh: Mesh, outbound: u16, inbound: u16) -> Vec<String> {
    let shape = mesh.shape();
    let mut done = Vec::new();
    let annotations = pod.metadata.annotations.get_or_insert_with(BTreeMap::new);
    for (key, port) in [(shape.annotations.0, outbound), (shape.annotations.1, inbound)] {
        let value = with_ports(annotations.get(key).map(String::as_str).unwrap_or_default(), &[port]);
        annotations.insert(key.to_string(), value);
        done.push(format!("{key} has {port}"));
    }
    let init = pod.spec.as_mut().and_then(|s| s.init_containers.as_mut()).and_then(|inits| inits.iter_mut().find(|c| c.name == shape.init));
    if let Some(init) = init {
        // istio-init puts its flags in `args`; some templates put the whole command there.
        let args = match (&mut init.args, &mut init.command) {
            (Some(args), _) if !args.is_empty() => args,
            (_, Some(command)) if command.len() > 1 => command,
            (args, _) => args.get_or_insert_with(Vec::new),
        };
        add_to_flag(args, shape.init_flags.0, &[outbound]);
        add_to_flag(args, shape.init_flags.1, &[inbound]);
        done.push(format!("{}'s {} and {}", shape.init, shape.init_flags.0, shape.init_flags.1));
    }
    done
}

/// Takes `ports` back out of the mesh's settings in a pod (or pod template) as JSON: its
/// annotations (dropped when nothing is left) and its init container's flags (`remora
/// uninject`). `code` is the mesh's `REMORA_MESH` value, as the status records it.
pub fn restore_ports(pod: &mut serde_json::Value, code: &str, ports: [u64; 2]) {
    let Some(shape) = [&ISTIO, &LINKERD].into_iter().find(|s| s.code == code) else { return };
    let without = |list: &str| -> String { list.split(',').map(str::trim).filter(|p| !p.is_empty() && !ports.iter().any(|port| port.to_string() == *p)).collect::<Vec<_>>().join(",") };
    // `pointer_mut`, not indexing: indexing a missing key would add it as null.
    if let Some(annotations) = pod.pointer_mut("/metadata/annotations").and_then(|a| a.as_object_mut()) {
        for key in [shape.annotations.0, shape.annotations.1] {
            let Some(value) = annotations.get(key).and_then(|v| v.as_str()).map(without) else { continue };
            if value.is_empty() {
                annotations.remove(key);
            } else {
                annotations.insert(key.into(), value.into());
            }
        }
    }
    let inits = pod.pointer_mut("/spec/initContainers").and_then(|i| i.as_array_mut()).into_iter().flatten();
    for init in inits.filter(|c| c["name"] == shape.init) {
        for list in ["args", "command"] {
            let Some(args) = init.get_mut(list).and_then(|a| a.as_array_mut()) else { continue };
            let mut i = 0;
            while i < args.len() {
                let arg = args[i].as_str().unwrap_or_default().to_string();
                let joined = [shape.init_flags.0, shape.init_flags.1].into_iter().find(|f| arg.starts_with(&format!("{f}=")));
                if [shape.init_flags.0, shape.init_flags.1].contains(&arg.as_str()) && i + 1 < args.len() {
                    let value = without(args[i + 1].as_str().unwrap_or_default());
                    if value.is_empty() {
                        args.drain(i..i + 2);
                        continue;
                    }
                    args[i + 1] = value.into();
                    i += 2;
                } else if let Some(flag) = joined {
                    let value = without(&arg[flag.len() + 1..]);
                    if value.is_empty() {
                        args.remove(i);
                        continue;
                    }
                    args[i] = format!("{flag}={value}").into();
                    i += 1;
                } else {
                    i += 1;
                }
            }
        }
    }
}

/// The port of the hub address (`wss://host:port`, `host:port`), or the scheme's.
pub fn hub_port(address: &str) -> u16 {
    let (scheme, rest) = address.split_once("://").unwrap_or(("ws", address));
    let authority = rest.split('/').next().unwrap_or_default();
    // `[fd00::1]` alone has colons but no port: a port follows the last colon, after `]`.
    let port = authority.rsplit_once(':').filter(|(_, p)| !p.ends_with(']')).and_then(|(_, p)| p.parse().ok());
    port.unwrap_or(if scheme == "wss" || scheme == "https" { 443 } else { 80 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_gain_ports_in_each_form() {
        let mut args: Vec<String> = ["istio-iptables", "-p", "15001", "-d", "15090,15021,15020", "--log_output_level=default:info"].map(String::from).to_vec();
        add_to_flag(&mut args, "-d", &[15091]);
        add_to_flag(&mut args, "-o", &[8898]);
        assert_eq!(args, ["istio-iptables", "-p", "15001", "-d", "15090,15021,15020,15091", "--log_output_level=default:info", "-o", "8898"]);
        let mut args: Vec<String> = vec!["--outbound-ports-to-ignore=443,4567".into()];
        add_to_flag(&mut args, "--outbound-ports-to-ignore", &[8898, 443]);
        assert_eq!(args, ["--outbound-ports-to-ignore=443,4567,8898"]);
    }

    #[test]
    fn hub_ports_come_from_the_address_or_its_scheme() {
        assert_eq!(hub_port("wss://remora-hub.remora.svc:8898"), 8898);
        assert_eq!(hub_port("wss://remora-hub.remora.svc/ws"), 443);
        assert_eq!(hub_port("remora-hub:9000"), 9000);
        assert_eq!(hub_port("ws://[fd00::1]:7000"), 7000);
    }
}
