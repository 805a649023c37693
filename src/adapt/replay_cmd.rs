//! `flinktune adapt --trace FILE`: the trace's rates replayed in simulated time against the
//! study's simulator, for one or several policies, and their latency, resources,
//! reconfigurations and recoveries compared (the replay itself is `crate::adapt::replay`).
//! Writes the `adapt/` stage folder atomically: every step and decision, the comparison, a
//! timeline chart and a report. While it runs, every step is also appended to
//! `.adapt.partial/journal.jsonl`, which [`progress`] reads for watchers (the dashboard).

use crate::adapt::measure::SimMeasure;
use crate::adapt::policy_kind::{PolicyKind, make_policy};
use crate::adapt::replay::{self, DecisionRecord, ReplayOptions, Step, Summary};
use crate::adapt::{timeline, trace};
use crate::fsx;
use crate::study::{Stage, Study};
use crate::trial::journal;
use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::fs::File;
use std::path::Path;
use std::time::Instant;

/// The running replay's log in `.adapt.partial/`.
pub const JOURNAL: &str = "journal.jsonl";

/// The first line of the log: what is being replayed.
#[derive(Debug, Serialize, Deserialize)]
pub struct JournalHeader {
    /// Format version of the log.
    pub adapt_journal: u32,
    pub trace: String,
    /// The policies, in the order they are replayed.
    pub policies: Vec<String>,
    /// Steps each policy replays.
    pub steps_per_policy: usize,
    pub options: ReplayOptions,
}

/// One line of the log: a step, with the switch made at it.
#[derive(Debug, Serialize, Deserialize)]
pub struct JournalEntry {
    pub step: Step,
    pub decision: Option<DecisionRecord>,
}

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
    let mut policies = Vec::new();
    for &kind in kinds {
        policies.push((kind, make_policy(study, kind, step_s, None)?));
    }
    let header = JournalHeader {
        adapt_journal: 1,
        trace: trace_path.display().to_string(),
        policies: policies.iter().map(|(_, p)| p.name().to_string()).collect(),
        steps_per_policy: replay_steps,
        options: opts.clone(),
    };
    let mut log = open_journal(&stage.path.join(JOURNAL), &header)?;
    let mut all_steps: Vec<Step> = Vec::new();
    let mut all_decisions: Vec<DecisionRecord> = Vec::new();
    let mut summaries = Vec::new();
    for (kind, mut p) in policies {
        let mut on_step = |step: &Step, decision: Option<&DecisionRecord>| {
            let entry = JournalEntry {
                step: step.clone(),
                decision: decision.cloned(),
            };
            journal::write_json_line(&mut log, &entry)
        };
        let (steps, decisions) = replay::replay_with(
            &study.space,
            p.as_mut(),
            &tr.rates,
            &opts,
            &mut measure,
            &mut on_step,
        )
        .with_context(|| format!("replaying the {kind:?} policy"))?;
        summaries.push(replay::summarise(&steps, &opts));
        all_steps.extend(steps);
        all_decisions.extend(decisions);
    }
    drop(log);
    std::fs::remove_file(stage.path.join(JOURNAL))?;
    replay::relate(&mut summaries, "static");
    write_csv(&stage.path.join("steps.csv"), &all_steps)?;
    write_csv(&stage.path.join("decisions.csv"), &all_decisions)?;
    write_csv(&stage.path.join("comparison.csv"), &summaries)?;
    let figure = timeline::svg(&all_steps, opts.recovery_limit_s)?;
    fsx::write_atomic(&stage.path.join("timeline.svg"), figure.as_bytes())?;
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

/// The log, its header written; each step is appended in one write, not synced: a replay
/// is not resumed, so its log only needs to be readable while it runs.
fn open_journal(path: &Path, header: &JournalHeader) -> Result<File> {
    let mut file =
        File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    journal::write_json_line(&mut file, header)?;
    Ok(file)
}

fn write_csv<T: Serialize>(path: &Path, rows: &[T]) -> Result<()> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    fsx::write_atomic(path, &w.into_inner()?)
}

/// The comparison's columns, for the Markdown table here and the report's HTML one.
pub const COMPARISON_COLUMNS: [&str; 12] = [
    "policy",
    "mean latency (ms)",
    "% of near-optimal",
    "with failures (ms)",
    "mean cores",
    "mean memory (GiB)",
    "core-hours",
    "reconfigurations (rescales)",
    "failures",
    "mean recovery (s)",
    "recovery > limit",
    "saturated steps",
];

