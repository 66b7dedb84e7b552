//! Which interfaces of the pod's network namespace to capture.

use pcap::{ConnectionStatus, Device};

/// `all`: every interface but loopback and libpcap's pseudo-devices (`any`, nflog,
/// nfqueue, D-Bus, ...), which report no connection status; loopback too with
/// `with_loopback` (a mesh's plaintext is there). Otherwise the named ones, `lo` included
/// when named.
pub fn select(spec: &str, with_loopback: bool) -> Result<Vec<Device>, String> {
    let devices = Device::list().map_err(|e| format!("libpcap cannot list interfaces: {e}"))?;
    let spec = spec.trim();
    if spec.is_empty() || spec == "all" {
        let chosen: Vec<Device> = devices
            .into_iter()
            .filter(|d| with_loopback || !d.flags.is_loopback())
            .filter(|d| d.flags.is_loopback() || d.flags.connection_status != ConnectionStatus::NotApplicable)
            .filter(|d| d.name != "any")
            .collect();
        if chosen.is_empty() {
            return Err("no interface to capture besides loopback".into());
        }
        return Ok(chosen);
    }
    let mut chosen = Vec::new();
    for name in spec.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        match devices.iter().find(|d| d.name == name) {
            Some(device) => chosen.push(device.clone()),
            None => {
                let known: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
                return Err(format!("no interface {name:?} here (there are: {})", known.join(", ")));
            }
        }
    }
    Ok(chosen)
}
