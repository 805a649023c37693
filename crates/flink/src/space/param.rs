//! One tunable parameter as a catalogue declares it: its kind, range and scale, Flink's
//! default, how its value is written into a configuration file, the Flink versions it exists
//! in, and its mapping to and from the unit cube. Apart from `catalogue` because everything
//! here concerns a single key.

use std::fmt;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::conf::FlinkVersion;

/// A parameter's value type.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Int,
    Float,
    Bool,
    Enum,
}

/// How a value is written into a Flink configuration file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// The number or word as it is (`100`, `true`, `epoll`).
    #[default]
    Plain,
    /// A Flink memory size with the unit's suffix (`4096m`, `32kb`).
    Memory,
    /// Converted to bytes and written as a plain integer (Netty buffer sizes).
    Bytes,
    /// Converted to bytes and written with a `b` suffix (`akka.framesize: 10485760b`).
    BytesSuffix,
}

/// The unit a parameter's number is expressed in (in the catalogue and in tables).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Unit {
    #[default]
    #[serde(rename = "")]
    None,
    Ms,
    Kb,
    Mb,
}

impl Unit {
    fn bytes(self) -> i64 {
        match self {
            Unit::Kb => 1024,
            Unit::Mb => 1024 * 1024,
            Unit::None | Unit::Ms => 1,
        }
    }
    fn memory_suffix(self) -> &'static str {
        match self {
            Unit::Kb => "kb",
            Unit::Mb => "m",
            Unit::None | Unit::Ms => "b",
        }
    }
}

/// One parameter value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

/// One tunable parameter, as declared in a catalogue.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    /// The Flink configuration key.
    pub name: String,
    pub kind: Kind,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    /// Sample and search on a log scale (for ranges that span decades).
    #[serde(default)]
    pub log: bool,
    /// Only powers of two are valid (Flink's memory segment size); implies a log scale.
    #[serde(default)]
    pub power_of_two: bool,
    /// The choices of an enum parameter.
    #[serde(default)]
    pub values: Vec<String>,
    /// Flink's default. Absent: Flink derives the value, and the key is left out of the
    /// default configuration.
    #[serde(default)]
    pub default: Option<Value>,
    /// The value Flink effectively uses when the key is absent (for models), when it
    /// differs from `default` (e.g. "number of slots" for Netty threads).
    #[serde(default)]
    pub effective: Option<Value>,
    #[serde(default)]
    pub unit: Unit,
    #[serde(default)]
    pub format: Format,
    /// Keys of the base configuration this parameter supersedes (removed when it is set),
    /// e.g. `taskmanager.memory.flink.size` replaces `taskmanager.memory.process.size`
    /// because Flink advises against configuring both.
    #[serde(default)]
    pub replaces: Vec<String>,
    /// The Flink versions the key exists in: comparisons joined by commas
    /// (`">=1.10"`, `"<2.0"`, `">=1.11,<2.0"`); absent: every version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub versions: Option<String>,
    /// A bool parameter of the same catalogue that must be true for this one to act
    /// (`execution.buffer-timeout.interval` does nothing while
    /// `execution.buffer-timeout.enabled` is false). The search holds this one at its
    /// default while the switch is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_when: Option<String>,
    #[serde(default)]
    pub note: String,
}

impl Param {
    /// The numeric bounds of an int or float parameter.
    pub fn bounds(&self) -> (f64, f64) {
        (self.min.unwrap_or(0.0), self.max.unwrap_or(1.0))
    }

    /// Whether the key exists in a Flink version (by `versions`; absent: always).
    pub fn exists_in(&self, version: FlinkVersion) -> Result<bool> {
        let Some(spec) = &self.versions else {
            return Ok(true);
        };
        let mut holds = true;
        for part in spec.split(',') {
            let part = part.trim();
            let (op, rest) = ["<=", ">=", "<", ">", "="]
                .iter()
                .find_map(|op| part.strip_prefix(op).map(|r| (*op, r)))
                .with_context(|| {
                    format!("versions \"{spec}\": `{part}` is not a comparison like >=1.11 or <2.0")
                })?;
            let v: FlinkVersion = rest
                .parse()
                .with_context(|| format!("versions \"{spec}\""))?;
            holds &= match op {
                "<=" => version <= v,
                ">=" => version >= v,
                "<" => version < v,
                ">" => version > v,
                _ => version == v,
            };
        }
        Ok(holds)
    }

    /// The value used when a configuration leaves this parameter unset.
    pub fn effective_default(&self) -> Value {
        self.effective
            .clone()
            .or_else(|| self.default.clone())
            .unwrap_or_else(|| self.from_unit(0.5))
    }

