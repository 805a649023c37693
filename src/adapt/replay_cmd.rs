//! `flinktune adapt --trace FILE`: the trace's rates replayed in simulated time against the
//! study's simulator, for one or several policies, and their latency, resources,
//! reconfigurations and recoveries compared (the replay itself is `crate::adapt::replay`).
//! Writes the `adapt/` stage folder atomically: every step and decision, the comparison, a
//! timeline chart and a report.

use crate::adapt::measure::SimMeasure;
use crate::adapt::policy_kind::{PolicyKind, make_policy};
use crate::adapt::replay::{self, DecisionRecord, ReplayOptions, Step, Summary};
use crate::adapt::trace;
use crate::fsx;
use crate::report::plot;
use crate::study::{Stage, Study};
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// What `adapt --trace` wrote.
#[derive(Debug, Serialize, Deserialize)]
pub struct ReplaySummary {
    pub trace: String,
    pub options: ReplayOptions,
    pub policies: Vec<Summary>,
    pub seconds: f64,
}

/// How the study's `[adapt]` settings replay a trace of `step_s` steps whose first
/// `warmup_steps` are history.
pub fn replay_options(study: &Study, step_s: f64, warmup_steps: usize) -> ReplayOptions {
    let a = &study.file.adapt;
    ReplayOptions {
        step_s,
        warmup_steps,
        decide_every: ((a.interval_s / step_s).round() as usize).max(1),
        restart_s: a.restart_s,
        rescale_s: a.rescale_s,
        mean_time_between_failures_s: a.mean_time_between_failures_s,
        recovery_limit_s: a.recovery_limit_s,
        seed: study.file.seed,
    }
}

/// Replays a rate trace (the last `replay_days` days; the rest is history) against the
/// policies on the study's simulator; writes `adapt/`.
pub fn replay_trace(
    study: &Study,
    trace_path: &Path,
    kinds: &[PolicyKind],
    replay_days: f64,
) -> Result<ReplaySummary> {
    let started = Instant::now();
    let tr = trace::read(trace_path)?;
    let step_s = tr.step_s;
    let replay_steps = ((replay_days * 86_400.0) / step_s).round() as usize;
    if replay_steps == 0 || replay_steps >= tr.rates.len() {
        bail!(
            "{}: {} steps of {step_s} s cannot give {replay_days} day(s) to replay and \
             history before them",
            trace_path.display(),
            tr.rates.len()
        );
    }
    let opts = replay_options(study, step_s, tr.rates.len() - replay_steps);
    let mut measure = SimMeasure::new(study)?;
    let stage = fsx::StageDir::begin(&study.dir, Stage::Adapt.name())?;
    let mut all_steps: Vec<Step> = Vec::new();
    let mut all_decisions: Vec<DecisionRecord> = Vec::new();
    let mut summaries = Vec::new();
    for &kind in kinds {
        let mut p = make_policy(study, kind, step_s, None)?;
        let (steps, decisions) =
            replay::replay(&study.space, p.as_mut(), &tr.rates, &opts, &mut measure)
                .with_context(|| format!("replaying the {kind:?} policy"))?;
        summaries.push(replay::summarise(&steps, &opts));
        all_steps.extend(steps);
        all_decisions.extend(decisions);
    }
    replay::relate(&mut summaries, "static");
    write_csv(&stage.path.join("steps.csv"), &all_steps)?;
    write_csv(&stage.path.join("decisions.csv"), &all_decisions)?;
    write_csv(&stage.path.join("comparison.csv"), &summaries)?;
    timeline(&stage.path.join("timeline.svg"), &all_steps)?;
    let summary = ReplaySummary {
        trace: trace_path.display().to_string(),
        options: opts,
        policies: summaries,
        seconds: started.elapsed().as_secs_f64(),
    };
    fsx::write_atomic(&stage.path.join("report.md"), report(&summary).as_bytes())?;
    study.record_inputs_reading(Stage::Adapt, None, &[trace_path], &stage.path)?;
    fsx::write_json(&stage.path.join("summary.json"), &summary)?;
    stage.commit()?;
    Ok(summary)
}

fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    fsx::write_atomic(path, &w.into_inner()?)
}

/// The input rate (top panel) and each policy's requested cores (bottom panel) over the
/// replayed hours, each on its own axis.
fn timeline(path: &Path, steps: &[Step]) -> Result<()> {
    let hours = |s: &Step| s.time_s / 3600.0;
    let mut rate = Vec::new();
    if let Some(first) = steps.first() {
        rate.push(plot::Series {
            name: "input rate".into(),
            points: steps
                .iter()
                .filter(|s| s.policy == first.policy)
                .map(|s| (hours(s), s.rate))
                .collect(),
        });
    }
    let mut names: Vec<&str> = steps.iter().map(|s| s.policy.as_str()).collect();
    names.dedup();
    let cores = names
        .into_iter()
        .map(|name| plot::Series {
            name: format!("{name}: cores requested"),
            points: steps
                .iter()
                .filter(|s| s.policy == name)
                .map(|s| (hours(s), s.cpu_requested))
                .collect(),
        })
        .collect();
    let panels = [
        plot::LinePanel {
            title: String::new(),
            y_label: "input rate (records/s)".into(),
            series: rate,
            bands: Vec::new(),
        },
        plot::LinePanel {
            title: String::new(),
            y_label: "CPU cores requested".into(),
            series: cores,
            bands: Vec::new(),
        },
    ];
    plot::stacked_lines(
        path,
        "Input rate and requested CPU cores over the replayed trace",
        "time since the replay started (hours)",
        &panels,
        "",
    )
}

/// The comparison table as Markdown.
pub fn table(summary: &ReplaySummary) -> String {
    let mut t = String::from(
        "| policy | mean latency (ms) | % of near-optimal | with failures (ms) | mean cores | \
         mean memory (GiB) | core-hours | reconfigurations (rescales) | failures | mean recovery (s) | \
         recovery > limit | saturated steps |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for s in &summary.policies {
        // Without the static maximum in the replay there is nothing to relate to.
        let near = if s.near_optimal_pct.is_finite() {
            format!("{:.1}%", s.near_optimal_pct)
        } else {
            "–".to_string()
        };
        let _ = writeln!(
            t,
            "| {} | {:.1} | {} | {:.1} | {:.1} | {:.1} | {:.1} | {} ({}) | {} | {:.0} | {} | {} |",
            s.policy,
            s.mean_latency_ms,
            near,
            s.mean_latency_with_failures_ms,
            s.mean_cpu_requested,
            s.mean_memory_requested_gb,
            s.cpu_core_hours,
            s.reconfigurations,
            s.rescales,
            s.failures,
            s.mean_recovery_s,
            s.recovery_violations,
            s.saturated_steps
        );
    }
    t
}

fn report(summary: &ReplaySummary) -> String {
    let o = &summary.options;
    format!(
        "# adapt: replay of {}\n\n![requested cores over time](timeline.svg)\n\n{}\n\
         Latency is each step's steady-state p99 plus the mean delay a reconfiguration in it \
         adds ({} s down for a restart, {} s + the reprocessing since the last checkpoint for \
         an in-place rescale); \"with failures\" adds the delays of injected TaskManager failures \
         (one per {} s on average, the same steps for every policy), whose recoveries are \
         compared in their own columns. \"% of near-optimal\" is the static maximum's mean latency \
         over the policy's. The recovery limit is {} s. A decision every {} steps of {} s.\n\n\
         Files: `steps.csv` (every step of every policy), `decisions.csv` (every switch and \
         why), `comparison.csv`.\n",
        summary.trace,
        table(summary),
        o.restart_s,
        o.rescale_s,
        o.mean_time_between_failures_s,
        o.recovery_limit_s,
        o.decide_every,
        o.step_s
    )
}
