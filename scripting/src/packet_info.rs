//! `info` for `onPacketCaptured(info)`, built by a compiled object literal: one call with
//! the values as arguments, instead of a property set (and key lookup) per field from
//! Rust.

use rquickjs::function::Args;
use rquickjs::{Ctx, Function, Persistent, Result, Value};

/// One packet as `onPacketCaptured` sees it (the public `info` fields first).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PacketInfo {
    /// RFC 3339 UTC capture time.
    pub timestamp: String,
    pub capture_length: u32,
    pub length: u32,
    pub fragmented: bool,
    pub src_ip: String,
    /// Empty for transports without ports.
    pub src_port: String,
    pub dst_ip: String,
    pub dst_port: String,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, or the IP protocol number.
    pub transport: String,
    pub outgoing: bool,
    /// The stream (PCAP base name); empty for non-TCP/UDP packets.
    pub stream: String,
    /// TCP flags as letters (`S`, `A`, `F`, `R`, `P`, `U`).
    pub flags: String,
}

const FACTORY: &str = r#"(function (timestamp, captureLength, length, fragmented, srcIp, srcPort, dstIp, dstPort, transport, outgoing, stream, flags) {
    return { timestamp: timestamp, captureLength: captureLength, length: length, truncated: captureLength < length,
             fragmented: fragmented, src: { ip: srcIp, port: srcPort }, dst: { ip: dstIp, port: dstPort },
             transport: transport, outgoing: outgoing, stream: stream, flags: flags };
})"#;

pub fn factory(ctx: &Ctx<'_>) -> Result<Persistent<Function<'static>>> {
    let make: Function = ctx.eval(FACTORY)?;
    Ok(Persistent::save(ctx, make))
}

pub fn make<'js>(ctx: &Ctx<'js>, factory: &Persistent<Function<'static>>, p: &PacketInfo) -> Result<Value<'js>> {
    let make = factory.clone().restore(ctx)?;
    let mut args = Args::new(ctx.clone(), 12);
    args.push_arg(p.timestamp.as_str())?;
    args.push_arg(p.capture_length)?;
    args.push_arg(p.length)?;
    args.push_arg(p.fragmented)?;
    args.push_arg(p.src_ip.as_str())?;
    args.push_arg(p.src_port.as_str())?;
    args.push_arg(p.dst_ip.as_str())?;
    args.push_arg(p.dst_port.as_str())?;
    args.push_arg(p.transport.as_str())?;
    args.push_arg(p.outgoing)?;
    args.push_arg(p.stream.as_str())?;
    args.push_arg(p.flags.as_str())?;
    make.call_arg(args)
}
