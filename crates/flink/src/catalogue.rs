//! The catalogues and base configurations shipped inside the binary, by name: the
//! parameters a study may tune and the configuration Flink ships for each version.

use crate::conf::{BaseConf, FlinkVersion};
use crate::space::Space;
use anyhow::{Result, bail};

/// A catalogue shipped inside the binary.
pub struct Builtin {
    pub name: &'static str,
    /// The Flink release lines it is written for (the first is its `flink_version`).
    pub versions: &'static [&'static str],
    /// The catalogue file, comments and all (what `flinktune catalogue show` prints).
    pub text: &'static str,
}

/// Every built-in catalogue. `init --flink-version V` takes the first key-parameter
/// catalogue written for V.
pub const BUILTIN_CATALOGUES: &[Builtin] = &[
    Builtin {
        name: "flink-1.11-key-params",
        versions: &["1.11"],
        text: include_str!("../../../configs/flink-1.11-key-params.toml"),
    },
    Builtin {
        name: "flink-1.11-candidates",
        versions: &["1.11"],
        text: include_str!("../../../configs/flink-1.11-candidates.toml"),
    },
    Builtin {
        name: "flink-1.18-key-params",
        versions: &["1.18"],
        text: include_str!("../../../configs/flink-1.18-key-params.toml"),
    },
    Builtin {
        name: "flink-1.19-key-params",
        versions: &["1.19"],
        text: include_str!("../../../configs/flink-1.19-key-params.toml"),
    },
    Builtin {
        name: "flink-1.20-key-params",
        versions: &["1.20"],
        text: include_str!("../../../configs/flink-1.20-key-params.toml"),
    },
    Builtin {
        name: "flink-2-key-params",
        versions: &["2.0", "2.1", "2.2", "2.3"],
        text: include_str!("../../../configs/flink-2-key-params.toml"),
    },
    Builtin {
        name: "demeter-resources",
        versions: &["1.11", "1.18", "1.19", "1.20", "2.0", "2.1", "2.2", "2.3"],
        text: include_str!("../../../configs/demeter-resources.toml"),
    },
];

// By Flink version; "2" serves every 2.x release.
pub const BUILTIN_BASE_CONFS: &[(&str, &str)] = &[
    (
        "1.11",
        include_str!("../../../configs/flink-1.11-default-conf.yaml"),
    ),
    (
        "1.18",
        include_str!("../../../configs/flink-1.18-default-conf.yaml"),
    ),
    (
        "1.19",
        include_str!("../../../configs/flink-1.19-default-config.yaml"),
    ),
    (
        "1.20",
        include_str!("../../../configs/flink-1.20-default-config.yaml"),
    ),
    (
        "2",
        include_str!("../../../configs/flink-2-default-config.yaml"),
    ),
];

/// The built-in catalogue `name` (None: no such built-in).
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTIN_CATALOGUES.iter().find(|b| b.name == name)
}

/// The built-in catalogue `name`, parsed (None: no such built-in).
pub fn builtin_catalogue(name: &str) -> Option<Result<(crate::space::Catalogue, Space)>> {
    builtin(name).map(|b| Space::from_catalogue_text(b.text, &builtin_origin(name)))
}

/// How a built-in catalogue is named in messages.
pub fn builtin_origin(name: &str) -> String {
    format!("built-in catalogue '{name}'")
}

/// The names of the built-in catalogues.
pub fn builtin_catalogue_names() -> Vec<&'static str> {
    BUILTIN_CATALOGUES.iter().map(|b| b.name).collect()
}

/// The text of the built-in catalogue `name`, or an error listing the built-ins.
pub fn builtin_text(name: &str) -> Result<&'static str> {
    match builtin(name) {
        Some(b) => Ok(b.text),
        None => bail!(
            "no built-in catalogue '{name}' (have: {})",
            builtin_catalogue_names().join(", ")
        ),
    }
}

/// One line per built-in catalogue: name, Flink versions, parameter count.
pub fn describe_builtins() -> Result<String> {
    let rows: Vec<(&str, String, usize)> = BUILTIN_CATALOGUES
        .iter()
        .map(|b| {
            let (_, space) = Space::from_catalogue_text(b.text, &builtin_origin(b.name))?;
            Ok((b.name, b.versions.join(", "), space.len()))
        })
        .collect::<Result<_>>()?;
    let width = rows.iter().map(|r| r.1.len()).max().unwrap_or(0);
    let mut out = format!("{:<24} {:<width$}  PARAMETERS\n", "NAME", "FLINK VERSIONS");
    for (name, versions, count) in rows {
        out.push_str(&format!("{name:<24} {versions:<width$}  {count}\n"));
    }
    Ok(out)
}

/// The key-parameter catalogue written for Flink `version` (None: no built-in for it).
pub fn key_params_for(version: FlinkVersion) -> Option<&'static Builtin> {
    let v = version.to_string();
    BUILTIN_CATALOGUES
        .iter()
        .find(|b| b.name.ends_with("-key-params") && b.versions.contains(&v.as_str()))
}

/// The configuration Flink `version` ships (every 2.x shares one).
pub fn builtin_base(version: FlinkVersion) -> Result<BaseConf> {
    let Some(text) = builtin_base_text(version) else {
        let have: Vec<&str> = BUILTIN_BASE_CONFS.iter().map(|(v, _)| *v).collect();
        bail!(
            "no built-in base configuration for Flink {version} (have: {}); set base_conf",
            have.join(", ")
        );
    };
    let origin = format!("built-in Flink {version} config");
    // The ≥ 1.19 files are YAML (flat dotted keys), parsed as Flink parses config.yaml.
    let conf = if version.conf_file() == crate::conf::YAML_FILE {
        crate::conf::parse_yaml(text, &origin)?
    } else {
        crate::conf::parse_flat(text, &origin)?
    };
    Ok(BaseConf {
        conf,
        extra_files: vec![],
        source: None,
    })
}

/// The text of the built-in base configuration of `version` (None: none for it).
pub fn builtin_base_text(version: FlinkVersion) -> Option<&'static str> {
    let key = if version.major >= 2 {
        "2".to_string()
    } else {
        version.to_string()
    };
    BUILTIN_BASE_CONFS
        .iter()
        .find(|(v, _)| *v == key)
        .map(|(_, t)| *t)
}

#[cfg(test)]
mod tests;
