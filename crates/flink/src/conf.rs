//! Flink configuration files: the version-dependent file name and format, reading a base
//! configuration, applying tuned values on top, and writing a complete conf directory.
//!
//! Flink ≤ 1.18 reads `flink-conf.yaml` with its own line parser (split at `#`, then at
//! the first `": "`) — not YAML, so it is read and written here line by line. Flink 1.19+
//! reads `config.yaml`, standard YAML with nested keys, written with serde-saphyr and
//! typed scalars.

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// A flat Flink configuration: key → value in Flink's text format.
pub type FlatConf = BTreeMap<String, String>;

/// The legacy configuration file (Flink ≤ 1.18; still read by 1.19 and 1.20).
pub const LEGACY_FILE: &str = "flink-conf.yaml";
/// The standard-YAML configuration file (Flink ≥ 1.19; the only one in 2.x).
pub const YAML_FILE: &str = "config.yaml";

/// A Flink release line, e.g. 1.11 or 2.0.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct FlinkVersion {
    pub major: u32,
    pub minor: u32,
}

impl FromStr for FlinkVersion {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let mut parts = s.trim().split('.');
        let mut next = || parts.next().and_then(|p| p.parse::<u32>().ok());
        match (next(), next()) {
            (Some(major), Some(minor)) if (1..=2).contains(&major) => {
                Ok(FlinkVersion { major, minor })
            }
            _ => bail!("'{s}' is not a Flink version like 1.11 or 2.0"),
        }
    }
}

impl fmt::Display for FlinkVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

impl Serialize for FlinkVersion {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for FlinkVersion {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl FlinkVersion {
    /// The file this version's configuration is written to.
    pub fn conf_file(self) -> &'static str {
        if (self.major, self.minor) >= (1, 19) {
            YAML_FILE
        } else {
            LEGACY_FILE
        }
    }
}

/// Parses the legacy `flink-conf.yaml` format the way Flink does, but refuses lines Flink
/// would silently skip, naming `origin` and the line.
pub fn parse_flat(text: &str, origin: &str) -> Result<FlatConf> {
    let mut conf = FlatConf::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let Some((key, value)) = line.split_once(": ") else {
            bail!(
                "{origin}:{}: '{line}' is not a 'key: value' line (Flink would ignore it)",
                i + 1
            );
        };
        let (key, value) = (key.trim(), value.trim());
        if key.is_empty() || value.is_empty() {
            bail!("{origin}:{}: empty key or value in '{line}'", i + 1);
        }
        conf.insert(key.to_string(), value.to_string());
    }
    Ok(conf)
}

/// Writes the legacy flat format.
pub fn render_flat(conf: &FlatConf, header: &str) -> Result<String> {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    for (k, v) in conf {
        // Flink cuts a line at '#' and cannot continue one: such values cannot be written.
        if v.contains('#') || v.contains('\n') || k.contains(": ") {
            bail!("the value of '{k}' ('{v}') cannot be written to {LEGACY_FILE}");
        }
        out.push_str(&format!("{k}: {v}\n"));
    }
    Ok(out)
}

/// A YAML node of `config.yaml`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Node {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    Map(BTreeMap<String, Node>),
}

impl Node {
    /// A Flink text value as a typed YAML scalar, so `4` stays a number, not `"4"`.
    fn scalar(text: &str) -> Node {
        if let Ok(i) = text.parse::<i64>() {
            Node::Int(i)
        } else if let Some(f) = text.parse::<f64>().ok().filter(|f| f.is_finite()) {
            Node::Float(f)
        } else if text == "true" || text == "false" {
            Node::Bool(text == "true")
        } else {
            Node::Str(text.to_string())
        }
    }

