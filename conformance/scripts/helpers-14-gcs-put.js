location = vendor.s3.put(
  env.GCS_BUCKET,
  filePath
  JSON.parse(env.GCS_SA_KEY_JSON)             
);
