//! Flink's value formats: memory sizes (`1728m`, `32kb`, `10485760b`) and durations
//! (`100 ms`, `10 s`, plain numbers meaning milliseconds), parsed the way Flink's
//! `MemorySize` and `TimeUtils` parse them, and written the way every version reads.

use anyhow::{Result, bail};

const KIB: f64 = 1024.0;

/// Parses a Flink memory size into bytes. A plain number is bytes, as in Flink.
pub fn parse_memory_bytes(text: &str) -> Result<f64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("cannot read memory size from '{text}'"))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1.0,
        "k" | "kb" | "kibibytes" => KIB,
        "m" | "mb" | "mebibytes" => KIB * KIB,
        "g" | "gb" | "gibibytes" => KIB * KIB * KIB,
        "t" | "tb" | "tebibytes" => KIB * KIB * KIB * KIB,
        other => bail!("cannot read memory size from '{text}': unknown unit '{other}'"),
    };
    let bytes = value * factor;
    // Flink holds a size as a 64-bit count of bytes.
    if bytes > i64::MAX as f64 {
        bail!("memory size '{text}' does not fit a 64-bit count of bytes");
    }
    Ok(bytes)
}

/// Parses a Flink memory size into mebibytes.
pub fn parse_memory_mb(text: &str) -> Result<f64> {
    Ok(parse_memory_bytes(text)? / (KIB * KIB))
}

/// Parses a Flink duration into milliseconds. A plain number is milliseconds.
pub fn parse_duration_ms(text: &str) -> Result<f64> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let value: f64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("cannot read duration from '{text}'"))?;
    let factor = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "ms" | "milli" | "millis" | "millisecond" | "milliseconds" => 1.0,
        "us" | "µs" | "micro" | "micros" | "microsecond" | "microseconds" => 1e-3,
        "ns" | "nano" | "nanos" | "nanosecond" | "nanoseconds" => 1e-6,
        "s" | "sec" | "secs" | "second" | "seconds" => 1e3,
        "min" | "m" | "minute" | "minutes" => 60e3,
        "h" | "hour" | "hours" => 3600e3,
        "d" | "day" | "days" => 86_400e3,
        other => bail!("cannot read duration from '{text}': unknown unit '{other}'"),
    };
    let ms = value * factor;
    // Flink holds a duration as a 64-bit count of milliseconds (or finer).
    if ms.abs() > i64::MAX as f64 {
        bail!("duration '{text}' does not fit a 64-bit count of milliseconds");
    }
    Ok(ms)
}

/// Writes a size in mebibytes as Flink writes it in its shipped configs (`1728m`).
pub fn format_mb(mb: i64) -> String {
    format!("{mb}m")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_sizes_parse_like_flink() {
        assert_eq!(parse_memory_mb("1728m").unwrap(), 1728.0);
        assert_eq!(parse_memory_mb("1.5g").unwrap(), 1536.0);
        assert_eq!(parse_memory_bytes("32kb").unwrap(), 32768.0);
        assert_eq!(parse_memory_bytes("10485760b").unwrap(), 10_485_760.0);
        assert_eq!(parse_memory_bytes("64 MB").unwrap(), 64.0 * 1024.0 * 1024.0);
        assert_eq!(parse_memory_bytes("100").unwrap(), 100.0);
        assert!(parse_memory_mb("lots").is_err());
        assert!(parse_memory_mb("12 parsecs").is_err());
        assert!(parse_memory_bytes("9007199254740993t").is_err());
        assert!(parse_memory_bytes(&"9".repeat(400)).is_err());
    }

    #[test]
    fn durations_parse_like_flink() {
        assert_eq!(parse_duration_ms("100").unwrap(), 100.0);
        assert_eq!(parse_duration_ms("100 ms").unwrap(), 100.0);
        assert_eq!(parse_duration_ms("10 s").unwrap(), 10_000.0);
        assert_eq!(parse_duration_ms("2min").unwrap(), 120_000.0);
        assert_eq!(parse_duration_ms("-1").unwrap(), -1.0);
        assert!(parse_duration_ms("soon").is_err());
        assert!(parse_duration_ms("99999999999999999999 d").is_err());
    }
}
