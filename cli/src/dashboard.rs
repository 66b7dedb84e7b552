//! `remora dashboard`: the address of the hub's dashboard, signed in. The token rides in
//! the fragment (`#token=`), which the browser keeps to itself; the page stores it.

use std::process::ExitCode;

use crate::hub_api::{block_on, HubArgs};

#[derive(Debug, clap::Args)]
pub struct DashboardArgs {
    #[command(flatten)]
    hub: HubArgs,
}

pub fn run(args: DashboardArgs) -> anyhow::Result<ExitCode> {
    let hub = args.hub.resolve()?;
    // Ask once, so a wrong address or token is said here rather than in the browser.
    let body = block_on(hub.json(hub.get("/api/sidecars")))?;
    let sidecars = body["sidecars"].as_array().map_or(0, Vec::len);
    let token: String = form_urlencoded::byte_serialize(hub.token.as_bytes()).collect();
    println!("{}/#token={token}", hub.address);
    eprintln!("open that address in a browser ({sidecars} sidecar(s) connected to {}); it holds your token: do not share it", hub.address);
    if hub.forwarded {
        // The address is this process's port-forward: it lasts as long as the process.
        eprintln!("the port-forward stays open until Ctrl-C");
        block_on(async { tokio::signal::ctrl_c().await.map_err(anyhow::Error::from) })?;
    }
    Ok(ExitCode::SUCCESS)
}
