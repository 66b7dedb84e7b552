//! `info` for `onPacketCaptured(info)`, built by a compiled object literal: one call with
//! the values as arguments, instead of a property set (and key lookup) per field from
//! Rust. The text fields repeat from packet to packet (a flow's addresses, ports and
//! stream; a few flag sets), so their JavaScript strings are kept and handed again:
//! strings are immutable, so a script that keeps `info` cannot tell. Every packet still
//! gets objects of its own.

use std::net::IpAddr;

use rquickjs::function::Args;
use rquickjs::{Ctx, Function, Persistent, Result, String as JsString, Value};

/// One packet as `onPacketCaptured` sees it (the public `info` fields first).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PacketInfo<'a> {
    /// RFC 3339 UTC capture time.
    pub timestamp: &'a str,
    pub capture_length: u32,
    pub length: u32,
    pub fragmented: bool,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Source and destination ports: TCP and UDP only.
    pub ports: Option<(u16, u16)>,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, or the IP protocol number.
    pub transport: &'a str,
    pub outgoing: bool,
    /// The stream (PCAP base name); empty for non-TCP/UDP packets.
    pub stream: &'a str,
    /// The TCP header's flags byte (TCP only).
    pub tcp_flags: Option<u8>,
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

/// Slots of each text cache: a pod's busy flows fit, and a miss costs one string.
const SLOTS: usize = 256;

/// Makes `info` objects; keeps the JavaScript strings of recent addresses, ports,
/// streams, transports and flag sets.
pub(crate) struct InfoMaker {
    make: Persistent<Function<'static>>,
    ips: TextCache<IpAddr>,
    ports: TextCache<u16>,
    streams: TextCache<Box<str>>,
    transports: TextCache<Box<str>>,
    /// By the six flag bits `FSRPAU`.
    flags: Vec<Option<Persistent<JsString<'static>>>>,
    empty: Persistent<JsString<'static>>,
}

impl InfoMaker {
    pub fn new(ctx: &Ctx<'_>) -> Result<InfoMaker> {
        let make: Function = ctx.eval(FACTORY)?;
        let empty = JsString::from_str(ctx.clone(), "")?;
        Ok(InfoMaker {
            make: Persistent::save(ctx, make),
            ips: TextCache::new(),
            ports: TextCache::new(),
            streams: TextCache::new(),
            transports: TextCache::new(),
            flags: vec![None; 64],
            empty: Persistent::save(ctx, empty),
        })
    }

    pub fn make<'js>(&mut self, ctx: &Ctx<'js>, p: &PacketInfo<'_>) -> Result<Value<'js>> {
        let make = self.make.clone().restore(ctx)?;
        let (src_port, dst_port) = match p.ports {
            Some((s, d)) => (self.ports.get(ctx, s, |buf| buf.push_str(itoa::Buffer::new().format(s)))?, self.ports.get(ctx, d, |buf| buf.push_str(itoa::Buffer::new().format(d)))?),
            None => (self.empty.clone().restore(ctx)?, self.empty.clone().restore(ctx)?),
        };
        let flags = match p.tcp_flags {
            Some(bits) => self.flag_letters(ctx, bits)?,
            None => self.empty.clone().restore(ctx)?,
        };
        let stream = if p.stream.is_empty() { self.empty.clone().restore(ctx)? } else { self.streams.get_str(ctx, p.stream)? };
        let mut args = Args::new(ctx.clone(), 12);
        args.push_arg(p.timestamp)?;
        args.push_arg(p.capture_length)?;
        args.push_arg(p.length)?;
        args.push_arg(p.fragmented)?;
        args.push_arg(self.ips.get(ctx, p.src, |buf| push_display(buf, p.src))?)?;
        args.push_arg(src_port)?;
        args.push_arg(self.ips.get(ctx, p.dst, |buf| push_display(buf, p.dst))?)?;
        args.push_arg(dst_port)?;
        args.push_arg(self.transports.get_str(ctx, p.transport)?)?;
        args.push_arg(p.outgoing)?;
        args.push_arg(stream)?;
        args.push_arg(flags)?;
        make.call_arg(args)
    }

