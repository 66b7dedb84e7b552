//! `vendor.kinesis.put(streamName, data, region, keyID?, accessKey?, partitionKey?)`:
//! one record (`PutRecord`). `data` is sent as it is when a string, else as its JSON text
//! (a HAR document from `wrapper.buildHAR`, say). The partition key defaults to the node's
//! name, so one node's records stay in order. Returns `{"shardId", "sequenceNumber"}` as
//! JSON text. Credentials and endpoints as for S3 (`aws.rs`, `AWS_ENDPOINT_URL_KINESIS`).

use std::rc::Rc;

use aws_sdk_kinesis::primitives::Blob;
use rquickjs::function::Rest;
use rquickjs::{Ctx, Function, Object, Result, Value};

use super::aws::{endpoint, error_text, AwsConfigs};
use super::s3::target;
use super::{with_network, Args, HELPER_LIMIT};
use crate::helpers::SharedRef;

/// Kinesis's own limit on one record's data.
const MAX_RECORD: usize = 1 << 20;

pub(crate) fn object<'js>(ctx: &Ctx<'js>, shared: &SharedRef, configs: &Rc<AwsConfigs>) -> Result<Object<'js>> {
    let kinesis = Object::new(ctx.clone())?;
    let (s, c) = (shared.clone(), configs.clone());
    kinesis.set(
        "put",
        Function::new(ctx.clone(), move |ctx: Ctx<'js>, args: Rest<Value<'js>>| -> Result<String> {
            let args = Args::new(&ctx, "vendor.kinesis.put", args);
            let stream = args.string(0, "streamName")?;
            let data = match args.json(1, "data")? {
                serde_json::Value::String(text) => text,
                other => other.to_string(),
            };
            if data.len() > MAX_RECORD {
                return Err(args.fail(format!("the data is {} bytes; a Kinesis record holds at most {MAX_RECORD}", data.len())));
            }
            let target = target(&args, 2, 3, 4)?;
            let partition = match args.opt_string(5, "partitionKey")? {
                Some(key) => key,
                None => s.borrow().node.name.clone(),
            };
            let endpoint = endpoint(&s, "KINESIS");
            let secret = target.keys.as_ref().map(|k| k.1.clone()).unwrap_or_default();
            with_network(&ctx, &s, "vendor.kinesis.put", HELPER_LIMIT, &[&secret], |net| {
                let config = c.config(net, &target)?;
                let mut builder = aws_sdk_kinesis::config::Builder::from(&config);
                if let Some(endpoint) = &endpoint {
                    builder = builder.endpoint_url(endpoint);
                }
                let client = aws_sdk_kinesis::Client::from_conf(builder.build());
                let put = net.run(async {
                    client
                        .put_record()
                        .stream_name(&stream)
                        .partition_key(&partition)
                        .data(Blob::new(data.into_bytes()))
                        .send()
                        .await
                        .map_err(|e| format!("stream {stream}: {}", error_text(e)))
                })?;
                Ok(serde_json::json!({ "shardId": put.shard_id(), "sequenceNumber": put.sequence_number() }).to_string())
            })
        })?,
    )?;
    Ok(kinesis)
}
