// wrapper.kflPcapS3(data, options): per KFL query of options.kflArr, collects the streams
// of the items that match it into a PCAP repository; when the repository holds
// maxL4Streams streams, or an item arrives maxMinutes after its first one, the repository
// is packed (the streams merged into <unix>.pcap, content.json,
// name_resolution_history.json) as kfl_<index>_remora_<unix>.tar.gz, uploaded with
// vendor.s3.put, recorded in the progress log (kfl_pcap_s3_progress.json, uploaded beside
// it) and announced on Slack when options name a webhook or a bot token and channel.
// Built from the public helpers only; `helpers` are the globals as Remora installed them,
// so a script's own variable named `file` or `kfl` changes nothing here.
(function (helpers) {
  var kfl = helpers.kfl, pcap = helpers.pcap, file = helpers.file, vendor = helpers.vendor, env = helpers.env, console = helpers.console;
  var repositories = [];
  var progress = [];
  var PROGRESS_FILE = "kfl_pcap_s3_progress.json";

  function fail(message) {
    throw new Error("wrapper.kflPcapS3: " + message);
  }

  function settings(options) {
    if (!options || typeof options !== "object") fail("the second argument must be the options object");
    var kflArr = options.kflArr;
    if (!kflArr || typeof kflArr.length !== "number" || kflArr.length === 0) fail("options.kflArr, an array of KFL queries, is required");
    for (var i = 0; i < kflArr.length; i++) {
      if (typeof kflArr[i] !== "string") fail("options.kflArr[" + i + "] must be a KFL query string");
      if (!kfl.validate(kflArr[i])) fail("options.kflArr[" + i + "] is not valid KFL: " + kflArr[i]);
    }
    var s = {
      kflArr: kflArr,
      region: options.awsRegion || env.AWS_REGION,
      keyId: options.awsAccessKeyId || env.AWS_ACCESS_KEY_ID,
      secret: options.awsSecretAccessKey || env.AWS_SECRET_ACCESS_KEY,
      bucket: options.s3Bucket || env.S3_BUCKET,
      slackWebhook: options.slackWebhook,
      slackAuthToken: options.slackAuthToken,
      slackChannelId: options.slackChannelId,
      active: options.active !== false,
      verbose: options.verbose === true,
      maxMinutes: options.maxMinutes > 0 ? options.maxMinutes : 60,
      maxL4Streams: options.maxL4Streams > 0 ? options.maxL4Streams : 100000
    };
    if (!s.region) fail("no AWS region: set options.awsRegion or env.AWS_REGION");
    if (!s.bucket) fail("no S3 bucket: set options.s3Bucket or env.S3_BUCKET");
    return s;
  }

  function log(s, text) {
    if (s.verbose) console.log("wrapper.kflPcapS3: " + text);
  }

  // Packs and ships one repository. A failed upload keeps the tarball in the data
  // directory and says where; the next matching item starts a new repository.
  function ship(s, index, repository, now) {
    var streams = Object.keys(repository.streams);
    var query = s.kflArr[index];
    var dir = file.mkdirTemp("kfl_" + index + "_");
    var snapshot = pcap.snapshot(streams);
    var pcapName = snapshot.substring(snapshot.lastIndexOf("/") + 1);
    var unix = pcapName.replace(/\.pcap$/, "");
    file.move(snapshot, dir + "/");
    var time = new Date(now).toUTCString();
    file.write(dir + "/content.json", JSON.stringify({
      kfl_index: index,
      kfl_query: query,
      l4_streams: streams,
      pcap_file_name: pcapName,
      time: time
    }, null, 2));
    var history = pcap.nameResolutionHistory(), names = {};
    for (var at in history) {
      names[at] = {};
      for (var ip in history[at]) names[at][ip] = { FullAddress: history[at][ip].name, Namespace: history[at][ip].namespace };
    }
    file.write(dir + "/name_resolution_history.json", JSON.stringify(names, null, 2));
    var tarball = file.tar(dir);
    file.delete(dir);
    var name = "kfl_" + index + "_remora_" + unix + ".tar.gz";
    file.move(tarball, name);
    var url;
    try {
      url = vendor.s3.put(s.bucket, name, s.region, s.keyId, s.secret);
    } catch (e) {
      console.error("wrapper.kflPcapS3: repository of \"" + query + "\" kept at " + name + ", not uploaded: " + e.message);
      return;
    }
    file.delete(name);
    progress.push({ file: name, kfl_index: index, kfl_query: query, s3_url: url, time: time });
    file.write(PROGRESS_FILE, JSON.stringify(progress, null, 2));
    vendor.s3.put(s.bucket, PROGRESS_FILE, s.region, s.keyId, s.secret);
    log(s, "uploaded " + name + " (" + streams.length + " streams of \"" + query + "\") to " + url);
    var text = "KFL query " + index + " (`" + query + "`): " + streams.length + " L4 streams in " + url;
    if (s.slackWebhook) vendor.slack(s.slackWebhook, "New PCAP repository in S3", text, "#2eb886");
    if (s.slackAuthToken && s.slackChannelId) vendor.slackBot(s.slackAuthToken, s.slackChannelId, "New PCAP repository in S3", text, "#2eb886", { "KFL query": query, "File": name });
  }

  return function kflPcapS3(data, options) {
    var s = settings(options);
    if (!s.active || !data) return;
    var now = typeof data.timestamp === "number" ? data.timestamp : Date.now();
    for (var i = 0; i < s.kflArr.length; i++) {
      var repository = repositories[i];
      if (data.stream && kfl.match(s.kflArr[i], data)) {
        if (!repository) repository = repositories[i] = { streams: {}, count: 0, started: now };
        if (!repository.streams[data.stream]) {
          repository.streams[data.stream] = true;
          repository.count++;
          log(s, "stream " + data.stream + " joins the repository of \"" + s.kflArr[i] + "\" (" + repository.count + ")");
        }
      }
      if (repository && (repository.count >= s.maxL4Streams || now - repository.started >= s.maxMinutes * 60000)) {
        repositories[i] = null;
        ship(s, i, repository, now);
      }
    }
  };
})