    /// TCP flags as letters, in header order from FIN: `F`, `S`, `R`, `P`, `A`, `U`.
    fn flag_letters<'js>(&mut self, ctx: &Ctx<'js>, bits: u8) -> Result<JsString<'js>> {
        let slot = &mut self.flags[usize::from(bits & 0x3f)];
        if let Some(text) = slot {
            return text.clone().restore(ctx);
        }
        let letters: std::string::String = "FSRPAU".chars().enumerate().filter(|(bit, _)| bits & (1 << bit) != 0).map(|(_, c)| c).collect();
        let text = JsString::from_str(ctx.clone(), &letters)?;
        *slot = Some(Persistent::save(ctx, text.clone()));
        Ok(text)
    }
}

fn push_display(buf: &mut std::string::String, value: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(buf, "{value}");
}

/// A direct-mapped cache of JavaScript strings by what they are the text of: a slot per
/// hash, the newest key wins.
struct TextCache<K> {
    slots: Vec<Option<(K, Persistent<JsString<'static>>)>>,
    /// Scratch for the text of a missed key.
    text: std::string::String,
}

impl<K: CacheKey> TextCache<K> {
    fn new() -> Self {
        TextCache { slots: (0..SLOTS).map(|_| None).collect(), text: std::string::String::new() }
    }

    /// The string for `key`, written by `text` on a miss.
    fn get<'js>(&mut self, ctx: &Ctx<'js>, key: K, text: impl FnOnce(&mut std::string::String)) -> Result<JsString<'js>> {
        let slot = &mut self.slots[key.slot()];
        if let Some((known, string)) = slot {
            if *known == key {
                return string.clone().restore(ctx);
            }
        }
        self.text.clear();
        text(&mut self.text);
        let string = JsString::from_str(ctx.clone(), &self.text)?;
        *slot = Some((key, Persistent::save(ctx, string.clone())));
        Ok(string)
    }
}

impl TextCache<Box<str>> {
    /// The string of `text` (kept for the next time it comes).
    fn get_str<'js>(&mut self, ctx: &Ctx<'js>, text: &str) -> Result<JsString<'js>> {
        let slot = &mut self.slots[str_slot(text)];
        if let Some((known, string)) = slot {
            if **known == *text {
                return string.clone().restore(ctx);
            }
        }
        let string = JsString::from_str(ctx.clone(), text)?;
        *slot = Some((text.into(), Persistent::save(ctx, string.clone())));
        Ok(string)
    }
}

trait CacheKey: PartialEq {
    fn slot(&self) -> usize;
}

/// Fibonacci hashing of a 64-bit value into a slot.
fn slot_of(x: u64) -> usize {
    (x.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 56) as usize % SLOTS
}

impl CacheKey for IpAddr {
    fn slot(&self) -> usize {
        match self {
            IpAddr::V4(v4) => slot_of(u64::from(u32::from(*v4))),
            IpAddr::V6(v6) => {
                let bits = u128::from(*v6);
                slot_of((bits as u64) ^ ((bits >> 64) as u64))
            }
        }
    }
}

impl CacheKey for u16 {
    fn slot(&self) -> usize {
        slot_of(u64::from(*self))
    }
}

impl CacheKey for Box<str> {
    fn slot(&self) -> usize {
        str_slot(self)
    }
}

