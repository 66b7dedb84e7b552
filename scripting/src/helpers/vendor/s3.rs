//! `vendor.s3.put(bucket, path, region, keyID?, accessKey?)`: uploads a file to
//! `<NODE_NAME>_<NODE_IP>_<RUN_ID>/<file name>` and returns its URL. The older order
//! `(region, keyID, accessKey, bucket, path)`, which published scripts use, is told apart
//! by where the region is.
//! `vendor.s3.clear(region, keyID, accessKey, bucket)`: deletes every object this node
//! uploaded, in every run (the prefix `<NODE_NAME>_<NODE_IP>_`); returns how many.
//! Without keys, the SDK's default chain (IRSA on EKS). See `aws.rs` for endpoints.

use std::rc::Rc;

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};

use super::aws::{endpoint, error_text, AwsConfigs, Target};
use super::{readable, with_network, Args, Readable, Session, HELPER_LIMIT};
use crate::helpers::SharedRef;
use crate::node::Node;

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef, configs: &Rc<AwsConfigs>) -> Result<Object<'js>> {
    let s3 = Object::new(ctx.clone())?;

    let (s, c) = (shared.clone(), configs.clone());
    s3.set(
        "put",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<String> {
            let args = Args::new(&ctx, "vendor.s3.put", args);
            // The pages show (bucket, path, region, keyID?, accessKey?); published scripts
            // also use the older (region, keyID, accessKey, bucket, path).
            let older = older_order(&args)?;
            let (bucket_at, path_at) = if older { (3, 4) } else { (0, 1) };
            let bucket = args.string(bucket_at, "bucket")?;
            let file = readable(&s, &args.string(path_at, "path")?).map_err(|e| args.fail(e))?;
            let target = if older { target(&args, 0, 1, 2)? } else { target(&args, 2, 3, 4)? };
            let node = s.borrow().node.clone();
            let store = Store { configs: &c, endpoint: endpoint(&s, "S3"), target };
            let secret = store.secret();
            with_network(&ctx, &s, "vendor.s3.put", HELPER_LIMIT, &[&secret], |net| store.put(net, &bucket, file, &node))
        })?,
    )?;

    let (s, c) = (shared.clone(), configs.clone());
    s3.set(
        "clear",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<u32> {
            let args = Args::new(&ctx, "vendor.s3.clear", args);
            let target = target(&args, 0, 1, 2)?;
            let bucket = args.string(3, "bucket")?;
            let node = s.borrow().node.clone();
            let store = Store { configs: &c, endpoint: endpoint(&s, "S3"), target };
            let secret = store.secret();
            with_network(&ctx, &s, "vendor.s3.clear", HELPER_LIMIT, &[&secret], |net| store.clear(net, &bucket, &node))
        })?,
    )?;
    Ok(s3)
}

/// Whether a region looks like AWS's (`us-east-1`, `eu-central-2`, `us-gov-west-1`,
/// `cn-north-1`, `ap-southeast-4`): letters-…-digit.
fn is_region(text: &str) -> bool {
    let parts: Vec<&str> = text.split('-').collect();
    (3..=4).contains(&parts.len())
        && parts[0].len() == 2
        && parts[..parts.len() - 1].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()))
        && parts[parts.len() - 1].bytes().all(|b| b.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty()
}

/// `vendor.s3.put` called in the older order: five arguments, a region first and none
/// third (a bucket name cannot look like a region and be where the region goes).
fn older_order(args: &Args<'_>) -> Result<bool> {
    if args.count() != 5 {
        return Ok(false);
    }
    let first = args.opt_string(0, "first argument")?.unwrap_or_default();
    let third = args.opt_string(2, "third argument")?.unwrap_or_default();
    Ok(is_region(&first) && !is_region(&third))
}

