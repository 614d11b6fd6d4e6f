//! Counts, sizes and rates.

/// `1,234,567`
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `512 B`, `1.5 KiB`, `3.2 MiB`, `100.0 KiB` (binary units, as bytesize
/// writes them).
pub fn bytes(n: u64) -> String {
    bytesize::ByteSize(n).display().iec().to_string()
}

/// A rate in short form: `0`, `12.5`, `980`, `12.3k`, `1.2M`.
pub fn rate(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        "0".into()
    } else if v < 100.0 {
        let s = format!("{v:.1}");
        match s.strip_suffix(".0") {
            Some("0") => "0.1".into(), // below 0.05: still not nothing
            Some(whole) => whole.to_owned(),
            None => s,
        }
    } else if v < 1_000.0 {
        format!("{v:.0}")
    } else if v < 1_000_000.0 {
        format!("{:.1}k", v / 1_000.0)
    } else {
        format!("{:.1}M", v / 1_000_000.0)
    }
}

/// A rate that may go either way, with its sign: `+12`, `-3.5`, and `0`
/// when it does not move.
pub fn signed_rate(v: f64) -> String {
    if !v.is_finite() || v.abs() < 0.05 {
        "0".into()
    } else if v > 0.0 {
        format!("+{}", rate(v))
    } else {
        format!("-{}", rate(-v))
    }
}

/// Bytes per second in short form: `0 B/s`, `1.2 KiB/s`.
pub fn byte_rate(v: f64) -> String {
    format!("{}/s", bytes(v.max(0.0) as u64))
}

/// Unicode block sparkline of `values`, scaled to their maximum; zero is a space.
pub fn sparkline(values: &[u32]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = values.iter().copied().max().unwrap_or(0).max(1) as u64;
    values
        .iter()
        .map(|&v| {
            if v == 0 {
                ' '
            } else {
                BARS[((v as u64 * 8).div_ceil(max) as usize).clamp(1, 8) - 1]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(count(0), "0");
        assert_eq!(count(1234567), "1,234,567");
        assert_eq!(count(100), "100");
        assert_eq!(bytes(512), "512 B");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(100 * 1024), "100.0 KiB");
        assert_eq!(rate(0.0), "0");
        assert_eq!(rate(0.02), "0.1");
        assert_eq!(rate(12.0), "12");
        assert_eq!(rate(12.25), "12.2");
        assert_eq!(rate(12_345.0), "12.3k");
    }

    #[test]
    fn signed_rates_say_zero_when_nothing_moves() {
        assert_eq!(signed_rate(0.0), "0");
        assert_eq!(signed_rate(-0.01), "0");
        assert_eq!(signed_rate(2.0), "+2");
        assert_eq!(signed_rate(-3.5), "-3.5");
    }

    #[test]
    fn sparkline_scales_to_max() {
        assert_eq!(sparkline(&[0, 1, 4, 8]), " ▁▄█");
        assert_eq!(sparkline(&[]), "");
    }
}
