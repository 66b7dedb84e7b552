//! `wrapper.*`: helpers written in JavaScript over the public ones, as the reference
//! describes wrappers. Each is evaluated once per host and handed the helpers as Remora
//! installed them.

use rquickjs::{Ctx, Function, Object, Result};

const KFL_PCAP_S3: &str = include_str!("kfl_pcap_s3.js");

pub(crate) fn object<'js>(ctx: &Ctx<'js>) -> Result<Object<'js>> {
    let wrapper = Object::new(ctx.clone())?;
    let helpers = Object::new(ctx.clone())?;
    for name in ["kfl", "pcap", "file", "vendor", "env", "console"] {
        helpers.set(name, ctx.globals().get::<_, rquickjs::Value>(name)?)?;
    }
    let make: Function = ctx.eval(KFL_PCAP_S3)?;
    wrapper.set("kflPcapS3", make.call::<_, Function>((helpers,))?)?;
    Ok(wrapper)
}