/// FNV-1a over the text.
fn str_slot(text: &str) -> usize {
    let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3));
    slot_of(hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rquickjs::{Context, Runtime};

    fn packet<'a>(timestamp: &'a str, length: u32, src: &str, sport: u16, stream: &'a str, flags: u8) -> PacketInfo<'a> {
        PacketInfo {
            timestamp,
            capture_length: length.min(100),
            length,
            fragmented: false,
            src: src.parse().expect("address"),
            dst: "10.96.0.10".parse().expect("address"),
            ports: Some((sport, 80)),
            transport: "tcp",
            outgoing: false,
            stream,
            tcp_flags: Some(flags),
        }
    }

    #[test]
    fn a_kept_info_shows_its_own_packet_after_later_ones() {
        let runtime = Runtime::new().expect("runtime");
        let context = Context::full(&runtime).expect("context");
        context.with(|ctx| {
            let mut maker = InfoMaker::new(&ctx).expect("factory");
            ctx.eval::<(), _>("var kept = []; function hook(info) { kept.push(info); }").expect("script");
            let hook: Function = ctx.globals().get("hook").expect("hook");
            let packets = [
                packet("2026-12-07T10:00:00.5Z", 60, "10.244.0.1", 20001, "000000000001.pcap", 0x02),
                packet("2026-12-07T10:00:00.6Z", 1500, "10.244.0.1", 20001, "000000000001.pcap", 0x18),
                packet("2026-12-07T10:00:00.7Z", 40, "fd00::7", 443, "000000000002.pcap", 0x11),
                packet("2026-12-07T10:00:00.8Z", 70, "10.244.0.1", 20001, "000000000001.pcap", 0x02),
            ];
            for p in &packets {
                let info = maker.make(&ctx, p).expect("info");
                hook.call::<_, ()>((info,)).expect("call");
            }
            let seen: std::string::String = ctx.eval("JSON.stringify(kept)").expect("stringify");
            let seen: serde_json::Value = serde_json::from_str(&seen).expect("json");
            assert_eq!(
                seen[0],
                serde_json::json!({"timestamp": "2026-12-07T10:00:00.5Z", "captureLength": 60, "length": 60, "truncated": false, "fragmented": false,
                    "src": {"ip": "10.244.0.1", "port": "20001"}, "dst": {"ip": "10.96.0.10", "port": "80"}, "transport": "tcp", "outgoing": false,
                    "stream": "000000000001.pcap", "flags": "S"})
            );
            assert_eq!((seen[1]["length"].as_u64(), seen[1]["truncated"].as_bool(), seen[1]["flags"].as_str()), (Some(1500), Some(true), Some("PA")));
            assert_eq!((seen[2]["src"]["ip"].as_str(), seen[2]["src"]["port"].as_str(), seen[2]["stream"].as_str(), seen[2]["flags"].as_str()), (Some("fd00::7"), Some("443"), Some("000000000002.pcap"), Some("FA")));
            assert_eq!(seen[3]["timestamp"], "2026-12-07T10:00:00.8Z");
            let distinct: bool = ctx.eval("kept[0] !== kept[3] && kept[0].src !== kept[3].src").expect("identity");
            assert!(distinct, "every packet gets objects of its own");
            ctx.eval::<(), _>("kept[0].src.port = 'changed'; kept[0].extra = 1;").expect("write");
            let untouched: bool = ctx.eval("kept[3].src.port === '20001' && !('extra' in kept[3])").expect("check");
            assert!(untouched, "a write to one packet's info does not show in another's");
        });
    }

    #[test]
    fn packets_without_ports_or_flags_get_empty_strings() {
        let runtime = Runtime::new().expect("runtime");
        let context = Context::full(&runtime).expect("context");
        context.with(|ctx| {
            let mut maker = InfoMaker::new(&ctx).expect("factory");
            let p = PacketInfo { ports: None, tcp_flags: None, transport: "icmp", stream: "", ..packet("2026-12-07T10:00:00Z", 84, "10.0.0.1", 0, "", 0) };
            let info = maker.make(&ctx, &p).expect("info");
            ctx.globals().set("info", info).expect("set");
            let text: std::string::String = ctx.eval("[info.src.port, info.dst.port, info.flags, info.stream, info.transport].join('|')").expect("eval");
            assert_eq!(text, "||||icmp");
        });
    }
}
