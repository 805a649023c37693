//! Byte counts as Flink's `MemorySize` handles them: parsing (`1728m`, `32kb`; no fractions),
//! the human-readable form Flink's messages print (`256.000mb (268435456 bytes)`), the
//! compact form flinktune's own messages use (`256mb`), and multiplication by a fraction the
//! way Flink multiplies (exact decimal arithmetic on the fraction's shortest decimal form).
//! Apart because every layer of the memory model, the errors included, uses them.

pub const KIB: u64 = 1024;
pub const MIB: u64 = 1024 * KIB;
pub const GIB: u64 = 1024 * MIB;
pub const TIB: u64 = 1024 * GIB;
/// `MemorySize.MAX_VALUE`: Java's `Long.MAX_VALUE` bytes.
pub const MAX_BYTES: u64 = i64::MAX as u64;

/// Mebibytes of a byte count, for models that think in MiB.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// `MemorySize.parse`: digits, then an optional unit; `None` where Flink refuses the text
/// (fractions such as `1.5g`, unknown units, more than 2^63 − 1 bytes).
pub fn parse(text: &str) -> Option<u64> {
    let t = text.trim();
    let digits = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (number, unit) = t.split_at(digits);
    let value: u64 = number.parse().ok().filter(|&v| v <= MAX_BYTES)?;
    let multiplier = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" | "bytes" => 1,
        "k" | "kb" | "kibibytes" => KIB,
        "m" | "mb" | "mebibytes" => MIB,
        "g" | "gb" | "gibibytes" => GIB,
        "t" | "tb" | "tebibytes" => TIB,
        _ => return None,
    };
    value.checked_mul(multiplier).filter(|&b| b <= MAX_BYTES)
}

/// `MemorySize.toHumanReadableString`: the largest unit the size strictly exceeds, three
/// decimals rounded half up, and the exact count (`1024.000mb (1073741824 bytes)`, `0 bytes`).
pub fn readable(bytes: u64) -> String {
    let units = [("tb", TIB), ("gb", GIB), ("mb", MIB), ("kb", KIB)];
    match units.iter().find(|(_, size)| bytes > *size) {
        None => format!("{bytes} bytes"),
        Some((name, size)) => {
            let (size, b) = (u128::from(*size), u128::from(bytes));
            // Thousandths, rounded half up as Java's `%.3f` rounds.
            let milli = (b * 2000 + size) / (2 * size);
            format!("{}.{:03}{name} ({bytes} bytes)", milli / 1000, milli % 1000)
        }
    }
}

/// The compact form of a size in flinktune's own messages (`256mb`, `1.250gb`, `32kb`).
pub fn human(bytes: u64) -> String {
    let units = [("tb", TIB), ("gb", GIB), ("mb", MIB), ("kb", KIB)];
    for (name, size) in units {
        if bytes >= size {
            let v = format!("{:.3}", bytes as f64 / size as f64);
            let v = v.strip_suffix(".000").unwrap_or(&v);
            return format!("{v}{name}");
        }
    }
    format!("{bytes}b")
}

/// `MemorySize.multiply(double)`: `BigDecimal.valueOf(bytes) × BigDecimal.valueOf(factor)`,
/// truncated to whole bytes. `BigDecimal.valueOf` takes the double's shortest decimal form,
/// so 0.7f (0.699999988079071) × 6912 MiB is 5073430031 bytes where a binary product rounds
/// to 5073430032. `None` past `Long.MAX_VALUE` bytes (Flink's "long overflow").
pub fn multiply(bytes: u64, factor: f64) -> Option<u64> {
    let (mantissa, scale) = decimal(factor);
    let product = u128::from(bytes).checked_mul(mantissa)?;
    let result = match 10u128.checked_pow(scale) {
        Some(divisor) => product / divisor,
        // 10^scale exceeds any product of a 63-bit count and a 17-digit mantissa.
        None => 0,
    };
    u64::try_from(result).ok().filter(|&b| b <= MAX_BYTES)
}

/// A non-negative double's shortest decimal form as mantissa × 10^−scale (Rust prints the
/// shortest digits that read back as the same double, as Java's `Double.toString` does).
fn decimal(x: f64) -> (u128, u32) {
    let text = format!("{x:e}");
    let (digits, exponent) = text.split_once('e').unwrap_or((&text, "0"));
    let exponent: i32 = exponent.parse().unwrap_or(0);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let mantissa: u128 = format!("{int}{frac}").parse().unwrap_or(0);
    let scale = frac.len() as i32 - exponent;
    if scale >= 0 {
        (mantissa, scale as u32)
    } else {
        (mantissa * 10u128.pow((-scale) as u32), 0)
    }
}

/// Java's `Double.toString` / `Float.toString`, as Flink's messages print a fraction
/// (`0.10000000149011612`, `1.5`, `1.0E-4`): the shortest digits that read back as the same
/// number, in Java's layout.
pub fn java_number<T>(x: T) -> String
where
    T: Copy + std::fmt::Display + std::fmt::LowerExp + Into<f64>,
{
    let value: f64 = x.into();
    if value != 0.0 && !(1e-3..1e7).contains(&value.abs()) {
        let text = format!("{x:e}");
        let (digits, exponent) = text.split_once('e').unwrap_or((&text, "0"));
        let digits = if digits.contains('.') {
            digits.to_string()
        } else {
            format!("{digits}.0")
        };
        return format!("{digits}E{exponent}");
    }
    if value.fract() == 0.0 {
        format!("{value:.1}")
    } else {
        format!("{x}")
    }
}
