//! `remora certs`: the webhook's CA and serving certificate for installs without
//! cert-manager, as files, a Secret manifest or the `caBundle`, or straight into the
//! cluster (`install`, the chart's hook).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use remora_certs::{ca_bundle, ca_bundle_json_patch, read_ca, tls_secret_manifest, Request};

#[derive(Debug, clap::Subcommand)]
pub enum CertsCommand {
    /// Write ca.crt, ca.key, tls.crt and tls.key (PEM) into --out. A CA already in --out
    /// is kept (so the caBundle stays valid) unless --new-ca is given.
    Generate {
        #[command(flatten)]
        target: Target,
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Make a new CA even if --out holds one (the caBundle must then be updated).
        #[arg(long)]
        new_ca: bool,
    },
    /// Print a kubernetes.io/tls Secret manifest (YAML) with a serving certificate,
    /// issued by the CA in --dir when there is one, else by a new CA written to --dir.
    Secret {
        #[command(flatten)]
        target: Target,
        /// Directory holding (or receiving) the CA.
        #[arg(long)]
        dir: PathBuf,
        /// The Secret's name.
        #[arg(long, default_value = "remora-injector-tls")]
        name: String,
    },
    /// Print the caBundle (base64 of --dir/ca.crt), or a JSON patch setting it.
    CaBundle {
        #[arg(long)]
        dir: PathBuf,
        /// Print an RFC 6902 patch for `kubectl patch mutatingwebhookconfiguration
        /// NAME --type json -p ...` instead of the bare value.
        #[arg(long)]
        json_patch: bool,
        /// How many webhooks the configuration has (each gets the caBundle).
        #[arg(long, default_value_t = 1)]
        webhooks: usize,
    },
    /// In the cluster (the Helm post-delete hook): delete the Secret `install` made (Helm
    /// does not own it; it holds the CA's key). Nothing there is fine.
    Uninstall {
        /// Its namespace.
        #[arg(long, default_value = "remora")]
        namespace: String,
        /// The Secret.
        #[arg(long, default_value = "remora-injector-tls")]
        secret: String,
    },
    /// In the cluster (the Helm hook): create or renew the Secret the injector mounts,
    /// keeping its CA, and set the webhook configuration's caBundle to that CA.
    Install {
        #[command(flatten)]
        target: Target,
        /// The Secret (in --namespace) holding ca.crt, ca.key, tls.crt and tls.key.
        #[arg(long, default_value = "remora-injector-tls")]
        secret: String,
        /// The MutatingWebhookConfiguration whose webhooks get the caBundle.
        #[arg(long, default_value = "remora")]
        webhook: String,
        /// Renew the serving certificate when it has fewer days left than this.
        #[arg(long, default_value_t = 30)]
        renew_before_days: u32,
    },
}

#[derive(Debug, clap::Args)]
pub struct Target {
    /// The webhook's Service name.
    #[arg(long, default_value = "remora-injector")]
    service: String,
    /// The Service's namespace.
    #[arg(long, default_value = "remora")]
    namespace: String,
    /// Lifetime of the serving certificate, in days.
    #[arg(long, default_value_t = 365)]
    days: u32,
    /// Lifetime of a new CA, in days.
    #[arg(long, default_value_t = 3650)]
    ca_days: u32,
}

impl Target {
    fn request(&self) -> Request {
        Request {
            service: self.service.clone(),
            namespace: self.namespace.clone(),
            cert_days: self.days,
            ca_days: self.ca_days,
        }
    }
}

pub fn run(command: CertsCommand) -> anyhow::Result<ExitCode> {
    match command {
        CertsCommand::Generate {
            target,
            out,
            new_ca,
        } => {
            let ca = if new_ca { None } else { read_ca(&out)? };
            let bundle = remora_certs::issue(&target.request(), ca.as_ref())?;
            remora_certs::write_bundle(&out, &bundle)?;
            let origin = if bundle.ca_reused { "kept the CA in" } else { "new CA in" };
            eprintln!(
                "wrote {dir}/tls.crt and tls.key for {names} (valid until {until}); {origin} {dir}/ca.crt",
                dir = out.display(),
                names = bundle.dns_names.join(", "),
                until = bundle.not_after.date(),
            );
        }
        CertsCommand::Secret { target, dir, name } => {
            let ca = read_ca(&dir)?;
            let bundle = remora_certs::issue(&target.request(), ca.as_ref())?;
            if !bundle.ca_reused {
                remora_certs::write_bundle(&dir, &bundle)?;
                eprintln!("new CA written to {}/ca.crt and ca.key", dir.display());
            }
            print!("{}", tls_secret_manifest(&name, &target.namespace, &bundle));
        }
        CertsCommand::CaBundle {
            dir,
            json_patch,
            webhooks,
        } => {
            let path = dir.join(remora_certs::CA_CERT);
            let pem = std::fs::read_to_string(&path)
                .with_context(|| format!("{}: run `remora certs generate` first", path.display()))?;
            if json_patch {
                println!("{}", ca_bundle_json_patch(&pem, webhooks));
            } else {
                println!("{}", ca_bundle(&pem));
            }
        }
        CertsCommand::Uninstall { namespace, secret } => {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting the async runtime")?;
            let deleted = runtime.block_on(async {
                let client = remora_certs::install::client().await?;
                remora_certs::install::uninstall(client, &namespace, &secret).await
            })?;
            println!("{}", if deleted { format!("deleted Secret {namespace}/{secret}") } else { format!("Secret {namespace}/{secret} was not there") });
        }
        CertsCommand::Install {
            target,
            secret,
            webhook,
            renew_before_days,
        } => {
            let options = remora_certs::install::Options {
                request: target.request(),
                secret,
                webhook,
                renew_before_days,
            };
            // One hook run makes a handful of calls in sequence: one thread is plenty.
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let report = runtime.block_on(async {
                let client = remora_certs::install::client().await?;
                remora_certs::install::install(client, &options).await
            })?;
            println!("{report}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