    /// The number of distinct values of a discrete parameter (None for floats).
    pub fn levels(&self) -> Option<u64> {
        match self.kind {
            Kind::Float => None,
            Kind::Bool => Some(2),
            Kind::Enum => Some(self.values.len() as u64),
            Kind::Int if self.power_of_two => {
                let (lo, hi) = self.bounds();
                Some((hi / lo).log2().round() as u64 + 1)
            }
            Kind::Int => {
                let (lo, hi) = self.bounds();
                Some((hi - lo) as u64 + 1)
            }
        }
    }

    /// Every valid value of an int parameter, ascending (None for other kinds).
    pub fn int_values(&self) -> Option<Vec<i64>> {
        if self.kind != Kind::Int {
            return None;
        }
        let (lo, hi) = self.bounds();
        Some(if self.power_of_two {
            (0..self.levels()?).map(|k| (lo as i64) << k).collect()
        } else {
            (lo as i64..=hi as i64).collect()
        })
    }

    // Log scale over (x - min + 1) when the range reaches zero or below (e.g. the buffer
    // timeout's -1..500), so the special small values keep their share of the space.
    fn log_shift(&self) -> f64 {
        let (lo, _) = self.bounds();
        if lo > 0.0 { 0.0 } else { 1.0 - lo }
    }

    fn forward(&self, x: f64) -> f64 {
        if self.log || self.power_of_two {
            (x + self.log_shift()).ln()
        } else {
            x
        }
    }

    fn backward(&self, t: f64) -> f64 {
        if self.log || self.power_of_two {
            t.exp() - self.log_shift()
        } else {
            t
        }
    }

    /// Maps a value to [0, 1] (log scale where declared).
    pub fn to_unit(&self, value: &Value) -> f64 {
        match self.kind {
            Kind::Bool => f64::from(matches!(value, Value::Bool(true))),
            Kind::Enum => {
                let i = self
                    .values
                    .iter()
                    .position(|v| *v == value.to_string())
                    .unwrap_or(0);
                if self.values.len() <= 1 {
                    0.0
                } else {
                    i as f64 / (self.values.len() - 1) as f64
                }
            }
            Kind::Int | Kind::Float => {
                let x = match value {
                    Value::Int(i) => *i as f64,
                    Value::Float(f) => *f,
                    Value::Bool(b) => f64::from(*b),
                    Value::Str(_) => self.bounds().0,
                };
                let (lo, hi) = self.bounds();
                let (a, b) = (self.forward(lo), self.forward(hi));
                if b <= a {
                    return 0.0;
                }
                ((self.forward(x.clamp(lo, hi)) - a) / (b - a)).clamp(0.0, 1.0)
            }
        }
    }

    /// Maps a point of [0, 1] to a value: the inverse of [`Param::to_unit`]; integers are
    /// rounded, enums and bools take the nearest level.
    pub fn from_unit(&self, u: f64) -> Value {
        let u = if u.is_finite() {
            u.clamp(0.0, 1.0)
        } else {
            0.0
        };
        match self.kind {
            Kind::Bool => Value::Bool(u >= 0.5),
            Kind::Enum => {
                let n = self.values.len().max(1);
                let i = ((u * (n - 1) as f64).round() as usize).min(n - 1);
                Value::Str(self.values.get(i).cloned().unwrap_or_default())
            }
            Kind::Int | Kind::Float => {
                let (lo, hi) = self.bounds();
                let (a, b) = (self.forward(lo), self.forward(hi));
                let x = self.backward(a + u * (b - a)).clamp(lo, hi);
                if self.power_of_two {
                    Value::Int((x.log2().round().exp2() as i64).clamp(lo as i64, hi as i64))
                } else if self.kind == Kind::Int {
                    Value::Int(x.round() as i64)
                } else {
                    Value::Float(x)
                }
            }
        }
    }

    /// Writes a value the way Flink reads it for this key.
    pub fn format_value(&self, value: &Value) -> String {
        match (self.format, value) {
            (Format::Memory, Value::Int(i)) => format!("{i}{}", self.unit.memory_suffix()),
            // In range, the product fits (checked in `validate`); saturating only guards a
            // value that skipped `check_value`.
            (Format::Bytes, Value::Int(i)) => i.saturating_mul(self.unit.bytes()).to_string(),
            (Format::BytesSuffix, Value::Int(i)) => {
                format!("{}b", i.saturating_mul(self.unit.bytes()))
            }
            _ => value.to_string(),
        }
    }

