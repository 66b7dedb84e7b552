//! `remora-injector`: the mutating admission webhook that adds Remora's capture sidecar
//! to the pods of opted-in namespaces.
//!
//! Layers, from the inside out: [`inject`] decides and builds the JSON patch (pure);
//! [`review`] turns AdmissionReview bytes into a response that always admits the pod;
//! [`server`] serves it over TLS with certificate reload, health and metrics.

pub mod annotations;
pub mod bpf;
pub mod inject;
pub mod limit_range;
pub mod manifest;
pub mod mesh;
pub mod namespaces;
pub mod nodes;
mod pod_security;
pub mod pod_shape;
pub use remora_model::quantity;
pub mod reason;
pub mod review;
pub mod server;
pub mod settings;
pub mod sidecar;

pub use inject::{Injector, NamespaceInfo, Outcome, Report};
pub use reason::SkipReason;
pub use settings::Settings;
