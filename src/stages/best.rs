//! `flinktune best`: the search's best configuration as something to apply — the keys whose
//! values differ from the default configuration the study measures against (its base, with
//! the catalogue's defaults), each with that default, in a format Flink or its Kubernetes
//! operator reads, headed by the measured effect. Read-only: it never writes the study.

use crate::stages::search::record::{self, SearchSummary};
use crate::stages::validate::ValidateSummary;
use crate::study::{Over, Stage, Study};
use anyhow::{Context, Result};
use flink::conf::{self, FlatConf, FlinkVersion};
use flink::resources::{KUBERNETES_CPU_KEY, TASKMANAGERS_KEY};
use serde::Serialize;
use serde_json::{Map, Value, json};
use std::path::PathBuf;

/// How `best` prints the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `config.yaml` lines (Flink ≥ 1.19), flat dotted keys.
    Yaml,
    /// `flink-conf.yaml` lines (Flink ≤ 1.18).
    FlinkConf,
    /// `-Dkey=value` arguments for `flink run` / `flink run-application`.
    DynamicProperties,
    /// A FlinkDeployment snippet for the Flink Kubernetes Operator.
    FlinkDeployment,
}

impl Format {
    /// The syntax of the configuration file of `version`.
    pub fn of_version(version: FlinkVersion) -> Format {
        if version.conf_file() == conf::YAML_FILE {
            Format::Yaml
        } else {
            Format::FlinkConf
        }
    }
}

/// One key of the best configuration.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Entry {
    pub key: String,
    pub value: String,
    /// Its value in the default configuration; None when that leaves it to Flink's
    /// built-in default.
    pub default: Option<String>,
}

/// The best configuration against the default one.
#[derive(Debug, Serialize)]
pub struct Best {
    pub flink_version: FlinkVersion,
    /// The complete configuration file the search wrote.
    pub file: PathBuf,
    /// The keys that differ from the default (every key with `--all`).
    pub entries: Vec<Entry>,
    /// Keys the default sets and the best leaves out (superseded by another way of
    /// sizing), with their default values.
    pub removed: Vec<(String, String)>,
    pub search: SearchSummary,
    /// The validate stage's measurement against the default, when it ran after the search.
    pub validated: Option<ValidateSummary>,
}

