function onItemCaptured(data) {
  var filePath = pcap.path(data.stream);
location = vendor.s3.put(
  env.S3_BUCKET,
  filePath,
  env.AWS_REGION,             
  env.AWS_ACCESS_KEY_ID,      // optional. will default to shared configuration 
  env.AWS_SECRET_ACCESS_KEY   // optional. will default to shared configuration 
);}
