//! Loading a study: the file parsed, the settings that depend on one another checked, the
//! catalogue resolved for the study's Flink version and the base configuration read. Every
//! error names the file, the line and the key at fault.

use crate::study::file::{AdapterKind, StudyFile};
use crate::study::keycheck::{self, Source};
use crate::study::{STUDY_FILE, Study, objectives};
use anyhow::{Context, Result, bail};
use flink::catalogue;
use flink::conf::{BaseConf, FlinkVersion};
use flink::sim::ClusterMode;
use flink::space::{Catalogue, Space};
use flink::toml_error::{line_of_key, toml_error};
use std::path::Path;

/// Where `determine` writes its catalogue, relative to the study directory.
pub const SELECTED_CATALOGUE: &str = "determine/selected.toml";

impl Study {
    /// Loads and checks the study in `dir`. With `[determine] before_tune = true` and a
    /// finished `determine`, the catalogue is `determine/selected.toml` (what every stage
    /// after `determine` tunes); `load_for_screening` gives the catalogue `determine`
    /// screens.
    pub fn load(dir: &Path) -> Result<Study> {
        Study::load_as(dir, false)
    }

    /// Loads and checks the study in `dir` with the catalogue the study file names (the
    /// one `determine` screens), whatever `[determine] before_tune` says.
    pub fn load_for_screening(dir: &Path) -> Result<Study> {
        Study::load_as(dir, true)
    }

    /// Whether the study asks `tune` to screen first and `determine` has not written its
    /// catalogue yet: the stages after it refuse to start then (they would tune the broad
    /// catalogue).
    pub fn awaits_screening(&self) -> bool {
        self.file.determine.before_tune && !self.dir.join(SELECTED_CATALOGUE).is_file()
    }

    /// Refuses to start a tuning stage of a study that awaits its screening.
    pub fn require_screened(&self, stage: &str) -> Result<()> {
        if self.awaits_screening() {
            bail!(
                "{}: [determine] before_tune = true, but {} does not exist yet: run `flinktune determine {}` (or `flinktune tune`) before {stage}",
                self.dir.join(STUDY_FILE).display(),
                SELECTED_CATALOGUE,
                self.dir.display()
            );
        }
        Ok(())
    }

    fn load_as(dir: &Path, screening: bool) -> Result<Study> {
        let (origin, text) = read_study_file(dir)?;
        let file: StudyFile = toml::from_str(&text).map_err(|e| toml_error(&origin, &text, &e))?;
        // `file:line: key `k``, where the study file sets `k`.
        let at = |key: &str| -> String {
            let line = line_of_key(&text, key)
                .map(|n| format!(":{n}"))
                .unwrap_or_default();
            format!("{origin}{line}: key `{key}`")
        };
        let fail = |key: &str, why: String| anyhow::anyhow!("{}: {why}", at(key));
        check_adapter_and_cluster(&file).map_err(|(key, why)| fail(key, why))?;
        check_search_and_rates(&file).map_err(|(key, why)| fail(key, why))?;
        let selected =
            file.determine.before_tune && !screening && dir.join(SELECTED_CATALOGUE).is_file();
        let catalogue_name = match selected {
            true => SELECTED_CATALOGUE.to_string(),
            false => file.catalogue.clone(),
        };
        let (catalogue, space, catalogue_source) = load_catalogue(dir, &catalogue_name)
            .map_err(|e| fail("catalogue", format!("{e:#}")))?;
        let (space, absent) = for_version(space, file.flink_version)
            .map_err(|e| fail("catalogue", format!("{e:#}")))?;
        let catalogue_version: FlinkVersion = catalogue
            .flink_version
            .parse()
            .map_err(|e| fail("catalogue", format!("{e:#}")))?;
        let (base, base_source) = load_base(dir, &file).map_err(|(key, e)| fail(key, e))?;
        let warnings = keycheck::check(&keycheck::Keys {
            version: file.flink_version,
            catalogue_version,
            catalogue_name: &catalogue_name,
            catalogue: &catalogue_source,
            space: &space,
            base: &base,
            base_source: &base_source,
            allowed: &file.allow_unknown_keys,
            flink_version_at: at("flink_version"),
        })?;
        for w in warnings {
            eprintln!("warning: {w}");
        }
        Ok(Study {
            dir: dir.to_path_buf(),
            file,
            catalogue,
            space,
            base,
            catalogue_version,
            absent,
            tunes_selected: selected,
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

/// The catalogue `name` (a built-in or a file), its space, and its text for locating keys.
fn load_catalogue(dir: &Path, name: &str) -> Result<(Catalogue, Space, Source)> {
    if let Some(builtin) = catalogue::builtin(name) {
        let origin = catalogue::builtin_origin(name);
        let (cat, space) = Space::from_catalogue_text(builtin.text, &origin)?;
        let text = builtin.text.to_string();
        return Ok((cat, space, Source { origin, text }));
    }
    let path = dir.join(name);
    if !path.is_file() {
        bail!(
            "'{name}' is neither a built-in catalogue ({}) nor a file ({} does not exist)",
            catalogue::builtin_catalogue_names().join(", "),
            path.display()
        );
    }
    let (cat, space) = Space::load(&path)?;
    let text = std::fs::read_to_string(&path)?;
    let origin = path.display().to_string();
    Ok((cat, space, Source { origin, text }))
}

/// The base configuration (the study's, or the one Flink ships) and its text for locating
/// keys; an error names the study-file key at fault.
fn load_base(dir: &Path, file: &StudyFile) -> std::result::Result<(BaseConf, Source), Refusal> {
    let version = file.flink_version;
    let Some(p) = &file.base_conf else {
        let base =
            catalogue::builtin_base(version).map_err(|e| ("flink_version", format!("{e:#}")))?;
        let source = Source {
            origin: format!("built-in Flink {version} config"),
            text: catalogue::builtin_base_text(version)
                .unwrap_or_default()
                .to_string(),
        };
        return Ok((base, source));
    };
    let base = BaseConf::load(&dir.join(p)).map_err(|e| ("base_conf", format!("{e:#}")))?;
    let source = match &base.source {
        Some(path) => Source {
            origin: path.display().to_string(),
            text: std::fs::read_to_string(path).unwrap_or_default(),
        },
        None => Source {
            origin: p.clone(),
            text: String::new(),
        },
    };
    Ok((base, source))
}