    fn flatten(&self, prefix: &str, out: &mut FlatConf) {
        match self {
            Node::Map(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    v.flatten(&key, out);
                }
            }
            Node::Seq(items) => {
                let parts: Vec<String> = items.iter().map(Node::text).collect();
                out.insert(prefix.to_string(), parts.join(";"));
            }
            scalar => {
                out.insert(prefix.to_string(), scalar.text());
            }
        }
    }

    fn text(&self) -> String {
        match self {
            Node::Bool(b) => b.to_string(),
            Node::Int(i) => i.to_string(),
            Node::Float(f) => f.to_string(),
            Node::Str(s) => s.clone(),
            Node::Seq(_) | Node::Map(_) => String::new(),
        }
    }
}

/// Parses a standard-YAML `config.yaml` (nested or flat dotted keys) into a flat conf.
pub fn parse_yaml(text: &str, origin: &str) -> Result<FlatConf> {
    if text.trim().is_empty() {
        return Ok(FlatConf::new());
    }
    let node: Node = serde_saphyr::from_str(text).map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
    if !matches!(node, Node::Map(_)) {
        bail!("{origin}: the top level must be a mapping of keys to values");
    }
    let mut out = FlatConf::new();
    node.flatten("", &mut out);
    Ok(out)
}

/// Writes `config.yaml`: keys nested at their dots, except where a key is also the prefix
/// of another (`a.b` and `a.b.c`), which YAML cannot nest; those stay flat and dotted,
/// which Flink accepts too.
pub fn render_yaml(conf: &FlatConf, header: &str) -> Result<String> {
    let is_prefix = |k: &str| {
        let p = format!("{k}.");
        conf.keys().any(|other| other.starts_with(&p))
    };
    let mut root: BTreeMap<String, Node> = BTreeMap::new();
    for (k, v) in conf {
        let path: Vec<&str> = if is_prefix(k) || k.split('.').any(|p| p.is_empty()) {
            vec![k.as_str()]
        } else {
            k.split('.').collect()
        };
        insert_path(&mut root, &path, Node::scalar(v))
            .with_context(|| format!("cannot nest key '{k}' in {YAML_FILE}"))?;
    }
    let body = serde_saphyr::to_string(&root).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut out: String = header.lines().map(|l| format!("# {l}\n")).collect();
    out.push_str(&body);
    Ok(out)
}

/// A Flink text value as the typed YAML scalar `config.yaml` holds (`4` a number, `1 gb` a
/// string, quoted where YAML needs it), for a flat dotted-key line `key: <scalar>`.
pub fn yaml_scalar(text: &str) -> Result<String> {
    let out = serde_saphyr::to_string(&Node::scalar(text)).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(out.trim_end().to_string())
}

fn insert_path(map: &mut BTreeMap<String, Node>, path: &[&str], value: Node) -> Result<()> {
    let (first, rest) = path.split_first().context("empty key")?;
    if rest.is_empty() {
        map.insert(first.to_string(), value);
        return Ok(());
    }
    let entry = map
        .entry(first.to_string())
        .or_insert_with(|| Node::Map(BTreeMap::new()));
    match entry {
        Node::Map(inner) => insert_path(inner, rest, value),
        _ => bail!("'{first}' is both a value and a section"),
    }
}

/// A base configuration: the flat keys and, when it came from a directory, the other
/// files of that directory (log4j properties, …) to copy alongside.
#[derive(Clone, Debug, Default)]
pub struct BaseConf {
    pub conf: FlatConf,
    pub extra_files: Vec<std::path::PathBuf>,
    /// The file the keys were read from (None: built in), so a key can be located there.
    pub source: Option<std::path::PathBuf>,
}