/// Region and optional keys from the given argument positions.
pub(crate) fn target(args: &Args<'_>, region: usize, key_id: usize, secret: usize) -> Result<Target> {
    let region = args.string(region, "region")?;
    let keys = match (args.opt_string(key_id, "keyID")?, args.opt_string(secret, "accessKey")?) {
        (Some(id), Some(secret)) => Some((id, secret)),
        (None, None) => None,
        _ => return Err(args.fail("give both keyID and accessKey, or neither (the default credential chain)")),
    };
    Ok(Target { region, keys })
}

/// One bucket service: AWS or a compatible one at `endpoint`.
struct Store<'a> {
    configs: &'a AwsConfigs,
    endpoint: Option<String>,
    target: Target,
}

impl Store<'_> {
    fn secret(&self) -> String {
        self.target.keys.as_ref().map(|k| k.1.clone()).unwrap_or_default()
    }

    fn client(&self, net: &Session<'_>) -> std::result::Result<aws_sdk_s3::Client, String> {
        let config = self.configs.config(net, &self.target)?;
        let mut builder = aws_sdk_s3::config::Builder::from(&config);
        if let Some(endpoint) = &self.endpoint {
            // Compatible servers on a plain host name serve buckets as paths.
            builder = builder.endpoint_url(endpoint).force_path_style(true);
        }
        Ok(aws_sdk_s3::Client::from_conf(builder.build()))
    }

    /// Uploads `path` into this run's folder; returns the object's URL.
    fn put(&self, net: &Session<'_>, bucket: &str, file: Readable, node: &Node) -> std::result::Result<String, String> {
        let name = file.name();
        let key = format!("{}/{name}", node.run_folder());
        let key = key.as_str();
        let client = self.client(net)?;
        net.run(async {
            let shown = file.path.display().to_string();
            let body = ByteStream::read_from().file(tokio::fs::File::from_std(file.file)).build().await.map_err(|e| format!("{shown}: {e}"))?;
            client.put_object().bucket(bucket).key(key).body(body).send().await.map_err(|e| format!("upload to {bucket}/{key}: {}", error_text(e)))?;
            Ok(())
        })?;
        Ok(self.location(bucket, key))
    }

    fn clear(&self, net: &Session<'_>, bucket: &str, node: &Node) -> std::result::Result<u32, String> {
        let client = self.client(net)?;
        let prefix = format!("{}_", node.node_prefix());
        net.run(async {
            let mut deleted = 0;
            let mut pages = client.list_objects_v2().bucket(bucket).prefix(&prefix).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.map_err(|e| format!("listing {bucket}/{prefix}: {}", error_text(e)))?;
                let keys: Vec<ObjectIdentifier> = page.contents().iter().filter_map(|o| o.key()).filter_map(|k| ObjectIdentifier::builder().key(k).build().ok()).collect();
                if keys.is_empty() {
                    continue;
                }
                let count = keys.len() as u32;
                let delete = Delete::builder().set_objects(Some(keys)).quiet(true).build().map_err(|e| e.to_string())?;
                client.delete_objects().bucket(bucket).delete(delete).send().await.map_err(|e| format!("deleting in {bucket}/{prefix}: {}", error_text(e)))?;
                deleted += count;
            }
            Ok(deleted)
        })
    }

    /// `https://<bucket>.s3.<region>.amazonaws.com/<key>`, or `<endpoint>/<bucket>/<key>`.
    fn location(&self, bucket: &str, key: &str) -> String {
        let base = match &self.endpoint {
            Some(endpoint) => format!("{}/{bucket}/", endpoint.trim_end_matches('/')),
            None => format!("https://{bucket}.s3.{}.amazonaws.com/", self.target.region),
        };
        match reqwest::Url::parse(&base) {
            Ok(mut url) => {
                if let Ok(mut segments) = url.path_segments_mut() {
                    segments.pop_if_empty().extend(key.split('/'));
                }
                url.to_string()
            }
            Err(_) => format!("{base}{key}"),
        }
    }
}
