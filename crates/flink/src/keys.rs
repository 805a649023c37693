//! The configuration keys each supported Flink release knows, as Flink declares them: every
//! `ConfigOption` of the distribution with its deprecated and fallback keys and default.
//! The data files (`crates/flink/keys/MAJOR.MINOR.tsv`) are generated from the real
//! distributions by `scripts/gen-keysets.sh`, which documents their format; they are embedded
//! so a key is checked without a Flink installation.
//!
//! Flink silently ignores a key it does not know, so a typo or a key of another release would
//! be tuned while doing nothing: [`KeySet::check`] tells known, deprecated and unknown keys
//! apart, and names the closest known key for an unknown one.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};

use crate::conf::FlinkVersion;

/// The embedded key sets, by release line.
const DATA: &[(&str, &str)] = &[
    ("1.11", include_str!("../keys/1.11.tsv")),
    ("1.18", include_str!("../keys/1.18.tsv")),
    ("1.19", include_str!("../keys/1.19.tsv")),
    ("1.20", include_str!("../keys/1.20.tsv")),
    ("2.0", include_str!("../keys/2.0.tsv")),
    ("2.1", include_str!("../keys/2.1.tsv")),
    ("2.2", include_str!("../keys/2.2.tsv")),
    ("2.3", include_str!("../keys/2.3.tsv")),
];

/// Key families Flink reads by prefix rather than as declared options (reporters by name,
/// file-system settings passed through to Hadoop / the S3, GCS, Azure and OSS clients,
/// environment variables of containers), so no key set lists them.
const PREFIX_FAMILIES: &[&str] = &[
    "metrics.reporter.",
    "containerized.master.env.",
    "containerized.taskmanager.env.",
    "s3.",
    "fs.s3a.",
    "fs.azure.",
    "fs.oss.",
    "fs.gs.",
    "gs.",
    "flink.hadoop.",
];

/// What a name is in a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    /// An option's own key; `deprecated` when Flink marks the option deprecated.
    Option {
        deprecated: bool,
        default: Option<String>,
    },
    /// A deprecated key Flink still reads as `target`.
    DeprecatedKey { target: String },
    /// A fallback key Flink reads as `target` when `target` is unset.
    FallbackKey { target: String },
}

/// The keys of one Flink release line.
#[derive(Debug)]
pub struct KeySet {
    pub version: FlinkVersion,
    /// The release the data was generated from, e.g. "1.20.5".
    pub release: String,
    roles: BTreeMap<String, Vec<Role>>,
}

/// What a key is to a release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// A current option's key.
    Known,
    /// Flink reads it but deprecates it; `successor` is the key to use (when Flink names one).
    Deprecated { successor: Option<String> },
    /// Flink does not know it; `closest` is the most similar known key.
    Unknown { closest: Option<String> },
}

/// The releases with a key set.
pub fn supported_versions() -> Vec<FlinkVersion> {
    DATA.iter()
        .map(|(v, _)| v.parse().expect("embedded version"))
        .collect()
}

/// The key set of `version` (None: no key set for that release line).
pub fn key_set(version: FlinkVersion) -> Option<&'static KeySet> {
    static SETS: OnceLock<Vec<KeySet>> = OnceLock::new();
    let sets = SETS.get_or_init(|| {
        DATA.iter()
            .map(|(v, text)| {
                let origin = format!("crates/flink/keys/{v}.tsv");
                KeySet::parse(v.parse().expect("embedded version"), text, &origin)
                    .expect("embedded key set")
            })
            .collect()
    });
    sets.iter().find(|s| s.version == version)
}

impl KeySet {
    /// Parses a key-set file (see `scripts/gen-keysets.sh`); `origin` names it in errors.
    pub fn parse(version: FlinkVersion, text: &str, origin: &str) -> Result<KeySet> {
        let mut lines = text.lines();
        let release = lines
            .next()
            .and_then(|l| l.strip_prefix("# Flink "))
            .and_then(|l| l.split_whitespace().next())
            .with_context(|| format!("{origin}:1: no '# Flink RELEASE …' header"))?
            .to_string();
        let mut roles: BTreeMap<String, Vec<Role>> = BTreeMap::new();
        for (i, line) in lines.enumerate() {
            let (key, role) =
                parse_row(line).with_context(|| format!("{origin}:{}: bad row", i + 2))?;
            roles.entry(key).or_default().push(role);
        }
        Ok(KeySet {
            version,
            release,
            roles,
        })
    }

    /// Whether Flink reads `key` in this release (under any role, or by a prefix family).
    pub fn contains(&self, key: &str) -> bool {
        self.roles.contains_key(key) || PREFIX_FAMILIES.iter().any(|p| key.starts_with(p))
    }