impl BaseConf {
    /// Reads a base configuration from a file, or from a conf directory holding
    /// `config.yaml` or `flink-conf.yaml`.
    pub fn load(path: &Path) -> Result<BaseConf> {
        if path.is_dir() {
            let mut base = BaseConf::default();
            let mut found = false;
            let mut entries: Vec<_> = std::fs::read_dir(path)
                .with_context(|| format!("cannot read {}", path.display()))?
                .collect::<std::io::Result<_>>()?;
            entries.sort_by_key(|e| e.file_name());
            for entry in entries {
                let p = entry.path();
                let name = entry.file_name().to_string_lossy().to_string();
                if (name == YAML_FILE || name == LEGACY_FILE) && !found {
                    base.conf = read_conf_file(&p)?;
                    base.source = Some(p);
                    found = true;
                } else if p.is_file() && name != YAML_FILE && name != LEGACY_FILE {
                    base.extra_files.push(p);
                }
            }
            if !found {
                bail!(
                    "{} holds neither {YAML_FILE} nor {LEGACY_FILE}",
                    path.display()
                );
            }
            Ok(base)
        } else {
            Ok(BaseConf {
                conf: read_conf_file(path)?,
                extra_files: vec![],
                source: Some(path.to_path_buf()),
            })
        }
    }
}

/// The 1-based line of a configuration file's text that sets the dotted `key`, whether the
/// file writes it flat (`a.b.c: 1`, both formats) or nested under parent keys (`config.yaml`).
pub fn line_of_conf_key(text: &str, key: &str) -> Option<usize> {
    // The open parent keys: (indentation, dotted name so far).
    let mut parents: Vec<(usize, String)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("");
        let Some((name, _)) = line.trim().split_once(':') else {
            continue;
        };
        let indent = line.len() - line.trim_start().len();
        while parents.last().is_some_and(|(at, _)| *at >= indent) {
            parents.pop();
        }
        let name = name.trim().trim_matches(|c| c == '"' || c == '\'');
        let path = match parents.last() {
            Some((_, parent)) => format!("{parent}.{name}"),
            None => name.to_string(),
        };
        if path == key {
            return Some(i + 1);
        }
        parents.push((indent, path));
    }
    None
}

