//! The `remora.dev/*` annotations: one typed parser per key. Settings give the defaults,
//! namespace annotations override them, pod annotations override those. A bad value is
//! ignored for the value below it and named in a warning; the pod is always admitted.

use std::collections::BTreeMap;

use crate::settings::SidecarDefaults;
use crate::{bpf, quantity};

pub const PREFIX: &str = "remora.dev/";
/// `"false"` opts a pod out (label or annotation); the namespace label
/// `remora.dev/inject=enabled` opts a namespace in.
pub const INJECT: &str = "remora.dev/inject";
/// Written by the injector: what it injected, so reinvocation changes nothing.
pub const STATUS: &str = "remora.dev/status";
/// The label the injector puts on the pods it injects (value `true`): the chart's
/// NetworkPolicy lets only those pods reach the hub's sidecar port.
pub const INJECTED: &str = "remora.dev/injected";

/// Protocol names the sidecar's dissectors answer to.
pub const PROTOCOLS: &[&str] = &remora_model::PROTOCOL_NAMES;

const MAX_LIST: usize = 64;

/// Native sidecar (an init container that keeps running) or a classic extra container;
/// `Auto` is native where the cluster runs native sidecars, decided per pod by the injector
/// (remora_model::native_sidecars).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SidecarMode {
    #[default]
    Auto,
    Native,
    Classic,
}

/// Everything the sidecar of one pod is told, after defaults and annotations.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SidecarConfig {
    pub capture_filter: String,
    /// `all` (every interface but loopback) or a comma list.
    pub interfaces: String,
    /// `all` or a comma list of [`PROTOCOLS`].
    pub protocols: String,
    /// `all`, `none` or a comma list of script file names.
    pub scripts: String,
    pub cpu_request: String,
    pub cpu_limit: String,
    pub memory_request: String,
    pub memory_limit: String,
    /// As written (`512Mi`) and in bytes.
    pub pcap_retention: String,
    pub pcap_retention_bytes: u64,
    /// Item field paths to redact, comma separated.
    pub redact: String,
    pub mode: SidecarMode,
    pub log_level: String,
    /// The hub's WebSocket URL.
    pub hub_address: String,
    /// The smallest `ephemeral-storage` max of the namespace's LimitRanges: a data volume
    /// larger than it is not asked as ephemeral storage (the pod would be refused).
    pub ephemeral_storage_max: Option<f64>,
}

/// One per-pod setting: its annotation, its default in the settings file, how a value is
/// parsed into the config, and how the value in force is shown when a bad one is ignored.
struct Key {
    suffix: &'static str,
    default: fn(&SidecarDefaults) -> &str,
    apply: fn(&mut SidecarConfig, &str) -> Result<(), String>,
    shown: fn(&SidecarConfig) -> String,
    what: &'static str,
}

