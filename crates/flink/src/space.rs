//! The parameter space: which Flink keys are tuned, their kinds, ranges, scales, defaults
//! and how their values are written in a Flink configuration. A space is read from a
//! catalogue file (`configs/*.toml`, a list of `[[param]]` tables).
//!
//! A [`Config`] assigns one [`Value`] (or "unset") to each parameter of a space, in order.
//! Two numeric views of a config exist: [`Space::features`] (one number per parameter,
//! for tree models) and the unit cube used by the samplers and the optimiser
//! ([`Space::to_unit`] / [`Space::from_unit`]).

use crate::conf::FlinkVersion;
use anyhow::{Context, Result, bail};
use opt::sample;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use std::path::Path;

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
            (Format::Bytes, Value::Int(i)) => (i * self.unit.bytes()).to_string(),
            (Format::BytesSuffix, Value::Int(i)) => format!("{}b", i * self.unit.bytes()),
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

    fn validate(&self) -> Result<()> {
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
        for v in self.default.iter().chain(self.effective.iter()) {
            self.check_value(v).context("bad default")?;
        }
        // Checks the syntax of `versions`.
        self.exists_in(FlinkVersion { major: 1, minor: 0 })?;
        Ok(())
    }
}

/// A catalogue file: a list of parameters.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Catalogue {
    /// What the catalogue is (free text).
    #[serde(default)]
    pub description: String,
    /// The Flink version whose key names the catalogue uses.
    pub flink_version: String,
    #[serde(rename = "param")]
    pub params: Vec<Param>,
}

/// The ordered set of tuned parameters.
#[derive(Clone, Debug)]
pub struct Space {
    pub params: Vec<Param>,
}

/// One configuration of a space: a value (or unset, meaning Flink's own default) per
/// parameter, in the space's order.
pub type Config = Vec<Option<Value>>;

impl Space {
    /// Builds a space, checking every parameter.
    pub fn new(params: Vec<Param>) -> Result<Space> {
        let mut seen = std::collections::BTreeSet::new();
        for p in &params {
            p.validate()
                .with_context(|| format!("parameter '{}'", p.name))?;
            if !seen.insert(p.name.as_str()) {
                bail!("parameter '{}' is declared twice", p.name);
            }
        }
        if params.is_empty() {
            bail!("the parameter space is empty");
        }
        Ok(Space { params })
    }

    /// Reads a catalogue from TOML text; `origin` names it in errors.
    pub fn from_catalogue_text(text: &str, origin: &str) -> Result<(Catalogue, Space)> {
        let cat: Catalogue =
            toml::from_str(text).map_err(|e| crate::toml_error::toml_error(origin, text, &e))?;
        let space = Space::new(cat.params.clone()).with_context(|| format!("in {origin}"))?;
        Ok((cat, space))
    }

    /// Reads a catalogue file.
    pub fn load(path: &Path) -> Result<(Catalogue, Space)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read catalogue {}", path.display()))?;
        Space::from_catalogue_text(&text, &path.display().to_string())
    }

    pub fn len(&self) -> usize {
        self.params.len()
    }

    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.params.iter().position(|p| p.name == name)
    }

    /// Flink's default configuration: catalogue defaults, unset where Flink derives.
    pub fn default_config(&self) -> Config {
        self.params.iter().map(|p| p.default.clone()).collect()
    }

    /// The value each parameter effectively has in a configuration.
    pub fn effective(&self, config: &Config) -> Vec<Value> {
        self.params
            .iter()
            .zip(config)
            .map(|(p, v)| v.clone().unwrap_or_else(|| p.effective_default()))
            .collect()
    }

    /// Maps a configuration to the unit cube (unset parameters at their effective value).
    pub fn to_unit(&self, config: &Config) -> Vec<f64> {
        self.params
            .iter()
            .zip(self.effective(config))
            .map(|(p, v)| p.to_unit(&v))
            .collect()
    }

    /// Maps a point of the unit cube to a configuration with every parameter set.
    pub fn from_unit(&self, u: &[f64]) -> Config {
        self.params
            .iter()
            .zip(u)
            .map(|(p, &x)| Some(p.from_unit(x)))
            .collect()
    }

    /// One numeric feature per parameter, for tree models: the unit-cube position, so
    /// log-scale parameters are split on a log scale too.
    pub fn features(&self, config: &Config) -> Vec<f64> {
        self.to_unit(config)
    }

    /// The tuned keys and their Flink-formatted values (unset parameters left out).
    pub fn flink_entries(&self, config: &Config) -> Vec<(String, String)> {
        self.params
            .iter()
            .zip(config)
            .filter_map(|(p, v)| v.as_ref().map(|v| (p.name.clone(), p.format_value(v))))
            .collect()
    }

    /// Keys of the base configuration superseded by the parameters this config sets.
    pub fn replaced_keys(&self, config: &Config) -> Vec<String> {
        self.params
            .iter()
            .zip(config)
            .filter(|(_, v)| v.is_some())
            .flat_map(|(p, _)| p.replaces.iter().cloned())
            .collect()
    }

    /// The tuned parameters as a typed JSON object (the adapter protocol's `config.json`).
    pub fn to_json(&self, config: &Config) -> serde_json::Value {
        let mut map = serde_json::Map::new();
        for (p, v) in self.params.iter().zip(config) {
            if let Some(v) = v {
                map.insert(p.name.clone(), serde_json::to_value(v).unwrap_or_default());
            }
        }
        serde_json::Value::Object(map)
    }
}

