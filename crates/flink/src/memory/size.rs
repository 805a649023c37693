//! Byte units and the compact way sizes are printed in Flink-like messages (`256mb`,
//! `1.250gb`): apart because every layer of the memory model, the errors included, uses them.

pub(super) const KIB: f64 = 1024.0;
pub(super) const MIB: f64 = 1024.0 * 1024.0;

/// Formats a byte count the compact way (`256mb`, `1.250gb`, `32kb`).
pub fn human(bytes: f64) -> String {
    let units = [
        ("tb", MIB * MIB),
        ("gb", MIB * KIB),
        ("mb", MIB),
        ("kb", KIB),
    ];
    for (name, size) in units {
        if bytes >= size {
            let v = format!("{:.3}", bytes / size);
            let v = v.strip_suffix(".000").unwrap_or(&v);
            return format!("{v}{name}");
        }
    }
    format!("{bytes}b")
}
