//! Loading a study: the file parsed, the settings that depend on one another checked, the
//! catalogue resolved for the study's Flink version and the base configuration read. Every
//! error names the file, the line and the key at fault.

use crate::study::file::{AdapterKind, StudyFile};
use crate::study::{STUDY_FILE, Study, objectives};
use anyhow::{Context, Result, bail};
use flink::catalogue;
use flink::conf::{BaseConf, FlinkVersion};
use flink::sim::ClusterMode;
use flink::space::{Catalogue, Space};
use flink::toml_error::{line_of_key, toml_error};
use std::path::Path;

impl Study {
    /// Loads and checks the study in `dir`.
    pub fn load(dir: &Path) -> Result<Study> {
        let (origin, text) = read_study_file(dir)?;
        let file: StudyFile = toml::from_str(&text).map_err(|e| toml_error(&origin, &text, &e))?;
        let fail = |key: &str, why: String| -> anyhow::Error {
            let line = line_of_key(&text, key)
                .map(|n| format!(":{n}"))
                .unwrap_or_default();
            anyhow::anyhow!("{origin}{line}: key `{key}`: {why}")
        };
        check_adapter_and_cluster(&file).map_err(|(key, why)| fail(key, why))?;
        check_search_and_rates(&file).map_err(|(key, why)| fail(key, why))?;
        let (catalogue, space) = load_catalogue(dir, &file.catalogue)
            .map_err(|e| fail("catalogue", format!("{e:#}")))?;
        let (space, absent) = for_version(space, file.flink_version)
            .map_err(|e| fail("catalogue", format!("{e:#}")))?;
        let catalogue_version: FlinkVersion = catalogue
            .flink_version
            .parse()
            .map_err(|e| fail("catalogue", format!("{e:#}")))?;
        check_translatable(&file, &space, catalogue_version)
            .map_err(|why| fail("flink_version", why))?;
        let base = match &file.base_conf {
            Some(p) => {
                BaseConf::load(&dir.join(p)).map_err(|e| fail("base_conf", format!("{e:#}")))?
            }
            None => catalogue::builtin_base(file.flink_version)
                .map_err(|e| fail("flink_version", format!("{e:#}")))?,
        };
        Ok(Study {
            dir: dir.to_path_buf(),
            file,
            catalogue,
            space,
            base,
            catalogue_version,
            absent,
        })
    }
}

/// A key at fault and why.
type Refusal = (&'static str, String);

/// The study file's origin (for messages) and text.
fn read_study_file(dir: &Path) -> Result<(String, String)> {
    let path = dir.join(STUDY_FILE);
    if !dir.is_dir() {
        bail!(
            "there is no study directory {}: create one with `flinktune init {}`",
            dir.display(),
            dir.display()
        );
    }
    let text = crate::fsx::read_text(&path).with_context(|| {
        format!(
            "cannot read {}: is {} a study directory? (`flinktune init` writes one)",
            path.display(),
            dir.display()
        )
    })?;
    Ok((path.display().to_string(), text))
}

/// A command adapter names its command; Kubernetes-only settings need that cluster.
fn check_adapter_and_cluster(file: &StudyFile) -> std::result::Result<(), Refusal> {
    match (file.adapter.kind, &file.adapter.command) {
        (AdapterKind::Command, None) => {
            return Err((
                "adapter.command",
                "kind = \"command\" needs a command".into(),
            ));
        }
        (AdapterKind::Command, Some(c)) if c.trim().is_empty() => {
            return Err(("adapter.command", "the command is empty".into()));
        }
        _ => {}
    }
    if file.sim.cluster == ClusterMode::Fixed {
        for (key, set) in [
            ("sim.max_taskmanagers", file.sim.max_taskmanagers.is_some()),
            ("sim.pod_startup_s", file.sim.pod_startup_s.is_some()),
        ] {
            if set {
                return Err((
                    key,
                    "only applies to cluster = \"kubernetes\" (the fixed cluster has 4 TaskManagers)"
                        .into(),
                ));
            }
        }
    }
    Ok(())
}

/// The search's budget holds its initial design; the rates a stage names are the study's.
fn check_search_and_rates(file: &StudyFile) -> std::result::Result<(), Refusal> {
    let budget = file.search.budget;
    let includes_design = || {
        format!("must be below search.budget ({budget}): the budget includes the initial design")
    };
    if file.search.initial.is_some_and(|i| i >= budget) {
        return Err(("search.initial", includes_design()));
    }
    if !file.search.transfer_from.is_empty() && file.search.transfer_initial >= budget {
        return Err(("search.transfer_initial", includes_design()));
    }
    for (key, rate) in [
        ("search.rate", file.search.rate),
        ("determine.rate", file.determine.rate),
    ] {
        if let Some(rate) = rate
            && !file.rates.contains(&rate)
        {
            return Err((
                key,
                format!("{rate} is not one of the study's rates {:?}", file.rates),
            ));
        }
    }
    objectives::validate(&file.search)
}

/// A catalogue of another version is translated key by key when configurations are
/// written; parameters the target version does not have are refused, since Flink would
/// silently ignore them.
fn check_translatable(
    file: &StudyFile,
    space: &Space,
    catalogue_version: FlinkVersion,
) -> std::result::Result<(), String> {
    let missing: Vec<String> = space
        .params
        .iter()
        .filter_map(|p| {
            flink::versions::missing(&p.name, catalogue_version, file.flink_version)
                .map(|why| format!("{} ({why})", p.name))
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "the catalogue '{}' (Flink {catalogue_version}) has parameters that do not exist in \
         Flink {}: {}; use a copy of the catalogue without them",
        file.catalogue,
        file.flink_version,
        missing.join(", ")
    ))
}

/// Keeps the parameters that exist in `version`; returns the rest's names.
fn for_version(space: Space, version: FlinkVersion) -> Result<(Space, Vec<String>)> {
    let mut keep = Vec::new();
    let mut absent = Vec::new();
    for p in space.params {
        if p.exists_in(version)? {
            keep.push(p);
        } else {
            absent.push(p.name);
        }
    }
    if keep.is_empty() {
        bail!("none of the catalogue's parameters exists in Flink {version}");
    }
    Ok((Space::new(keep)?, absent))
}

fn load_catalogue(dir: &Path, name: &str) -> Result<(Catalogue, Space)> {
    if let Some(builtin) = catalogue::builtin_catalogue(name) {
        return builtin;
    }
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "'{name}' is neither a built-in catalogue ({}) nor a file ({} does not exist)",
            catalogue::builtin_catalogue_names().join(", "),
            path.display()
        );
    }
    Space::load(&path)
}