/// Candidate hypercubes the maximin criterion chooses from.
pub const MAXIMIN_TRIES: usize = 8;

/// Samples `n` distinct configurations of `space`.
pub fn sample_configs(space: &Space, n: usize, seed: u64) -> Vec<Config> {
    let mut rng = StdRng::seed_from_u64(seed);
    let design = sample::maximin_latin_hypercube(n, space.len(), MAXIMIN_TRIES, &mut rng);
    let mut seen = HashSet::new();
    let mut configs = Vec::with_capacity(n);
    for point in design {
        let mut config = space.from_unit(&point);
        // Rounding can merge two points of a small discrete space: redraw those at random.
        let mut tries = 0;
        while !seen.insert(format!("{config:?}")) && tries < 100 {
            let p = sample::uniform(1, space.len(), &mut rng).remove(0);
            config = space.from_unit(&p);
            tries += 1;
        }
        configs.push(config);
    }
    configs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(name: &str, min: f64, max: f64, log: bool) -> Param {
        Param {
            name: name.into(),
            kind: Kind::Int,
            min: Some(min),
            max: Some(max),
            log,
            power_of_two: false,
            values: vec![],
            default: None,
            effective: None,
            unit: Unit::None,
            format: Format::Plain,
            replaces: vec![],
            versions: None,
            note: String::new(),
        }
    }

    #[test]
    fn unit_mapping_round_trips_and_stays_in_range() {
        let p = int("execution.buffer-timeout", -1.0, 500.0, true);
        for v in [-1, 0, 1, 7, 100, 500] {
            let u = p.to_unit(&Value::Int(v));
            assert!((0.0..=1.0).contains(&u));
            assert_eq!(p.from_unit(u), Value::Int(v));
        }
        // The log scale gives the special small values a real share of the cube.
        assert!(p.to_unit(&Value::Int(5)) > 0.25);
        assert_eq!(p.from_unit(0.0), Value::Int(-1));
        assert_eq!(p.from_unit(1.0), Value::Int(500));
        assert_eq!(p.from_unit(f64::NAN), Value::Int(-1));
    }

    #[test]
    fn formats_follow_flink() {
        let mut p = int("taskmanager.memory.flink.size", 1024.0, 40960.0, true);
        p.unit = Unit::Mb;
        p.format = Format::Memory;
        assert_eq!(p.format_value(&Value::Int(4096)), "4096m");
        p.unit = Unit::Kb;
        assert_eq!(p.format_value(&Value::Int(32)), "32kb");
        p.unit = Unit::Mb;
        p.format = Format::BytesSuffix;
        assert_eq!(p.format_value(&Value::Int(10)), "10485760b");
        p.unit = Unit::Kb;
        p.format = Format::Bytes;
        assert_eq!(p.format_value(&Value::Int(4)), "4096");
    }

    #[test]
    fn powers_of_two_stay_powers_of_two() {
        let mut p = int("taskmanager.memory.segment-size", 4.0, 1024.0, false);
        p.power_of_two = true;
        assert_eq!(p.levels(), Some(9));
        assert_eq!(
            p.int_values().unwrap(),
            vec![4, 8, 16, 32, 64, 128, 256, 512, 1024]
        );
        for k in 0..=100 {
            let Value::Int(v) = p.from_unit(k as f64 / 100.0) else {
                panic!()
            };
            assert!(v.count_ones() == 1 && (4..=1024).contains(&v), "{v}");
            assert_eq!(p.from_unit(p.to_unit(&Value::Int(v))), Value::Int(v));
        }
        // Evenly spread: each power takes a ninth of the unit interval.
        assert_eq!(p.from_unit(0.5), Value::Int(64));
        assert!(p.parse_value("48").is_err());
        p.min = Some(3.0);
        assert!(p.validate().is_err());
    }

    #[test]
    fn values_are_checked_against_kind_and_range() {
        let p = int("parallelism.default", 1.0, 200.0, true);
        assert!(p.parse_value("12").is_ok());
        assert!(p.parse_value("0").is_err());
        assert!(p.parse_value("1.5").is_err());
        let e = Param {
            kind: Kind::Enum,
            values: vec!["nio".into(), "epoll".into()],
            ..int("t", 0.0, 1.0, false)
        };
        assert!(e.parse_value("epoll").is_ok());
        assert!(e.parse_value("auto").is_err());
    }

    #[test]
    fn versions_say_where_a_key_exists() {
        let v = |s: &str| s.parse::<FlinkVersion>().unwrap();
        let mut p = int("taskmanager.memory.network.min", 16.0, 1024.0, true);
        assert!(p.exists_in(v("1.5")).unwrap());
        p.versions = Some(">=1.10, <2.0".into());
        assert!(p.validate().is_ok());
        assert!(p.exists_in(v("1.11")).unwrap());
        assert!(p.exists_in(v("1.10")).unwrap());
        assert!(!p.exists_in(v("1.9")).unwrap());
        assert!(!p.exists_in(v("2.0")).unwrap());
        p.versions = Some("=1.11".into());
        assert!(p.exists_in(v("1.11")).unwrap() && !p.exists_in(v("1.12")).unwrap());
        for bad in ["1.11", ">=eleven", "~1.11", ">=1.11,"] {
            p.versions = Some(bad.into());
            assert!(p.validate().is_err(), "{bad}");
        }
    }
}
