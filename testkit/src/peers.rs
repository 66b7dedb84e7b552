//! Real local servers of the vendors' APIs, from PyPI (`bash scripts/setup.sh --test`):
//! moto (S3, Kinesis), gcp-storage-emulator (GCS), fakellm (OpenAI-compatible). Each
//! listens on a free loopback port and is killed on drop. Plus `Silent`, a server that
//! accepts connections and never answers, for timeouts.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// A free loopback port (bound, noted, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

struct Peer {
    child: Child,
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `program` and waits until `probe` (a URL) answers, for up to 30 s.
fn start(program: &str, args: &[String], probe: &str) -> Peer {
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e} (install the test peers: bash scripts/setup.sh --test)"));
    let peer = Peer { child };
    let deadline = Instant::now() + Duration::from_secs(30);
    while blocking_get(probe).is_err() {
        assert!(Instant::now() < deadline, "{program} did not answer at {probe} within 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
    peer
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

fn blocking_get(url: &str) -> Result<(u16, Vec<u8>), String> {
    send(reqwest::Client::new().get(url))
}

fn send(request: reqwest::RequestBuilder) -> Result<(u16, Vec<u8>), String> {
    runtime().block_on(async {
        let response = request.timeout(Duration::from_secs(10)).send().await.map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        Ok((status, response.bytes().await.map_err(|e| e.to_string())?.to_vec()))
    })
}

/// moto picks the service (and allows object reads) from the credential scope of a
/// request's authorization; it does not check the signature.
fn as_aws(request: reqwest::RequestBuilder, service: &str) -> reqwest::RequestBuilder {
    request.header("Authorization", format!("AWS4-HMAC-SHA256 Credential=AKIATEST/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"))
}

/// moto's server: S3 and Kinesis (any credentials; region us-east-1 unless signed for another).
pub struct Moto {
    pub endpoint: String,
    _peer: Peer,
}

impl Moto {
    pub fn start() -> Moto {
        let port = free_port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let peer = start("moto_server", &["-H".into(), "127.0.0.1".into(), "-p".into(), port.to_string()], &format!("{endpoint}/moto-api/"));
        Moto { endpoint, _peer: peer }
    }

    pub fn create_bucket(&self, bucket: &str) {
        let (status, body) = send(as_aws(reqwest::Client::new().put(format!("{}/{bucket}", self.endpoint)), "s3")).expect("create bucket");
        assert_eq!(status, 200, "create bucket {bucket}: {}", String::from_utf8_lossy(&body));
    }

    /// The bucket's keys, in order.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let (status, body) = send(as_aws(reqwest::Client::new().get(format!("{}/{bucket}?list-type=2", self.endpoint)), "s3")).expect("list");
        assert_eq!(status, 200, "list {bucket}");
        let text = String::from_utf8_lossy(&body);
        text.split("<Key>").skip(1).filter_map(|part| part.split("</Key>").next()).map(str::to_string).collect()
    }

    /// Deletes every object of the bucket.
    pub fn empty(&self, bucket: &str) {
        for key in self.keys(bucket) {
            let (status, _) = send(as_aws(reqwest::Client::new().delete(format!("{}/{bucket}/{key}", self.endpoint)), "s3")).expect("delete");
            assert_eq!(status, 204, "delete {bucket}/{key}");
        }
    }

    /// Puts an object (a test's starting state).
    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        let (status, answer) = send(as_aws(reqwest::Client::new().put(format!("{}/{bucket}/{key}", self.endpoint)).body(body.to_vec()), "s3")).expect("put");
        assert_eq!(status, 200, "put {bucket}/{key}: {}", String::from_utf8_lossy(&answer));
    }

    pub fn object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let (status, body) = send(as_aws(reqwest::Client::new().get(format!("{}/{bucket}/{key}", self.endpoint)), "s3")).ok()?;
        (status == 200).then_some(body)
    }

