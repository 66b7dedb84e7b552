//! Pods as a kubelet runs them, with podman and runc: a Kubernetes pod spec (the
//! rendered chart's, or one the webhook patched) becomes a podman pod — one network
//! namespace — whose containers get exactly the spec's image, args, env (downward-API
//! values filled in as the kubelet fills them), securityContext, resources and volumes.
//!
//! Stand-ins, said where they are made: a native sidecar (an init container with
//! `restartPolicy: Always`) runs as a regular container of the pod, because podman 4.3
//! runs init containers to completion; a Service name is an `/etc/hosts` entry (the
//! cluster's DNS); the API server is the test's (its address in `KUBERNETES_SERVICE_*`
//! and the service-account volume, as the kubelet gives every pod).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine;
use serde_json::Value;

/// `podman` set up for this machine (scripts/images/containers.conf).
pub fn podman() -> Command {
    let mut command = Command::new("podman");
    command.env("CONTAINERS_CONF", crate::chart::repo().join("scripts/images/containers.conf"));
    command
}

/// Runs `podman ARGS`; panics with its stderr when it fails.
pub fn run<S: AsRef<str>>(args: &[S]) -> String {
    let args: Vec<&str> = args.iter().map(AsRef::as_ref).collect();
    let out = podman().args(&args).output().unwrap_or_else(|e| panic!("podman: {e} (bash scripts/setup.sh --test installs it)"));
    assert!(out.status.success(), "podman {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Panics, saying how to build them, unless every image exists locally.
pub fn require_images(images: &[&str]) {
    for image in images {
        let out = podman().args(["image", "exists", image]).output().expect("podman");
        assert!(out.status.success(), "image {image} is missing: build the images with `bash scripts/images.sh` (scripts/test.sh does)");
    }
}

/// A bridge network of the test's own, removed on drop.
pub struct Network {
    pub name: String,
    /// The first three octets (`198.18.7`): hosts are `{prefix}.N`, the bridge `.1`.
    pub prefix: String,
}

impl Network {
    /// A /24 of the benchmarking range 198.18.0.0/15, the first free one from an octet
    /// picked by the process id (test runs side by side, a crashed run's leftovers).
    pub fn create(name: &str) -> Network {
        let name = format!("{name}-{}", std::process::id());
        let _ = podman().args(["network", "rm", "-f", &name]).output();
        let start = std::process::id() % 200;
        let mut refusals = Vec::new();
        let prefix = (0..200)
            .map(|i| format!("198.18.{}", 16 + (start + i) % 200))
            .find(|prefix| {
                let out = podman().args(["network", "create", "--subnet", &format!("{prefix}.0/24"), "--gateway", &format!("{prefix}.1"), &name]).output().expect("podman");
                refusals.push(String::from_utf8_lossy(&out.stderr).into_owned());
                out.status.success()
            })
            .unwrap_or_else(|| panic!("no free /24 in 198.18.0.0/15 for a podman network: {}", refusals.last().map(String::as_str).unwrap_or_default()));
        // The bridge (and its address, where the test's servers listen) exists once a pod
        // is on it: a pod of only its pause container holds .254.
        let holder = format!("{name}-bridge");
        let _ = podman().args(["pod", "rm", "-f", &holder]).output();
        run(&["pod", "create", "--name", &holder, "--network", &name, "--ip", &format!("{prefix}.254")]);
        run(&["pod", "start", &holder]);
        Network { name, prefix }
    }

    pub fn host(&self, n: u8) -> String {
        format!("{}.{n}", self.prefix)
    }

    /// The bridge's address on this machine: where the test's own servers listen.
    pub fn gateway(&self) -> String {
        self.host(1)
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        let _ = podman().args(["pod", "rm", "-f", "-t", "1", &format!("{}-bridge", self.name)]).output();
        let _ = podman().args(["network", "rm", "-f", &self.name]).output();
    }
}

/// Where a pod runs and what the downward API says of it.
#[derive(Clone, Debug)]
pub struct Placement {
    pub name: String,
    pub namespace: String,
    pub ip: String,
    pub node: String,
    pub node_ip: String,
}

/// The API server the kubelet points pods at (`KUBERNETES_SERVICE_HOST`/`PORT`, and the
/// service-account volume: a token, the API's CA, the namespace).
#[derive(Clone, Debug)]
pub struct ApiAccess {
    pub host: String,
    pub port: u16,
    pub ca_pem: String,
    pub token: String,
}

/// The kubelet's side of running pods: volumes in a directory of the test's, objects
/// (ConfigMaps, Secrets) to fill them from, tokens for projected volumes.
pub struct Kubelet {
    pub dir: PathBuf,
    pub objects: Vec<Value>,
    pub api: Option<ApiAccess>,
    /// Projected service-account tokens by audience.
    pub tokens: BTreeMap<String, String>,
    /// Service names → addresses, as cluster DNS would answer.
    pub hosts: Vec<(String, String)>,
}

/// A running pod; removed (with its containers) on drop.
pub struct Pod {
    pub name: String,
    pub placement: Placement,
    pub containers: Vec<String>,
}

impl Pod {
    /// The podman name of the pod's container `container`.
    pub fn container(&self, container: &str) -> String {
        format!("{}-{container}", self.name)
    }

    pub fn logs(&self, container: &str) -> String {
        let out = podman().args(["logs", &self.container(container)]).output().expect("podman logs");
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    }

    /// `podman inspect` of one container (its state, its cgroup, ...).
    pub fn inspect(&self, container: &str) -> Value {
        let text = run(&["inspect", &self.container(container)]);
        let mut all: Value = serde_json::from_str(&text).expect("inspect prints JSON");
        all[0].take()
    }

    /// Panics with every container's log unless each is still running.
    pub fn assert_running(&self) {
        for container in &self.containers {
            let state = self.inspect(container);
            assert_eq!(state["State"]["Status"], "running", "{container} of {} stopped:\n{}", self.name, self.logs(container));
        }
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = podman().args(["pod", "rm", "-f", "-t", "2", &self.name]).output();
    }
}

impl Kubelet {
    /// Runs `spec` (a PodSpec) as a podman pod on `network`.
    pub fn run_pod(&self, network: &Network, spec: &Value, placement: &Placement) -> Pod {
        let name = format!("{}-{}", placement.name, std::process::id());
        let _ = podman().args(["pod", "rm", "-f", &name]).output();
        let mut create = vec!["pod".to_string(), "create".into(), "--name".into(), name.clone(), "--network".into(), network.name.clone(), "--ip".into(), placement.ip.clone(), "--hostname".into(), placement.name.clone()];
        for (host, ip) in &self.hosts {
            create.push(format!("--add-host={host}:{ip}"));
        }
        run(&create);
        let mut pod = Pod { name, placement: placement.clone(), containers: Vec::new() };
        let volumes = self.volumes(spec, placement);
        let mut order: Vec<&Value> = Vec::new();
        for init in spec["initContainers"].as_array().into_iter().flatten() {
            // podman runs init containers to completion: a native sidecar runs as a
            // regular container of the pod instead, started first as the kubelet does.
            assert_eq!(init["restartPolicy"], "Always", "init containers that run to completion are not used here");
            order.push(init);
        }
        order.extend(spec["containers"].as_array().into_iter().flatten());
        for container in order {
            let cname = container["name"].as_str().expect("container name").to_string();
            let args = self.container_args(&pod, spec, container, &volumes);
            run(&args);
            pod.containers.push(cname);
        }
        pod
    }

    /// Each volume of the spec, made on disk as the kubelet makes it; name → host path.
    fn volumes(&self, spec: &Value, placement: &Placement) -> BTreeMap<String, PathBuf> {
        let root = self.dir.join(&placement.name);
        let fs_group = spec["securityContext"]["fsGroup"].as_u64().map(|g| g as u32);
        let mut made = BTreeMap::new();
        for volume in spec["volumes"].as_array().into_iter().flatten() {
            let name = volume["name"].as_str().expect("volume name");
            let dir = root.join(name);
            std::fs::create_dir_all(&dir).expect("volume dir");
            if volume.get("emptyDir").is_some() {
                // 0777 as the kubelet makes it; with fsGroup, group-owned and setgid.
                set_mode(&dir, 0o777);
                if let Some(group) = fs_group {
                    chown(&dir, None, Some(group));
                    set_mode(&dir, 0o2777);
                }
            } else if let Some(source) = volume.get("configMap") {
                self.fill(&dir, "ConfigMap", source["name"].as_str().unwrap_or_default(), source["optional"] == true, fs_group);
            } else if let Some(source) = volume.get("secret") {
                self.fill(&dir, "Secret", source["secretName"].as_str().unwrap_or_default(), source["optional"] == true, fs_group);
            } else if let Some(projected) = volume.get("projected") {
                for source in projected["sources"].as_array().into_iter().flatten() {
                    let token = &source["serviceAccountToken"];
                    assert!(token.is_object(), "projected sources other than tokens are not made here: {source}");
                    let audience = token["audience"].as_str().unwrap_or("https://kubernetes.default.svc");
                    let value = self.tokens.get(audience).unwrap_or_else(|| panic!("no token for audience {audience}"));
                    write_file(&dir.join(token["path"].as_str().expect("path")), value.as_bytes(), fs_group);
                }
            } else {
                panic!("volume {name}: a kind the test kubelet does not make: {volume}");
            }
            made.insert(name.to_string(), dir);
        }
        if let (Some(api), false) = (&self.api, spec["automountServiceAccountToken"] == false) {
            let dir = root.join("kube-api-access");
            std::fs::create_dir_all(&dir).expect("mkdir");
            write_file(&dir.join("token"), api.token.as_bytes(), fs_group);
            write_file(&dir.join("ca.crt"), api.ca_pem.as_bytes(), fs_group);
            write_file(&dir.join("namespace"), placement.namespace.as_bytes(), fs_group);
            made.insert(KUBE_API_ACCESS.to_string(), dir);
        }
        made
    }

    /// A ConfigMap's or Secret's keys as files (mode 0644, the default `defaultMode`).
    fn fill(&self, dir: &Path, kind: &str, name: &str, optional: bool, fs_group: Option<u32>) {
        let object = self.objects.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name);
        let Some(object) = object else {
            assert!(optional, "{kind} {name} does not exist: the kubelet would not start the pod");
            return;
        };
        for (key, value) in object["data"].as_object().into_iter().flatten() {
            let text = value.as_str().unwrap_or_default();
            let bytes = match kind {
                "Secret" => base64::engine::general_purpose::STANDARD.decode(text).expect("Secret data is base64"),
                _ => text.as_bytes().to_vec(),
            };
            write_file(&dir.join(key), &bytes, fs_group);
        }
        for (key, value) in object["stringData"].as_object().into_iter().flatten() {
            write_file(&dir.join(key), value.as_str().unwrap_or_default().as_bytes(), fs_group);
        }
    }

    /// `podman run` for one container of the pod.
    fn container_args(&self, pod: &Pod, spec: &Value, container: &Value, volumes: &BTreeMap<String, PathBuf>) -> Vec<String> {
        let cname = container["name"].as_str().expect("name");
        let image = container["image"].as_str().expect("image");
        let mut args: Vec<String> = ["run", "-d", "--pull=never", "--pod", &pod.name, "--name", &pod.container(cname)].iter().map(|s| s.to_string()).collect();
        // Environment: the kubelet's service variables, then the spec's.
        let mut env: Vec<(String, String)> = Vec::new();
        if let (Some(api), true) = (&self.api, volumes.contains_key(KUBE_API_ACCESS)) {
            env.push(("KUBERNETES_SERVICE_HOST".into(), api.host.clone()));
            env.push(("KUBERNETES_SERVICE_PORT".into(), api.port.to_string()));
        }
        for var in container["env"].as_array().into_iter().flatten() {
            let name = var["name"].as_str().expect("env name").to_string();
            let value = match (&var["value"], &var["valueFrom"]["fieldRef"]["fieldPath"]) {
                (Value::String(value), _) => value.clone(),
                (_, Value::String(path)) => self.field(spec, &pod.placement, path),
                (Value::Null, Value::Null) if var.get("valueFrom").is_none() => String::new(),
                _ => panic!("env {name}: a source the test kubelet does not fill: {var}"),
            };
            env.push((name, value));
        }
        for (name, value) in env {
            args.push("--env".into());
            args.push(format!("{name}={value}"));
        }
        // securityContext: the container's over the pod's.
        let pod_security = &spec["securityContext"];
        let security = &container["securityContext"];
        let pick = |key: &str| if security.get(key).is_some() { security[key].clone() } else { pod_security[key].clone() };
        let user = pick("runAsUser").as_u64();
        let group = pick("runAsGroup").as_u64();
        if pick("runAsNonRoot") == true {
            let effective = user.map(|u| u.to_string()).unwrap_or_else(|| image_user(image));
            let uid = effective.split(':').next().unwrap_or_default();
            assert!(!uid.is_empty() && uid != "0" && uid != "root", "{cname}: runAsNonRoot, but it would run as root ({effective:?}): the kubelet would refuse to start it");
        }
        match (user, group) {
            (Some(u), Some(g)) => args.push(format!("--user={u}:{g}")),
            (Some(u), None) => args.push(format!("--user={u}")),
            (None, Some(g)) => args.push(format!("--user={}:{g}", image_user(image).split(':').next().unwrap_or("0"))),
            (None, None) => {}
        }
        if let Some(group) = pod_security["fsGroup"].as_u64() {
            args.push(format!("--group-add={group}"));
        }
        for group in pod_security["supplementalGroups"].as_array().into_iter().flatten() {
            args.push(format!("--group-add={group}"));
        }
        if security["readOnlyRootFilesystem"] == true {
            // A read-only root has no writable /tmp in Kubernetes either.
            args.push("--read-only".into());
            args.push("--read-only-tmpfs=false".into());
        }
        for cap in security["capabilities"]["drop"].as_array().into_iter().flatten() {
            args.push(format!("--cap-drop={}", cap.as_str().unwrap_or_default().to_ascii_lowercase()));
        }
        for cap in security["capabilities"]["add"].as_array().into_iter().flatten() {
            args.push(format!("--cap-add={}", cap.as_str().unwrap_or_default()));
        }
        if security["allowPrivilegeEscalation"] == false {
            args.push("--security-opt=no-new-privileges".into());
        }
        if security["privileged"] == true {
            args.push("--privileged".into());
        }
        // RuntimeDefault is podman's default seccomp profile; nothing else is used here.
        let seccomp = pick("seccompProfile");
        assert!(seccomp.is_null() || seccomp["type"] == "RuntimeDefault", "{cname}: seccomp {seccomp} is not made here");
        // Resources: the limits the kubelet sets on the container's cgroup.
        if let Some(memory) = container["resources"]["limits"]["memory"].as_str() {
            args.push(format!("--memory={}", quantity(memory) as u64));
        }
        if let Some(cpu) = container["resources"]["limits"]["cpu"].as_str() {
            args.push(format!("--cpus={}", quantity(cpu)));
        }
        for mount in container["volumeMounts"].as_array().into_iter().flatten() {
            let volume = mount["name"].as_str().expect("mount name");
            let host = volumes.get(volume).unwrap_or_else(|| panic!("{cname} mounts {volume}, which the pod does not have"));
            let mode = if mount["readOnly"] == true { "ro" } else { "rw" };
            args.push(format!("--volume={}:{}:{mode}", host.display(), mount["mountPath"].as_str().expect("mountPath")));
        }
        if let Some(dir) = volumes.get(KUBE_API_ACCESS) {
            args.push(format!("--volume={}:/var/run/secrets/kubernetes.io/serviceaccount:ro", dir.display()));
        }
        if let Some(dir) = container["workingDir"].as_str() {
            args.push(format!("--workdir={dir}"));
        }
        if let Some(command) = container["command"].as_array() {
            args.push(format!("--entrypoint={}", Value::Array(command.clone())));
        }
        args.push(image.to_string());
        args.extend(container["args"].as_array().into_iter().flatten().map(|a| a.as_str().expect("arg").to_string()));
        args
    }

    /// A downward-API field of the pod.
    fn field(&self, spec: &Value, placement: &Placement, path: &str) -> String {
        match path {
            "metadata.name" => placement.name.clone(),
            "metadata.namespace" => placement.namespace.clone(),
            "status.podIP" => placement.ip.clone(),
            "status.hostIP" => placement.node_ip.clone(),
            "spec.nodeName" => placement.node.clone(),
            "spec.serviceAccountName" => spec["serviceAccountName"].as_str().unwrap_or("default").to_string(),
            other => panic!("fieldRef {other} is not filled by the test kubelet"),
        }
    }
}

const KUBE_API_ACCESS: &str = "kube-api-access";

/// The user an image runs as (`USER`), or `0`.
fn image_user(image: &str) -> String {
    let user = run(&["image", "inspect", "--format", "{{.Config.User}}", image]).trim().to_string();
    if user.is_empty() { "0".into() } else { user }
}

/// A Kubernetes quantity (`256Mi`, `500m`, `1Gi`, `2`) as a number.
pub fn quantity(text: &str) -> f64 {
    let suffixes: [(&str, f64); 9] = [("Ki", 1024.0), ("Mi", 1048576.0), ("Gi", 1073741824.0), ("Ti", 1099511627776.0), ("k", 1e3), ("M", 1e6), ("G", 1e9), ("T", 1e12), ("m", 1e-3)];
    for (suffix, factor) in suffixes {
        if let Some(number) = text.strip_suffix(suffix) {
            return number.parse::<f64>().expect("quantity") * factor;
        }
    }
    text.parse().expect("quantity")
}

fn write_file(path: &Path, bytes: &[u8], fs_group: Option<u32>) {
    std::fs::write(path, bytes).expect("write volume file");
    set_mode(path, 0o644);
    if fs_group.is_some() {
        chown(path, None, fs_group);
    }
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn chown(path: &Path, user: Option<u32>, group: Option<u32>) {
    std::os::unix::fs::chown(path, user, group).expect("chown");
}

/// Runs a container to completion on `network` (a client, the CLI); its output.
pub fn run_once<S: AsRef<str>>(network: &Network, ip: &str, args: &[S]) -> Output {
    podman().args(["run", "--rm", "--pull=never", "--network", &network.name, "--ip", ip]).args(args.iter().map(AsRef::as_ref)).output().expect("podman run")
}
