//! Every key a study writes, checked against the key set of its Flink version (`flink::keys`):
//! the catalogue's parameters (as translated to the study's version) and the base
//! configuration's keys. Flink ignores a key it does not know, so a typo would be tuned while
//! doing nothing: an unknown key is an error naming the file, the line and the closest known
//! key; a deprecated one a warning naming its successor. `allow_unknown_keys` lets the options
//! of a user's plugins through.

use anyhow::{Result, bail};
use flink::conf::{BaseConf, FlinkVersion};
use flink::keys::{self, Finding, KeySet};
use flink::space::Space;

/// A file the keys came from: how to name it and its text (to find a key's line).
pub(super) struct Source {
    pub origin: String,
    pub text: String,
}

impl Source {
    /// A catalogue or base configuration shipped in the binary: its deprecated keys are
    /// deliberate (the paper's 1.11 parameter set names some) and nothing a user can change,
    /// so they are not warned about on every command.
    fn built_in(&self) -> bool {
        self.origin.starts_with("built-in")
    }

    /// `origin:line` of a catalogue parameter `name = "key"`.
    fn param_at(&self, key: &str) -> String {
        let line = self.text.lines().position(|l| {
            l.split_once('=')
                .is_some_and(|(k, v)| k.trim() == "name" && v.trim().trim_matches('"') == key)
        });
        at(&self.origin, line.map(|i| i + 1))
    }

    /// `origin:line` of a configuration key.
    fn conf_at(&self, key: &str) -> String {
        at(&self.origin, flink::conf::line_of_conf_key(&self.text, key))
    }
}

fn at(origin: &str, line: Option<usize>) -> String {
    match line {
        Some(n) => format!("{origin}:{n}"),
        None => origin.to_string(),
    }
}

/// What the check looks at.
pub(super) struct Keys<'a> {
    pub version: FlinkVersion,
    pub catalogue_version: FlinkVersion,
    pub catalogue_name: &'a str,
    pub catalogue: &'a Source,
    pub space: &'a Space,
    pub base: &'a BaseConf,
    pub base_source: &'a Source,
    pub allowed: &'a [String],
    /// Where the study file sets `flink_version` (`file:line: key `flink_version``).
    pub flink_version_at: String,
}

/// Checks every key; returns the warnings (deprecated keys, a version without a key set).
pub(super) fn check(k: &Keys) -> Result<Vec<String>> {
    let Some(set) = keys::key_set(k.version) else {
        let have: Vec<String> = keys::supported_versions()
            .iter()
            .map(ToString::to_string)
            .collect();
        return Ok(vec![format!(
            "Flink {} has no key set (have: {}): its keys are not checked",
            k.version,
            have.join(", ")
        )]);
    };
    check_catalogue(k, set)?;
    let mut warnings = deprecations(k, set);
    let findings = keys::check_keys(set, k.base.conf.keys().map(String::as_str), k.allowed);
    let mut unknown = Vec::new();
    for f in findings {
        let line = format!("{}: {}", k.base_source.conf_at(f.key()), f.message(set));
        match f {
            Finding::Unknown { .. } => unknown.push(line),
            Finding::Deprecated { .. } if !k.base_source.built_in() => warnings.push(line),
            Finding::Deprecated { .. } => {}
        }
    }
    if !unknown.is_empty() {
        bail!("{}", unknown.join("\n"));
    }
    Ok(warnings)
}

/// The catalogue's parameters: a key unknown in the catalogue's own version is a typo (error
/// with a suggestion); a key known there that the study's version does not read is refused,
/// since Flink would ignore it.
fn check_catalogue(k: &Keys, set: &KeySet) -> Result<()> {
    let own = keys::key_set(k.catalogue_version);
    let mut typos = Vec::new();
    let mut missing = Vec::new();
    for p in &k.space.params {
        let written = flink::versions::rename(&p.name, k.catalogue_version, k.version);
        if keys::check_keys(set, [written.as_str()], k.allowed)
            .iter()
            .all(|f| matches!(f, Finding::Deprecated { .. }))
        {
            continue;
        }
        let typo = own.map(|own| keys::check_keys(own, [p.name.as_str()], k.allowed));
        match typo.as_deref() {
            Some([f @ Finding::Unknown { .. }]) => typos.push(format!(
                "{}: {}",
                k.catalogue.param_at(&p.name),
                f.message(own.expect("checked"))
            )),
            _ => missing.push(format!(
                "{} (Flink {} does not read it)",
                p.name, set.release
            )),
        }
    }
    if !typos.is_empty() {
        bail!("{}", typos.join("\n"));
    }
    if !missing.is_empty() {
        bail!(
            "{}: the catalogue '{}' (Flink {}) has parameters that do not exist in Flink {}: \
             {}; use a copy of the catalogue without them",
            k.flink_version_at,
            k.catalogue_name,
            k.catalogue_version,
            k.version,
            missing.join(", ")
        );
    }
    Ok(())
}

/// Warnings for the catalogue's keys that the study's version reads but deprecates.
fn deprecations(k: &Keys, set: &KeySet) -> Vec<String> {
    if k.catalogue.built_in() {
        return Vec::new();
    }
    k.space
        .params
        .iter()
        .filter_map(|p| {
            let written = flink::versions::rename(&p.name, k.catalogue_version, k.version);
            let found = keys::check_keys(set, [written.as_str()], k.allowed);
            found
                .first()
                .map(|f| format!("{}: {}", k.catalogue.param_at(&p.name), f.message(set)))
        })
        .collect()
}
