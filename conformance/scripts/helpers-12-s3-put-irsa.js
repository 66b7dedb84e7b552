location = vendor.s3.put(
  env.S3_BUCKET,
  filePath
  env.AWS_REGION
);