    /// Reads a value of this parameter from text (a table cell or a command line).
    pub fn parse_value(&self, text: &str) -> Result<Value> {
        let t = text.trim();
        let value = match self.kind {
            Kind::Int => Value::Int(
                t.parse::<i64>()
                    .with_context(|| format!("'{t}' is not an integer"))?,
            ),
            Kind::Float => Value::Float(
                t.parse::<f64>()
                    .ok()
                    .filter(|x| x.is_finite())
                    .with_context(|| format!("'{t}' is not a number"))?,
            ),
            Kind::Bool => match t {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                _ => bail!("'{t}' is not true or false"),
            },
            Kind::Enum => Value::Str(t.to_string()),
        };
        self.check_value(&value)?;
        Ok(value)
    }

    /// Checks that a value has this parameter's type and lies in its range.
    pub fn check_value(&self, value: &Value) -> Result<()> {
        match (self.kind, value) {
            (Kind::Int, Value::Int(i)) if self.power_of_two && (*i <= 0 || i & (i - 1) != 0) => {
                bail!("{i} is not a power of two")
            }
            (Kind::Int, Value::Int(i)) => self.check_range(*i as f64),
            (Kind::Float, Value::Float(x)) => self.check_range(*x),
            (Kind::Float, Value::Int(i)) => self.check_range(*i as f64),
            (Kind::Bool, Value::Bool(_)) => Ok(()),
            (Kind::Enum, Value::Str(s)) if self.values.contains(s) => Ok(()),
            (Kind::Enum, v) => bail!("{v} is not one of {}", self.values.join(", ")),
            (kind, v) => bail!("{v} is not of kind {kind:?}"),
        }
    }

    fn check_range(&self, x: f64) -> Result<()> {
        let (lo, hi) = self.bounds();
        if x < lo || x > hi {
            bail!("{x} is outside the range [{lo}, {hi}]");
        }
        Ok(())
    }

    pub(super) fn validate(&self) -> Result<()> {
        for key in std::iter::once(&self.name).chain(&self.replaces) {
            check_key(key)?;
        }
        for v in &self.values {
            if v.is_empty() || v.contains('#') || v.chars().any(char::is_control) {
                bail!("value {v:?} is empty or holds `#` or a control character");
            }
        }
        self.check_bounds()?;
        for v in self.default.iter().chain(self.effective.iter()) {
            self.check_value(v).context("bad default")?;
        }
        // Checks the syntax of `versions`.
        self.exists_in(FlinkVersion { major: 1, minor: 0 })?;
        Ok(())
    }

    fn check_bounds(&self) -> Result<()> {
        match self.kind {
            Kind::Int | Kind::Float => {
                let (Some(lo), Some(hi)) = (self.min, self.max) else {
                    bail!("an {:?} parameter needs both min and max", self.kind);
                };
                if !(lo.is_finite() && hi.is_finite() && lo < hi) {
                    bail!("min ({lo}) must be below max ({hi})");
                }
                if self.log && self.kind == Kind::Float && lo <= 0.0 {
                    bail!("a log-scale float needs min > 0");
                }
                let pow2 = |x: f64| x >= 1.0 && x.fract() == 0.0 && (x as u64).is_power_of_two();
                if self.power_of_two && !(self.kind == Kind::Int && pow2(lo) && pow2(hi)) {
                    bail!(
                        "power_of_two needs an int parameter whose min and max are powers of two"
                    );
                }
            }
            Kind::Enum if self.values.len() < 2 => bail!("an enum needs at least two values"),
            _ => {}
        }
        let (lo, hi) = self.bounds();
        if self.kind == Kind::Int && (lo.abs() > MAX_EXACT || hi.abs() > MAX_EXACT) {
            bail!("an int parameter's min and max must lie within ±2^53 (exact as numbers)");
        }
        if self.format != Format::Plain {
            // Flink reads a size as a 64-bit count of bytes: the largest value times its
            // unit must fit, and no size is negative.
            let unit = self.unit.bytes() as f64;
            if lo < 0.0 || hi * unit > i64::MAX as f64 {
                bail!(
                    "a {:?} size must lie from 0 to {} {:?} (a 64-bit count of bytes)",
                    self.format,
                    i64::MAX / self.unit.bytes(),
                    self.unit
                );
            }
        }
        Ok(())
    }
}

/// The largest integer an f64 holds exactly.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

/// A Flink configuration key: non-empty, letters, digits, `.`, `-` and `_` only — anything
/// else (a `#`, a `:`, a newline) would change the configuration file's meaning.
pub fn check_key(key: &str) -> Result<()> {
    let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_');
    if key.is_empty() || key.len() > 200 || !key.chars().all(ok) {
        bail!("{key:?} is not a Flink key (1 to 200 letters, digits, `.`, `-` or `_`)");
    }
    Ok(())
}

#[cfg(test)]
mod tests;
