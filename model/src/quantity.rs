//! Kubernetes resource quantities (`500m`, `1.5`, `64Mi`, `1e3`), parsed to check them
//! and compare them before they reach the API server, which would reject the whole pod
//! for one bad value.

/// The value of a quantity in base units (cores or bytes), or why it is not one.
pub fn parse(text: &str) -> Result<f64, String> {
    let bad = || format!("{text:?} is not a Kubernetes quantity (like 500m, 2, 64Mi or 1Gi)");
    let t = text.trim();
    if t.is_empty() || t.len() > 64 || t != text {
        return Err(bad());
    }
    let number_end = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(t.len());
    let (number, suffix) = t.split_at(number_end);
    let digits = number.trim_start_matches(['+', '-']);
    if digits.is_empty()
        || digits.contains(['+', '-'])
        || digits.matches('.').count() > 1
        || digits == "."
        || number.len() - digits.len() > 1
    {
        return Err(bad());
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let scale = match suffix {
        "" => 1.0,
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "Ei" => 1024f64.powi(6),
        s if s.starts_with(['e', 'E']) => {
            let exp: i32 = s[1..].parse().map_err(|_| bad())?;
            if !(-18..=18).contains(&exp) {
                return Err(bad());
            }
            10f64.powi(exp)
        }
        _ => return Err(bad()),
    };
    Ok(value * scale)
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn quantities_as_kubernetes_writes_them() {
        assert_eq!(parse("500m"), Ok(0.5));
        assert_eq!(parse("2"), Ok(2.0));
        assert_eq!(parse("1.5"), Ok(1.5));
        assert_eq!(parse("64Mi"), Ok(64.0 * 1024.0 * 1024.0));
        assert_eq!(parse("1G"), Ok(1e9));
        assert_eq!(parse("1e3"), Ok(1000.0));
        assert_eq!(parse("+1"), Ok(1.0));
        for bad in ["", " 1", "abc", "1.2.3", "5 Mi", "10mb", "1e99", "--1", ".", "Mi"] {
            assert!(parse(bad).is_err(), "{bad:?} accepted");
        }
    }
}
