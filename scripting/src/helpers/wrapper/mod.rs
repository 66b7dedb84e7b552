//! `wrapper.*`: helpers written in JavaScript over the public ones, as the reference
//! describes wrappers. Each is evaluated once per host and handed the helpers as Remora
//! installed them (a script's own `pcap` or `file` changes nothing in them).

use rquickjs::{Ctx, Function, Object, Result};

const KFL_PCAP_S3: &str = include_str!("kfl_pcap_s3.js");
const BUILD_HAR: &str = include_str!("build_har.js");
const JOIN_MAPS: &str = include_str!("join_maps.js");
const PCAP_SNAPSHOT: &str = include_str!("pcap_snapshot.js");

pub(crate) fn object<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let wrapper = Object::new(ctx.clone())?;
    let helpers = Object::new(ctx.clone())?;
    for name in ["kfl", "pcap", "file", "vendor", "env", "console"] {
        helpers.set(name, ctx.globals().get::<_, rquickjs::Value>(name)?)?;
    }
    // The `creator.version` of HAR documents.
    helpers.set("version", env!("CARGO_PKG_VERSION"))?;
    for (name, source) in [("kflPcapS3", KFL_PCAP_S3), ("buildHAR", BUILD_HAR), ("joinMaps", JOIN_MAPS), ("pcapSnapshot", PCAP_SNAPSHOT)] {
        let make: Function = ctx.eval(source)?;
        wrapper.set(name, make.call::<_, Function>((helpers.clone(),))?)?;
    }
    Ok(wrapper)
}
