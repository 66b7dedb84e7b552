function onItemCaptured(data) {
  var filePath = pcap.path(data.stream);
location = vendor.s3.put(
  env.S3_BUCKET,
  filePath,
  env.AWS_REGION
);}
