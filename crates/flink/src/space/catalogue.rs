//! A catalogue file and the space it declares: the ordered, checked set of tuned parameters,
//! and the views of a configuration the rest of flinktune uses (effective values, unit cube,
//! features, Flink entries, replaced keys, JSON).

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::space::param::{Kind, Param, Value};

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
        let space = Space { params };
        for p in &space.params {
            space
                .switch_of(p)
                .with_context(|| format!("parameter '{}'", p.name))?;
        }
        Ok(space)
    }

    /// The index of the bool parameter `p` acts under (`active_when`), if any.
    pub fn switch_of(&self, p: &Param) -> Result<Option<usize>> {
        let Some(name) = &p.active_when else {
            return Ok(None);
        };
        if matches!(p.kind, Kind::Bool | Kind::Enum) {
            bail!("active_when is for int and float parameters");
        }
        match self.index_of(name) {
            Some(i) if self.params[i].kind == Kind::Bool => Ok(Some(i)),
            _ => bail!(
                "active_when = \"{name}\" must name a bool parameter of the catalogue \
                 (without the switch in the catalogue, leave active_when out)"
            ),
        }
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
        // Only a regular file: reading a named pipe would wait for a writer forever.
        if !path.is_file() {
            bail!("catalogue {} is not a regular file", path.display());
        }
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
