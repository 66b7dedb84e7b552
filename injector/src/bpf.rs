//! Capture filters are checked by compiling them with libpcap, the same compiler the
//! sidecar uses, so a filter the sidecar would refuse never reaches it.

use std::sync::Mutex;

/// Longest filter accepted; real filters are a line or two.
pub const MAX_FILTER_LEN: usize = 4096;

// libpcap's compiler keeps global parser state in older releases; one at a time.
static COMPILER: Mutex<()> = Mutex::new(());

/// `Ok` when libpcap compiles `filter` for an Ethernet capture, else libpcap's message.
pub fn check(filter: &str) -> Result<(), String> {
    if filter.len() > MAX_FILTER_LEN {
        return Err(format!(
            "the filter is {} bytes long; at most {MAX_FILTER_LEN} are accepted",
            filter.len()
        ));
    }
    if filter.contains('\0') {
        return Err("the filter contains a NUL byte".into());
    }
    let _guard = COMPILER.lock().unwrap_or_else(|p| p.into_inner());
    let capture = pcap::Capture::dead(pcap::Linktype::ETHERNET)
        .map_err(|e| format!("libpcap could not start its compiler: {e}"))?;
    capture
        .compile(filter, true)
        .map(|_| ())
        .map_err(|e| format!("libpcap rejects it: {e}"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn libpcap_decides() {
        assert!(super::check("tcp port 80 or udp port 53").is_ok());
        assert!(super::check("").is_ok());
        let err = super::check("tcp port eighty").expect_err("bad filter");
        assert!(err.contains("libpcap rejects it"), "{err}");
        assert!(super::check(&"tcp or ".repeat(1000)).is_err());
    }
}