/// One policy's cells under [`COMPARISON_COLUMNS`].
pub fn comparison_cells(s: &Summary) -> [String; 12] {
    // Without the static maximum in the replay there is nothing to relate to.
    let near = if s.near_optimal_pct.is_finite() {
        format!("{:.1}%", s.near_optimal_pct)
    } else {
        "–".to_string()
    };
    [
        s.policy.clone(),
        format!("{:.1}", s.mean_latency_ms),
        near,
        format!("{:.1}", s.mean_latency_with_failures_ms),
        format!("{:.1}", s.mean_cpu_requested),
        format!("{:.1}", s.mean_memory_requested_gb),
        format!("{:.1}", s.cpu_core_hours),
        format!("{} ({})", s.reconfigurations, s.rescales),
        s.failures.to_string(),
        format!("{:.0}", s.mean_recovery_s),
        s.recovery_violations.to_string(),
        s.saturated_steps.to_string(),
    ]
}

/// The comparison table as Markdown.
pub fn table(summary: &ReplaySummary) -> String {
    let mut t = format!(
        "| {} |\n|---|{}\n",
        COMPARISON_COLUMNS.join(" | "),
        "---:|".repeat(COMPARISON_COLUMNS.len() - 1)
    );
    for s in &summary.policies {
        let _ = writeln!(t, "| {} |", comparison_cells(s).join(" | "));
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

/// Where a replay stands, for watchers (the dashboard, `report.html`): the steps and
/// switches so far and the summaries of the policies done.
#[derive(Debug)]
pub struct ReplayProgress {
    /// `adapt/` is finished and no new replay has begun.
    pub finished: bool,
    pub trace: String,
    /// Every policy of the replay, in order.
    pub policies: Vec<String>,
    pub steps_per_policy: usize,
    pub options: ReplayOptions,
    pub steps: Vec<Step>,
    /// The switches (a keep is a step with `decided` and not `reconfigured`).
    pub decisions: Vec<DecisionRecord>,
    /// The policies replayed to the end.
    pub summaries: Vec<Summary>,
}

/// Reads the running replay's log (`.adapt.partial/`, a line being appended not yet read)
/// or else the finished `adapt/`; None when no replay has begun. Read-only: no lock taken.
pub fn progress(study: &Study) -> Result<Option<ReplayProgress>> {
    let running = study
        .dir
        .join(format!(".{}.partial", Stage::Adapt.name()))
        .join(JOURNAL);
    if running.is_file() {
        return running_progress(&running).map(Some);
    }
    let dir = study.stage_dir(Stage::Adapt);
    let summary_path = dir.join("summary.json");
    if !summary_path.is_file() {
        return Ok(None);
    }
    let summary: ReplaySummary = fsx::read_json(&summary_path)?;
    let steps: Vec<Step> = fsx::read_csv(&dir.join("steps.csv"))?;
    let policies: Vec<String> = summary.policies.iter().map(|p| p.policy.clone()).collect();
    Ok(Some(ReplayProgress {
        finished: true,
        trace: summary.trace,
        steps_per_policy: steps.len() / policies.len().max(1),
        policies,
        options: summary.options,
        decisions: fsx::read_csv(&dir.join("decisions.csv"))?,
        steps,
        summaries: summary.policies,
    }))
}

fn running_progress(path: &Path) -> Result<ReplayProgress> {
    let contents = journal::read::<JournalHeader, JournalEntry>(path, true)?;
    let Some(header) = contents.header else {
        bail!("{}: no header line yet", path.display());
    };
    let (steps, decisions): (Vec<Step>, Vec<Option<DecisionRecord>>) = contents
        .entries
        .into_iter()
        .map(|e| (e.step, e.decision))
        .unzip();
    let mut summaries: Vec<Summary> = header
        .policies
        .iter()
        .map(|name| {
            let of: Vec<Step> = steps
                .iter()
                .filter(|s| &s.policy == name)
                .cloned()
                .collect();
            (of.len() >= header.steps_per_policy).then(|| replay::summarise(&of, &header.options))
        })
        .map_while(|s| s)
        .collect();
    replay::relate(&mut summaries, "static");
    Ok(ReplayProgress {
        finished: false,
        trace: header.trace,
        policies: header.policies,
        steps_per_policy: header.steps_per_policy,
        options: header.options,
        steps,
        decisions: decisions.into_iter().flatten().collect(),
        summaries,
    })
}