const KEYS: &[Key] = &[
    Key {
        suffix: "capture-filter",
        default: |d| &d.capture_filter,
        apply: |c, v| {
            bpf::check(v)?;
            c.capture_filter = v.trim().to_string();
            Ok(())
        },
        shown: |c| c.capture_filter.clone(),
        what: "BPF capture filter (tcpdump syntax)",
    },
    Key {
        suffix: "interfaces",
        default: |d| &d.interfaces,
        apply: |c, v| {
            c.interfaces = parse_list(v, &["all"], check_interface)?;
            Ok(())
        },
        shown: |c| c.interfaces.clone(),
        what: "interfaces to capture: all (every one but lo) or names, comma separated",
    },
    Key {
        suffix: "protocols",
        default: |d| &d.protocols,
        apply: |c, v| {
            c.protocols = parse_list(v, &["all"], check_protocol)?;
            Ok(())
        },
        shown: |c| c.protocols.clone(),
        what: "protocols to dissect: all or a comma list",
    },
    Key {
        suffix: "scripts",
        default: |d| &d.scripts,
        apply: |c, v| {
            c.scripts = parse_list(v, &["all", "none"], check_script)?;
            Ok(())
        },
        shown: |c| c.scripts.clone(),
        what: "scripts to run: all, none or file names, comma separated",
    },
    Key {
        suffix: "cpu-request",
        default: |d| &d.cpu_request,
        apply: |c, v| positive_quantity(v).map(|q| c.cpu_request = q),
        shown: |c| c.cpu_request.clone(),
        what: "sidecar CPU request",
    },
    Key {
        suffix: "cpu-limit",
        default: |d| &d.cpu_limit,
        apply: |c, v| positive_quantity(v).map(|q| c.cpu_limit = q),
        shown: |c| c.cpu_limit.clone(),
        what: "sidecar CPU limit",
    },
    Key {
        suffix: "memory-request",
        default: |d| &d.memory_request,
        apply: |c, v| positive_quantity(v).map(|q| c.memory_request = q),
        shown: |c| c.memory_request.clone(),
        what: "sidecar memory request",
    },
    Key {
        suffix: "memory-limit",
        default: |d| &d.memory_limit,
        apply: |c, v| positive_quantity(v).map(|q| c.memory_limit = q),
        shown: |c| c.memory_limit.clone(),
        what: "sidecar memory limit",
    },
    Key {
        suffix: "pcap-retention",
        default: |d| &d.pcap_retention,
        apply: |c, v| {
            let bytes = quantity::parse(v)?;
            if !(8.0 * 1024.0 * 1024.0..=1024f64.powi(4)).contains(&bytes) {
                return Err(format!("{v:?} is outside 8Mi..1Ti"));
            }
            c.pcap_retention = v.to_string();
            c.pcap_retention_bytes = bytes as u64;
            Ok(())
        },
        shown: |c| c.pcap_retention.clone(),
        what: "disk kept for per-stream PCAP files (oldest deleted first)",
    },
    Key {
        suffix: "redact",
        default: |d| &d.redact,
        apply: |c, v| {
            c.redact = parse_list(v, &[], check_field_path)?;
            Ok(())
        },
        shown: |c| c.redact.clone(),
        what: "item fields to redact, comma separated",
    },
    Key {
        suffix: "sidecar-mode",
        default: |d| &d.sidecar_mode,
        apply: |c, v| {
            c.mode = match v.trim() {
                "auto" => SidecarMode::Auto,
                "native" => SidecarMode::Native,
                "classic" => SidecarMode::Classic,
                _ => return Err(format!("{v:?} is not auto, native or classic")),
            };
            Ok(())
        },
        shown: |c| match c.mode {
            SidecarMode::Auto => "auto".into(),
            SidecarMode::Native => "native".into(),
            SidecarMode::Classic => "classic".into(),
        },
        what: "auto (native where every kubelet runs native sidecars), native (init container with restartPolicy Always) or classic",
    },
    Key {
        suffix: "log-level",
        default: |d| &d.log_level,
        apply: |c, v| {
            let level = v.trim().to_ascii_lowercase();
            if !remora_model::LOG_LEVELS.contains(&level.as_str()) {
                return Err(format!("{v:?} is not one of {}", remora_model::LOG_LEVELS.join(", ")));
            }
            c.log_level = level;
            Ok(())
        },
        shown: |c| c.log_level.clone(),
        what: "sidecar log level",
    },
    Key {
        suffix: "hub-address",
        default: |d| &d.hub_address,
        apply: |c, v| {
            c.hub_address = parse_hub_address(v)?;
            Ok(())
        },
        shown: |c| c.hub_address.clone(),
        what: "the hub: host:port or a ws:// or wss:// URL",
    },
];

/// Every per-pod annotation with what it sets, for docs and `--help`.
pub fn documented_keys() -> impl Iterator<Item = (String, &'static str)> {
    KEYS.iter().map(|k| (format!("{PREFIX}{}", k.suffix), k.what))
}

/// Where an annotation came from, for the warning.
#[derive(Debug, Clone, Copy)]
pub enum Layer<'a> {
    Namespace(&'a str),
    Pod,
}

impl std::fmt::Display for Layer<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Layer::Namespace(name) => write!(f, "namespace {name}"),
            Layer::Pod => f.write_str("pod"),
        }
    }
}