/// Reads the finished search's best configuration and what was measured of it.
pub fn read(study: &Study, all: bool) -> Result<Best> {
    let (searched, search) = record::read_best(study)?;
    let validated = fresh_validation(study)?;
    let config = match &validated {
        Some(v) if v.runner_up() => {
            study.read_config_json(&validated_dir(study).join("config.json"))?
        }
        _ => searched,
    };
    let best = study.effective_conf(&config);
    let default = study.effective_conf(&study.space.default_config());
    let entries = best
        .iter()
        .filter(|&(k, v)| all || default.get(k) != Some(v))
        .map(|(k, v)| Entry {
            key: k.clone(),
            value: v.clone(),
            default: default.get(k).cloned(),
        })
        .collect();
    let removed = default
        .iter()
        .filter(|&(k, _)| !best.contains_key(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Ok(Best {
        flink_version: study.file.flink_version,
        file: best_file(study, validated.as_ref()),
        entries,
        removed,
        search,
        validated,
    })
}

/// The complete file of the best configuration: the search's, or validate's when the
/// search's best failed there and a runner-up was validated instead.
fn best_file(study: &Study, validated: Option<&ValidateSummary>) -> PathBuf {
    let dir = match validated {
        Some(v) if v.runner_up() => validated_dir(study),
        _ => study.stage_dir(Stage::Search).join("best"),
    };
    dir.join("conf").join(study.file.flink_version.conf_file())
}

/// Where validate writes the configuration it validated in place of the search's best.
fn validated_dir(study: &Study) -> PathBuf {
    study.stage_dir(Stage::Validate).join("best")
}

/// The line a stage that found or measured the best ends with.
pub fn pointer(study: &Study) -> String {
    let validated = fresh_validation(study).ok().flatten();
    format!(
        "best configuration: {}\nthe keys it changes: flinktune best {}\n",
        best_file(study, validated.as_ref()).display(),
        study.dir.display()
    )
}

/// Validate's summary, unless the search ran again after it (then it measured another
/// configuration).
fn fresh_validation(study: &Study) -> Result<Option<ValidateSummary>> {
    let modified = |stage: Stage| {
        let path = study.stage_dir(stage).join(stage.done_marker());
        std::fs::metadata(&path).and_then(|m| m.modified()).ok()
    };
    match (modified(Stage::Validate), modified(Stage::Search)) {
        (Some(v), Some(s)) if v >= s => study.summary(Stage::Validate),
        _ => Ok(None),
    }
}

/// The measured (or predicted) effect and the keys to remove, as comment lines.
pub fn comments(b: &Best) -> Vec<String> {
    let s = &b.search;
    let mut out = vec![format!(
        "flinktune best: {} key(s) differ from the default; complete file: {}",
        b.entries
            .iter()
            .filter(|e| e.default.as_ref() != Some(&e.value))
            .count(),
        b.file.display()
    )];
    let x = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{v:.2}x"));
    match (&b.validated, s.over) {
        (Some(v), _) => out.push(format!(
            "measured by validate at {} rec/s, {} trial(s) each: {} {} vs the default \
             (p99 latency {}, throughput {})",
            v.rate,
            v.repeats,
            v.objective,
            x(v.speedup_objective),
            x(v.speedup_latency_p99),
            x(v.speedup_throughput)
        )),
        (None, Over::Model) => out.push(format!(
            "predicted by the model at {} rec/s: {} {:.4}, {} vs the default; \
             `flinktune validate` measures it",
            s.rate,
            s.objective,
            s.best_perf,
            x(s.predicted_speedup)
        )),
        (None, Over::System) => out.push(format!(
            "measured by the search at {} rec/s: {} {:.4}; `flinktune validate` measures \
             it against the default",
            s.rate, s.objective, s.best_perf
        )),
    }
    if let Some(v) = b.validated.as_ref().filter(|v| v.runner_up()) {
        out.push(format!(
            "the search's best failed its first validation run; this is its rank-{} \
             configuration, which ran ({} rejected)",
            v.rank,
            v.rejected.len()
        ));
    }
    for (k, v) in &b.removed {
        out.push(format!(
            "remove {k} (default {v}): the best sizes this another way"
        ));
    }
    out
}

/// The configuration in `format`.
pub fn render(b: &Best, format: Format) -> Result<String> {
    match format {
        Format::Yaml | Format::FlinkConf => render_conf(b, format == Format::Yaml),
        Format::DynamicProperties => Ok(render_dynamic(b)),
        Format::FlinkDeployment => render_deployment(b),
    }
}

fn comment_block(b: &Best) -> String {
    comments(b).iter().map(|l| format!("# {l}\n")).collect()
}

/// `key: value  # default: …` lines; Flink's legacy parser and YAML both end a line's
/// value at ` #`.
fn render_conf(b: &Best, yaml: bool) -> Result<String> {
    let mut out = comment_block(b);
    for e in &b.entries {
        let value = if yaml {
            conf::yaml_scalar(&e.value)?
        } else {
            let one = FlatConf::from([(e.key.clone(), e.value.clone())]);
            conf::render_flat(&one, "")?.trim_end().to_string()
        };
        let line = if yaml {
            format!("{}: {value}", e.key)
        } else {
            value
        };
        let default = e.default.as_deref().unwrap_or("Flink's built-in default");
        out.push_str(&format!("{line}  # default: {default}\n"));
    }
    Ok(out)
}

/// One `-Dkey=value` argument per line, quoted for the shell where needed; nothing else,
/// so the lines can be pasted or substituted into a command.
fn render_dynamic(b: &Best) -> String {
    b.entries
        .iter()
        .map(|e| {
            let arg = format!("-D{}={}", e.key, e.value);
            // shlex quotes any `=`; only what the shell would split or expand needs it.
            let plain = arg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.=:/,+@%".contains(c));
            if plain {
                format!("{arg}\n")
            } else {
                let quoted = shlex::try_quote(&arg).map_or(arg.clone(), |q| q.into_owned());
                format!("{quoted}\n")
            }
        })
        .collect()
}

/// A FlinkDeployment with the entries in `spec.flinkConfiguration` (strings, as the
/// operator's CRD types them), except those the operator sets from its own fields: process
/// memory and CPU per JobManager/TaskManager (`resource`), the TaskManager count
/// (`replicas`) and the default parallelism (`job.parallelism`).
fn render_deployment(b: &Best) -> Result<String> {
    let mut conf = Map::new();
    let mut fields = Map::new();
    for e in &b.entries {
        match operator_field(e) {
            Some((path, v)) => insert(&mut fields, path, v),
            None => {
                conf.insert(e.key.clone(), json!(e.value));
            }
        }
    }
    let mut spec = Map::from_iter([("flinkConfiguration".to_string(), Value::Object(conf))]);
    spec.extend(fields);
    let doc = json!({
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "spec": spec,
    });
    let body = serde_saphyr::to_string(&doc).context("cannot write the FlinkDeployment")?;
    let mut out = comment_block(b);
    out.push_str(&format!(
        "# merge into your FlinkDeployment (Flink {}); defaults:\n",
        b.flink_version
    ));
    for e in &b.entries {
        let default = e.default.as_deref().unwrap_or("Flink's built-in default");
        out.push_str(&format!(
            "#   {}: {} (default: {default})\n",
            e.key, e.value
        ));
    }
    out.push_str(&body);
    Ok(out)
}

/// The FlinkDeployment field the operator derives an entry's key from, with its value.
fn operator_field(e: &Entry) -> Option<(&'static [&'static str], Value)> {
    let text = e.value.trim();
    let cpu = || {
        text.parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x > 0.0)
    };
    let count = || text.parse::<u64>().ok().filter(|&n| n > 0);
    Some(match e.key.as_str() {
        "taskmanager.memory.process.size" => (&["taskManager", "resource", "memory"], json!(text)),
        "jobmanager.memory.process.size" => (&["jobManager", "resource", "memory"], json!(text)),
        KUBERNETES_CPU_KEY => (&["taskManager", "resource", "cpu"], json!(cpu()?)),
        "kubernetes.jobmanager.cpu" => (&["jobManager", "resource", "cpu"], json!(cpu()?)),
        TASKMANAGERS_KEY => (&["taskManager", "replicas"], json!(count()?)),
        "parallelism.default" => (&["job", "parallelism"], json!(count()?)),
        _ => return None,
    })
}

/// Sets `value` at `path` in nested objects, creating them.
fn insert(map: &mut Map<String, Value>, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut at = map;
    for p in parents {
        let next = at
            .entry(p.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
        if !next.is_object() {
            *next = Value::Object(Map::new());
        }
        let Value::Object(inner) = next else { return };
        at = inner;
    }
    at.insert(last.to_string(), value);
}