    fn kinesis(&self, target: &str, body: Value) -> Value {
        let request = as_aws(reqwest::Client::new().post(&self.endpoint), "kinesis")
            .header("X-Amz-Target", format!("Kinesis_20131202.{target}"))
            .header("Content-Type", "application/x-amz-json-1.1")
            .body(body.to_string());
        let (status, body) = send(request).expect("kinesis");
        assert_eq!(status, 200, "kinesis {target}: {}", String::from_utf8_lossy(&body));
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    }

    pub fn create_stream(&self, stream: &str) {
        self.kinesis("CreateStream", serde_json::json!({ "StreamName": stream, "ShardCount": 1 }));
    }

    /// (partition key, data) of every record of the stream's one shard.
    pub fn records(&self, stream: &str) -> Vec<(String, Vec<u8>)> {
        use base64::Engine;
        let shards = self.kinesis("ListShards", serde_json::json!({ "StreamName": stream }));
        let shard = shards["Shards"][0]["ShardId"].as_str().expect("a shard").to_string();
        let iterator = self.kinesis("GetShardIterator", serde_json::json!({ "StreamName": stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON" }));
        let records = self.kinesis("GetRecords", serde_json::json!({ "ShardIterator": iterator["ShardIterator"] }));
        records["Records"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|r| {
                let data = base64::engine::general_purpose::STANDARD.decode(r["Data"].as_str().unwrap_or("")).expect("base64 data");
                (r["PartitionKey"].as_str().unwrap_or("").to_string(), data)
            })
            .collect()
    }
}

/// gcp-storage-emulator, in memory, with one bucket.
pub struct GcsEmulator {
    pub endpoint: String,
    _peer: Peer,
}

impl GcsEmulator {
    pub fn start(bucket: &str) -> GcsEmulator {
        let port = free_port();
        let endpoint = format!("http://127.0.0.1:{port}");
        let args = ["start", "--host", "127.0.0.1", "--port", &port.to_string(), "--in-memory", "--default-bucket", bucket].map(str::to_string);
        let peer = start("gcp-storage-emulator", &args, &format!("{endpoint}/storage/v1/b/{bucket}"));
        GcsEmulator { endpoint, _peer: peer }
    }

    /// The bucket's object names.
    pub fn names(&self, bucket: &str) -> Vec<String> {
        let (status, body) = blocking_get(&format!("{}/storage/v1/b/{bucket}/o", self.endpoint)).expect("list");
        assert_eq!(status, 200, "list {bucket}");
        let list: Value = serde_json::from_slice(&body).expect("JSON list");
        list["items"].as_array().into_iter().flatten().filter_map(|i| i["name"].as_str().map(str::to_string)).collect()
    }

    pub fn object(&self, bucket: &str, name: &str) -> Option<Vec<u8>> {
        let encoded: String = name.bytes().map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
        let (status, body) = blocking_get(&format!("{}/download/storage/v1/b/{bucket}/o/{encoded}?alt=media", self.endpoint)).ok()?;
        (status == 200).then_some(body)
    }
}

/// fakellm with the given rules file (its `fakellm.yaml` format).
pub struct FakeLlm {
    /// The OpenAI-compatible base URL (`…/v1`).
    pub base_url: String,
    _peer: Peer,
}

impl FakeLlm {
    pub fn start(config: &std::path::Path) -> FakeLlm {
        let port = free_port();
        let root = format!("http://127.0.0.1:{port}");
        let args = ["serve", "--host", "127.0.0.1", "--port", &port.to_string(), "--config", &config.display().to_string()].map(str::to_string);
        let peer = start("fakellm", &args, &format!("{root}/_fakellm/stats"));
        FakeLlm { base_url: format!("{root}/v1"), _peer: peer }
    }

    /// What fakellm says it served (`/_fakellm/stats`).
    pub fn stats(&self) -> Value {
        let root = self.base_url.trim_end_matches("/v1");
        let (_, body) = blocking_get(&format!("{root}/_fakellm/stats")).expect("stats");
        serde_json::from_slice(&body).unwrap_or(Value::Null)
    }
}

/// Accepts connections and reads, never answers: a server that hangs.
pub struct Silent {
    pub url: String,
}

impl Silent {
    pub fn start() -> Silent {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                held.push(stream);
            }
        });
        Silent { url }
    }
}