impl SidecarConfig {
    /// The injector's defaults; a bad default is an error at start-up, not per pod.
    pub fn from_defaults(d: &SidecarDefaults) -> Result<SidecarConfig, String> {
        let mut config = SidecarConfig::default();
        for key in KEYS {
            (key.apply)(&mut config, (key.default)(d)).map_err(|e| format!("sidecar default {}: {e}", key.suffix))?;
        }
        let mut warnings = Vec::new();
        config.reconcile_resources(&mut warnings);
        match warnings.first() {
            Some(w) => Err(format!("sidecar defaults: {w}")),
            None => Ok(config),
        }
    }

    /// Applies the `remora.dev/*` entries of `annotations`; bad values and unknown keys
    /// become warnings.
    pub fn apply_layer(
        &mut self,
        annotations: &BTreeMap<String, String>,
        layer: Layer<'_>,
        warnings: &mut Vec<String>,
    ) {
        for (name, value) in annotations {
            let Some(suffix) = name.strip_prefix(PREFIX) else {
                continue;
            };
            if name == INJECT || name == STATUS {
                continue;
            }
            match KEYS.iter().find(|k| k.suffix == suffix) {
                Some(key) => {
                    if let Err(e) = (key.apply)(self, value) {
                        warnings.push(format!(
                            "{name} on {layer}: {e}; using {:?}",
                            (key.shown)(self)
                        ));
                    }
                }
                None => warnings.push(unknown_key(name, layer)),
            }
        }
    }

    /// Requests above limits would get the pod rejected: lower the request to the limit.
    pub fn reconcile_resources(&mut self, warnings: &mut Vec<String>) {
        for (request, limit, what) in [
            (&mut self.cpu_request, &self.cpu_limit, "cpu"),
            (&mut self.memory_request, &self.memory_limit, "memory"),
        ] {
            let (Ok(r), Ok(l)) = (quantity::parse(request), quantity::parse(limit)) else {
                continue;
            };
            if r > l {
                warnings.push(format!(
                    "{PREFIX}{what}-request {request} is above the {what} limit {limit}; using {limit} for both"
                ));
                *request = limit.clone();
            }
        }
    }
}

fn unknown_key(name: &str, layer: Layer<'_>) -> String {
    let suffix = &name[PREFIX.len()..];
    let nearest = KEYS
        .iter()
        .map(|k| (strsim::levenshtein(k.suffix, suffix), k.suffix))
        .min();
    match nearest {
        Some((distance, best)) if distance <= 3 => {
            format!("{name} on {layer} is not a Remora annotation (did you mean {PREFIX}{best}?); ignored")
        }
        _ => format!("{name} on {layer} is not a Remora annotation; ignored"),
    }
}

fn positive_quantity(v: &str) -> Result<String, String> {
    let q = quantity::parse(v)?;
    if q <= 0.0 {
        return Err(format!("{v:?} must be above zero"));
    }
    Ok(v.to_string())
}

/// A comma list checked item by item, or one of `words` alone; canonical spelling out.
fn parse_list(v: &str, words: &[&str], check: fn(&str) -> Result<(), String>) -> Result<String, String> {
    let v = v.trim();
    if words.contains(&v) {
        return Ok(v.to_string());
    }
    let items: Vec<&str> = v.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    if items.is_empty() && !words.is_empty() {
        return Err(format!("it is empty; use {}", words.join(" or ")));
    }
    if items.len() > MAX_LIST {
        return Err(format!("{} entries; at most {MAX_LIST}", items.len()));
    }
    for item in &items {
        check(item)?;
    }
    Ok(items.join(","))
}

fn check_interface(name: &str) -> Result<(), String> {
    let ok = name.len() <= 15
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not an interface name (at most 15 letters, digits, _-.:@)"))
    }
}

fn check_protocol(name: &str) -> Result<(), String> {
    if PROTOCOLS.contains(&name) {
        Ok(())
    } else {
        Err(format!("{name:?} is not a protocol Remora dissects ({})", PROTOCOLS.join(", ")))
    }
}

fn check_script(name: &str) -> Result<(), String> {
    let ok = name.len() <= 253
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not a script file name (letters, digits, _-.)"))
    }
}

