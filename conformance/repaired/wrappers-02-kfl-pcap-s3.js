var KFL_PCAP_S3_KFL_ARR = [
    "http and response.status == 500",
    "dns",
];

function onItemCaptured(data) {
wrapper.kflPcapS3(data, {
  kflArr:             KFL_PCAP_S3_KFL_ARR, // Mandatory
  /* AWS S3 credential must be present, either here or in the config file as env variables */
  awsRegion:          env.AWS_REGION,
  awsAccessKeyId:     env.AWS_ACCESS_KEY_ID,
  awsSecretAccessKey: env.AWS_SECRET_ACCESS_KEY,
  s3Bucket:           env.S3_BUCKET,
  /* Optional: A slack message is fired only if these properties are provided. There's no default value */
  slackWebhook:       env.SLACK_WEBHOOK,
  slackAuthToken:     env.SLACK_AUTH_TOKEN,
  slackChannelId:     env.SLACK_CHANNEL_ID,
  /* The rest of the properties are optional */
  active:             true,   // set to false to deactivate this helper
  verbose:            false,  // set to true to see verbose log
  maxMinutes:         60,     // maximum time for a single PCAP file
  maxL4Streams:       10000,  // maximum L4 streams for a single PCAP file
});}
