//! The catalogues and base configurations shipped inside the binary, by name: the
//! parameters a study may tune and the configuration Flink ships for each version.

use crate::conf::{BaseConf, FlinkVersion};
use crate::space::Space;
use anyhow::{Result, bail};

/// Catalogues and base configurations shipped inside the binary, by name.
pub const BUILTIN_CATALOGUES: &[(&str, &str)] = &[
    (
        "flink-1.11-key-params",
        include_str!("../../../configs/flink-1.11-key-params.toml"),
    ),
    (
        "flink-1.11-candidates",
        include_str!("../../../configs/flink-1.11-candidates.toml"),
    ),
    (
        "demeter-resources",
        include_str!("../../../configs/demeter-resources.toml"),
    ),
];
// By Flink version; "2" serves every 2.x release.
pub const BUILTIN_BASE_CONFS: &[(&str, &str)] = &[
    (
        "1.11",
        include_str!("../../../configs/flink-1.11-default-conf.yaml"),
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

/// The built-in catalogue `name`, parsed (None: no such built-in).
pub fn builtin_catalogue(name: &str) -> Option<Result<(crate::space::Catalogue, Space)>> {
    BUILTIN_CATALOGUES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, text)| Space::from_catalogue_text(text, &format!("built-in catalogue '{name}'")))
}

/// The names of the built-in catalogues.
pub fn builtin_catalogue_names() -> Vec<&'static str> {
    BUILTIN_CATALOGUES.iter().map(|(n, _)| *n).collect()
}

/// The configuration Flink `version` ships (every 2.x shares one).
pub fn builtin_base(version: FlinkVersion) -> Result<BaseConf> {
    let key = if version.major >= 2 {
        "2".to_string()
    } else {
        version.to_string()
    };
    let Some((_, text)) = BUILTIN_BASE_CONFS.iter().find(|(v, _)| *v == key) else {
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
    })
}