    /// What `key` is in this release.
    pub fn check(&self, key: &str) -> Status {
        let Some(roles) = self.roles.get(key) else {
            if self.contains(key) {
                return Status::Known;
            }
            return Status::Unknown {
                closest: self.closest(key),
            };
        };
        let current = roles.iter().any(|r| {
            matches!(
                r,
                Role::Option {
                    deprecated: false,
                    ..
                }
            )
        });
        if current {
            return Status::Known;
        }
        Status::Deprecated {
            successor: self.successor(key),
        }
    }

    /// The current key Flink reads `key` as, when `key` is a deprecated or fallback key.
    pub fn successor(&self, key: &str) -> Option<String> {
        self.roles.get(key)?.iter().find_map(|r| match r {
            Role::DeprecatedKey { target } | Role::FallbackKey { target } => Some(target.clone()),
            Role::Option { .. } => None,
        })
    }

    /// The default Flink declares for the option `key` (None: none, or not an option).
    pub fn default_of(&self, key: &str) -> Option<&str> {
        self.roles.get(key)?.iter().find_map(|r| match r {
            Role::Option { default, .. } => default.as_deref(),
            _ => None,
        })
    }

    /// The known key most similar to `key` (normalised Damerau–Levenshtein similarity, the
    /// same measure for every key so a short typo and a long one are judged alike).
    pub fn closest(&self, key: &str) -> Option<String> {
        self.roles
            .keys()
            .map(|k| (strsim::normalized_damerau_levenshtein(key, k), k))
            .filter(|(score, _)| *score >= 0.5)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, k)| k.clone())
    }

    /// Every name this release reads (options, deprecated and fallback keys).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.roles.keys().map(String::as_str)
    }
}

fn parse_row(line: &str) -> Result<(String, Role)> {
    let cols: Vec<&str> = line.split('\t').collect();
    let [key, kind, target, default] = cols[..] else {
        bail!("expected 4 tab-separated columns, found {}", cols.len());
    };
    let text = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let role = match kind {
        "option" | "option-deprecated" => Role::Option {
            deprecated: kind == "option-deprecated",
            default: text(default),
        },
        "deprecated" => Role::DeprecatedKey {
            target: target.to_string(),
        },
        "fallback" => Role::FallbackKey {
            target: target.to_string(),
        },
        other => bail!("unknown kind '{other}'"),
    };
    if key.is_empty() {
        bail!("empty key");
    }
    Ok((key.to_string(), role))
}

/// A problem with one key of a file, for the caller to report with the file's line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Finding {
    Unknown {
        key: String,
        closest: Option<String>,
    },
    Deprecated {
        key: String,
        successor: Option<String>,
    },
}

impl Finding {
    pub fn key(&self) -> &str {
        match self {
            Finding::Unknown { key, .. } | Finding::Deprecated { key, .. } => key,
        }
    }

    /// The message, without the location: "unknown key `x` … did you mean `y`?".
    pub fn message(&self, set: &KeySet) -> String {
        match self {
            Finding::Unknown { key, closest } => {
                let hint = closest
                    .as_ref()
                    .map(|c| format!("; did you mean `{c}`?"))
                    .unwrap_or_default();
                format!(
                    "key `{key}` does not exist in Flink {} (Flink ignores keys it does not \
                     know){hint} (a plugin's own option: list it in allow_unknown_keys)",
                    set.release
                )
            }
            Finding::Deprecated { key, successor } => match successor {
                Some(s) => format!(
                    "key `{key}` is deprecated in Flink {}: use `{s}`",
                    set.release
                ),
                None => format!(
                    "key `{key}` is deprecated in Flink {} (no successor: Flink still reads it)",
                    set.release
                ),
            },
        }
    }
}

/// Checks `keys` against the key set; `allowed` are exact keys or prefixes ending in '.' or
/// ".*" that a user's plugins read.
pub fn check_keys<'a>(
    set: &KeySet,
    keys: impl IntoIterator<Item = &'a str>,
    allowed: &[String],
) -> Vec<Finding> {
    let is_allowed = |key: &str| {
        allowed.iter().any(|a| {
            let prefix = a.strip_suffix('*').unwrap_or(a);
            a == key || (prefix.ends_with('.') && key.starts_with(prefix))
        })
    };
    keys.into_iter()
        // flinktune's own deployment keys (`flinktune.taskmanagers`): read by the simulator
        // and the deployment hooks, never by Flink.
        .filter(|k| !is_allowed(k) && !k.starts_with("flinktune."))
        .filter_map(|key| match set.check(key) {
            Status::Known => None,
            Status::Deprecated { successor } => Some(Finding::Deprecated {
                key: key.to_string(),
                successor,
            }),
            Status::Unknown { closest } => Some(Finding::Unknown {
                key: key.to_string(),
                closest,
            }),
        })
        .collect()
}

#[cfg(test)]
mod tests;