/// Reads a configuration file, choosing the parser from its name.
pub fn read_conf_file(path: &Path) -> Result<FlatConf> {
    // Only a regular file: reading a named pipe would wait for a writer forever.
    let meta =
        std::fs::metadata(path).with_context(|| format!("cannot read {}", path.display()))?;
    if !meta.is_file() {
        bail!("{} is not a regular file", path.display());
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let origin = path.display().to_string();
    if path.file_name().is_some_and(|n| n == YAML_FILE) {
        parse_yaml(&text, &origin)
    } else {
        parse_flat(&text, &origin)
    }
}

/// Reads the configuration of a conf directory, whichever file it holds.
pub fn read_conf_dir(dir: &Path) -> Result<FlatConf> {
    let yaml = dir.join(YAML_FILE);
    if yaml.exists() {
        read_conf_file(&yaml)
    } else {
        read_conf_file(&dir.join(LEGACY_FILE))
    }
}

/// The effective configuration: the base, less the keys the tuned values supersede, plus
/// the tuned values.
pub fn apply(base: &FlatConf, tuned: &[(String, String)], replaced: &[String]) -> FlatConf {
    let mut conf = base.clone();
    for key in replaced {
        conf.remove(key);
    }
    for (k, v) in tuned {
        conf.insert(k.clone(), v.clone());
    }
    conf
}

/// Writes a complete conf directory for `version` (the directory must exist).
pub fn write_conf_dir(
    dir: &Path,
    version: FlinkVersion,
    conf: &FlatConf,
    extra_files: &[std::path::PathBuf],
    header: &str,
) -> Result<()> {
    let file = version.conf_file();
    let text = if file == YAML_FILE {
        render_yaml(conf, header)?
    } else {
        render_flat(conf, header)?
    };
    std::fs::write(dir.join(file), text)
        .with_context(|| format!("cannot write {}", dir.join(file).display()))?;
    for src in extra_files {
        if let Some(name) = src.file_name() {
            std::fs::copy(src, dir.join(name))
                .with_context(|| format!("cannot copy {}", src.display()))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conf(pairs: &[(&str, &str)]) -> FlatConf {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn flat_format_reads_like_flinks_parser() {
        let text = "# comment\npipeline.name: my job: v2\nparallelism.default: 4 # four\n\n";
        let c = parse_flat(text, "f").unwrap();
        assert_eq!(c["pipeline.name"], "my job: v2");
        assert_eq!(c["parallelism.default"], "4");
        let err = parse_flat("a: 1\nbroken line\n", "conf/flink-conf.yaml").unwrap_err();
        assert!(err.to_string().contains("conf/flink-conf.yaml:2"), "{err}");
    }

    #[test]
    fn flat_round_trip() {
        let c = conf(&[
            ("taskmanager.memory.flink.size", "4096m"),
            ("akka.framesize", "10485760b"),
        ]);
        let text = render_flat(&c, "written by flinktune").unwrap();
        assert!(text.starts_with("# written by flinktune\n"));
        assert!(text.contains("akka.framesize: 10485760b\n"));
        assert_eq!(parse_flat(&text, "t").unwrap(), c);
        assert!(render_flat(&conf(&[("a", "x#y")]), "").is_err());
    }

    #[test]
    fn yaml_is_nested_typed_and_round_trips() {
        let c = conf(&[
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.numberOfTaskSlots", "4"),
            ("execution.buffer-timeout", "10"),
            ("execution.buffer-timeout.enabled", "true"),
            ("taskmanager.memory.network.fraction", "0.15"),
        ]);
        let text = render_yaml(&c, "h").unwrap();
        // Numbers are numbers, not quoted strings; nesting where possible.
        assert!(text.contains("numberOfTaskSlots: 4\n"), "{text}");
        assert!(text.contains("process:\n"), "{text}");
        assert!(!text.contains("\"4\""), "{text}");
        // A key that is the prefix of another stays flat.
        assert!(text.contains("buffer-timeout: 10"), "{text}");
        assert_eq!(parse_yaml(&text, "t").unwrap(), c);
    }

    #[test]
    fn yaml_errors_name_the_origin() {
        let err = parse_yaml("a: [1,\n", "conf/config.yaml").unwrap_err();
        assert!(err.to_string().contains("conf/config.yaml"), "{err}");
    }

    #[test]
    fn versions_pick_their_file() {
        let v: FlinkVersion = "1.11".parse().unwrap();
        assert_eq!(v.conf_file(), LEGACY_FILE);
        assert_eq!(
            "1.19".parse::<FlinkVersion>().unwrap().conf_file(),
            YAML_FILE
        );
        assert_eq!(
            "2.0".parse::<FlinkVersion>().unwrap().conf_file(),
            YAML_FILE
        );
        assert!("eleven".parse::<FlinkVersion>().is_err());
        assert!("3.0".parse::<FlinkVersion>().is_err());
    }

    #[test]
    fn keys_are_located_flat_and_nested() {
        let text = "# c\na.b: 1\ntaskmanager:\n  memory:\n    process.size: 1g\n  numberOfTaskSlots: 2\nx: 3\n";
        assert_eq!(line_of_conf_key(text, "a.b"), Some(2));
        assert_eq!(
            line_of_conf_key(text, "taskmanager.memory.process.size"),
            Some(5)
        );
        assert_eq!(
            line_of_conf_key(text, "taskmanager.numberOfTaskSlots"),
            Some(6)
        );
        assert_eq!(line_of_conf_key(text, "x"), Some(7));
        assert_eq!(line_of_conf_key(text, "memory.process.size"), None);
    }

    #[test]
    fn apply_removes_superseded_keys() {
        let base = conf(&[("taskmanager.memory.process.size", "1728m"), ("a", "1")]);
        let out = apply(
            &base,
            &[("taskmanager.memory.flink.size".into(), "4096m".into())],
            &["taskmanager.memory.process.size".into()],
        );
        assert_eq!(
            out,
            conf(&[("a", "1"), ("taskmanager.memory.flink.size", "4096m")])
        );
    }
}