/// A field the sidecar can redact (remora_model::redact says which).
fn check_field_path(path: &str) -> Result<(), String> {
    remora_model::redact::Redaction::parse(path).map(|_| ()).map_err(|e| e.to_string())
}

/// `host:port` or a `ws://`/`wss://` URL, normalised to a URL.
fn parse_hub_address(v: &str) -> Result<String, String> {
    let v = v.trim();
    let bad = |why: &str| format!("{v:?} is not a hub address ({why}; write host:port or wss://host:port)");
    let url = if v.contains("://") { v.to_string() } else { format!("ws://{v}") };
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
    match uri.scheme_str() {
        Some("ws" | "wss") => {}
        _ => return Err(bad("the scheme must be ws or wss")),
    }
    let Some(authority) = uri.authority() else {
        return Err(bad("no host"));
    };
    if authority.host().is_empty() || authority.as_str().contains('@') {
        return Err(bad("no host"));
    }
    if authority.port_u16() == Some(0) {
        return Err(bad("port 0"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> SidecarConfig {
        SidecarConfig::from_defaults(&SidecarDefaults::default()).expect("defaults are valid")
    }

    fn apply(pairs: &[(&str, &str)]) -> (SidecarConfig, Vec<String>) {
        let mut config = defaults();
        let mut warnings = Vec::new();
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        config.apply_layer(&map, Layer::Pod, &mut warnings);
        config.reconcile_resources(&mut warnings);
        (config, warnings)
    }

    #[test]
    fn good_values_are_taken() {
        let (c, w) = apply(&[
            ("remora.dev/capture-filter", "tcp port 8080"),
            ("remora.dev/interfaces", "eth0, lo"),
            ("remora.dev/protocols", "http,dns"),
            ("remora.dev/scripts", "none"),
            ("remora.dev/memory-limit", "1Gi"),
            ("remora.dev/pcap-retention", "2Gi"),
            ("remora.dev/redact", "request.headers.authorization"),
            ("remora.dev/sidecar-mode", "classic"),
            ("remora.dev/log-level", "DEBUG"),
            ("remora.dev/hub-address", "hub.remora:9000"),
        ]);
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(c.capture_filter, "tcp port 8080");
        assert_eq!(c.interfaces, "eth0,lo");
        assert_eq!(c.protocols, "http,dns");
        assert_eq!(c.scripts, "none");
        assert_eq!(c.memory_limit, "1Gi");
        assert_eq!(c.pcap_retention_bytes, 2 << 30);
        assert_eq!(c.mode, SidecarMode::Classic);
        assert_eq!(c.log_level, "debug");
        assert_eq!(c.hub_address, "ws://hub.remora:9000");
    }

    #[test]
    fn bad_values_fall_back_and_are_named() {
        let (c, w) = apply(&[
            ("remora.dev/capture-filter", "tcp port eighty"),
            ("remora.dev/protocols", "http,gopher"),
            ("remora.dev/cpu-limit", "lots"),
            ("remora.dev/sidecar-mode", "sideways"),
            ("remora.dev/hub-address", "http://hub:80"),
            ("remora.dev/captur-filter", "tcp"),
            ("remora.dev/memory-request", "2Gi"),
        ]);
        assert_eq!(c, {
            let mut d = defaults();
            d.memory_request = d.memory_limit.clone();
            d
        });
        let text = w.join("\n");
        for needle in [
            "remora.dev/capture-filter on pod: libpcap rejects it",
            "\"gopher\" is not a protocol",
            "remora.dev/cpu-limit on pod: \"lots\" is not a Kubernetes quantity",
            "using \"500m\"",
            "\"sideways\" is not auto, native or classic",
            "the scheme must be ws or wss",
            "did you mean remora.dev/capture-filter?",
            "memory-request 2Gi is above the memory limit 256Mi",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert_eq!(w.len(), 7, "{text}");
    }

    #[test]
    fn bad_defaults_stop_the_injector() {
        let d = SidecarDefaults {
            memory_limit: "big".into(),
            ..SidecarDefaults::default()
        };
        let err = SidecarConfig::from_defaults(&d).expect_err("bad default");
        assert!(err.contains("memory-limit"), "{err}");
    }
}
