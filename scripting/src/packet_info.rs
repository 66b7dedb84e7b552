//! `info` for `onPacketCaptured(info)`, built by a compiled object literal: one call with
//! the values as arguments, instead of a property set (and key lookup) per field from
//! Rust.

use rquickjs::function::Args;
use rquickjs::{Ctx, Function, Persistent, Result, Value};

/// One packet as `onPacketCaptured` sees it (the public `info` fields first). Borrowed:
/// the caller keeps its strings from packet to packet.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PacketInfo<'a> {
    /// RFC 3339 UTC capture time.
    pub timestamp: &'a str,
    pub capture_length: u32,
    pub length: u32,
    pub fragmented: bool,
    pub src_ip: &'a str,
    /// Empty for transports without ports.
    pub src_port: &'a str,
    pub dst_ip: &'a str,
    pub dst_port: &'a str,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, or the IP protocol number.
    pub transport: &'a str,
    pub outgoing: bool,
    /// The stream (PCAP base name); empty for non-TCP/UDP packets.
    pub stream: &'a str,
    /// TCP flags as letters (`S`, `A`, `F`, `R`, `P`, `U`).
    pub flags: &'a str,
}

// QuickJS shares object shapes only while some object holds them: keeping one object
// per prefix of the field list alive lets every new `info` reuse the shapes instead of
// building and freeing a dozen of them per packet.
const FACTORY: &str = r#"(function () {
    var fields = ['timestamp', 'captureLength', 'length', 'truncated', 'fragmented', 'src', 'dst', 'transport', 'outgoing', 'stream', 'flags'];
    var keep = [];
    for (var i = 1; i <= fields.length; i++) {
        var o = {};
        for (var j = 0; j < i; j++) o[fields[j]] = 0;
        keep.push(o);
    }
    keep.push({ ip: '' }, { ip: '', port: '' });
    function make(timestamp, captureLength, length, fragmented, srcIp, srcPort, dstIp, dstPort, transport, outgoing, stream, flags) {
        return { timestamp: timestamp, captureLength: captureLength, length: length, truncated: captureLength < length,
                 fragmented: fragmented, src: { ip: srcIp, port: srcPort }, dst: { ip: dstIp, port: dstPort },
                 transport: transport, outgoing: outgoing, stream: stream, flags: flags };
    }
    make.shapes = keep;
    return make;
})()"#;

pub fn factory(ctx: &Ctx<'_>) -> Result<Persistent<Function<'static>>> {
    let make: Function = ctx.eval(FACTORY)?;
    Ok(Persistent::save(ctx, make))
}

pub fn make<'js>(ctx: &Ctx<'js>, factory: &Persistent<Function<'static>>, p: &PacketInfo<'_>) -> Result<Value<'js>> {
    let make = factory.clone().restore(ctx)?;
    let mut args = Args::new(ctx.clone(), 12);
    args.push_arg(p.timestamp)?;
    args.push_arg(p.capture_length)?;
    args.push_arg(p.length)?;
    args.push_arg(p.fragmented)?;
    args.push_arg(p.src_ip)?;
    args.push_arg(p.src_port)?;
    args.push_arg(p.dst_ip)?;
    args.push_arg(p.dst_port)?;
    args.push_arg(p.transport)?;
    args.push_arg(p.outgoing)?;
    args.push_arg(p.stream)?;
    args.push_arg(p.flags)?;
    make.call_arg(args)
}
