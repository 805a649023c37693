//! Everything the report and the dashboard show of a study, read at one moment through the
//! stages' readers: where each stage stands, the trials and evaluations so far, the best
//! configuration against the default, the model's accuracy, failures by reason, the
//! stages' own figures and the study file. Read-only, and never the study's lock: a
//! snapshot is taken while `collect`, `search` or `adapt` write the study. A section that
//! cannot be read (a stale stage, a damaged file) becomes a note instead of failing the rest.

use crate::adapt::live_log::{self, LiveProgress};
use crate::adapt::replay_cmd::{self, ReplayProgress};
use crate::stages::best::{self, Best};
use crate::stages::collect;
use crate::stages::model::ModelSummary;
use crate::stages::search::progress::{self, EvaluationRow, FrontView};
use crate::stages::search::record::SearchSummary;
use crate::study::fingerprint::Freshness;
use crate::study::lock::LOCK_FILE;
use crate::study::{Over, STUDY_FILE, Stage, Study};
use crate::trial::record::{TrialRecord, TrialStatus};
use anyhow::Result;
use flink::objective::Objective;
use serde::Serialize;
use std::path::Path;

/// The stages in the order a study runs them.
const STAGES: [Stage; 6] = [
    Stage::Determine,
    Stage::Generate,
    Stage::Collect,
    Stage::Model,
    Stage::Search,
    Stage::Validate,
];

/// A study at one moment.
#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub study: String,
    pub flink_version: String,
    pub objective: Objective,
    pub adapter: String,
    /// The command writing the study now, as its lock file names it, while that process lives.
    pub writer: Option<String>,
    pub stages: Vec<StageState>,
    /// Trials run through the adapter so far (collect's, and the search's over the system).
    pub trials: usize,
    /// The search's evaluations so far.
    pub evaluations: usize,
    /// The best value of the objective the search found so far.
    pub best: Option<f64>,
    pub collect: Option<CollectView>,
    pub search: Option<SearchView>,
    /// A replay of `adapt --trace`, running or finished.
    pub adapt: Option<AdaptView>,
    /// The live loop (`adapt --hook`, or a dry run), running or stopped: its last run.
    pub live: Option<LiveView>,
    #[serde(skip)]
    pub best_config: Option<Best>,
    #[serde(skip)]
    pub model: Option<ModelSummary>,
    /// Why trials and evaluations did not pass: (where, reason, count), most common first.
    pub failures: Vec<(String, String, usize)>,
    /// The stages' own figures, (title, SVG text).
    #[serde(skip)]
    pub figures: Vec<(String, String)>,
    #[serde(skip)]
    pub study_file: String,
    /// What could not be read, and why.
    pub notes: Vec<String>,
}

/// One stage: not run, running (or interrupted), finished or stale.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct StageState {
    pub stage: String,
    pub state: String,
}

/// The collect stage's trials.
#[derive(Debug, Serialize)]
pub struct CollectView {
    pub finished: bool,
    pub planned: usize,
    #[serde(skip)]
    pub records: Vec<TrialRecord>,
    pub pass: usize,
    pub fail: usize,
    pub error: usize,
    pub skipped: usize,
}

/// The search's evaluations.
#[derive(Debug, Serialize)]
pub struct SearchView {
    pub finished: bool,
    pub over: Over,
    pub budget: usize,
    #[serde(skip)]
    pub rows: Vec<EvaluationRow>,
    /// (evaluation number from 1, best value so far), from the first that passed.
    #[serde(skip)]
    pub convergence: Vec<(f64, f64)>,
    #[serde(skip)]
    pub summary: Option<SearchSummary>,
    /// A multi-objective search's front over the evaluations so far.
    pub front: Option<FrontView>,
}

/// A replay of `adapt --trace`: its steps and decisions so far, and the policies done.
#[derive(Debug, Serialize)]
pub struct AdaptView {
    pub finished: bool,
    pub trace: String,
    pub policies: Vec<String>,
    /// Steps replayed so far (every policy's), and planned.
    pub steps: usize,
    pub planned_steps: usize,
    /// Times a policy was asked so far: it kept the running configuration, rescaled it in
    /// place or restarted with another.
    pub decisions: usize,
    pub keeps: usize,
    pub rescales: usize,
    pub restarts: usize,
    /// Injected failures, and those whose recovery took longer than the limit.
    pub failures: usize,
    pub recovery_violations: usize,
    #[serde(skip)]
    pub replay: ReplayProgress,
}

impl AdaptView {
    fn of(replay: ReplayProgress) -> AdaptView {
        let st = &replay.steps;
        let count =
            |f: &dyn Fn(&crate::adapt::replay::Step) -> bool| st.iter().filter(|s| f(s)).count();
        let limit = replay.options.recovery_limit_s;
        AdaptView {
            finished: replay.finished,
            trace: replay.trace.clone(),
            policies: replay.policies.clone(),
            steps: st.len(),
            planned_steps: replay.steps_per_policy * replay.policies.len(),
            decisions: count(&|s| s.decided),
            keeps: count(&|s| s.decided && !s.reconfigured),
            rescales: count(&|s| s.rescaled),
            restarts: count(&|s| s.reconfigured && !s.rescaled),
            failures: count(&|s| s.failure),
            recovery_violations: count(&|s| s.failure && s.recovery_time_s > limit),
            replay,
        }
    }
}

/// The live loop's last run: its intervals so far and what they decided.
#[derive(Debug, Serialize)]
pub struct LiveView {
    /// An `adapt` command holds the study and no replay is under way: the live run goes on.
    pub running: bool,
    pub dry_run: bool,
    /// Runs in the log; the figures are of the last.
    pub runs: usize,
    /// Intervals logged: each is one decision of the policy (keep, or switch).
    pub intervals: usize,
    /// Switches applied (in a dry run: decided), and those that failed.
    pub switches: usize,
    pub errors: usize,
    /// The scale-out the job runs now (in a dry run: the last decided), if the catalogue
    /// has it.
    pub taskmanagers: Option<u64>,
    pub last_action: String,
    pub last_reason: String,
    #[serde(skip)]
    pub log: LiveProgress,
}

impl LiveView {
    fn of(log: LiveProgress, running: bool) -> LiveView {
        let dry_run = log.dry_run();
        let count = |action: &str| log.records.iter().filter(|r| r.action == action).count();
        let now = match dry_run {
            true => log.records.last(),
            false => log.running(),
        };
        let last = log.records.last();
        LiveView {
            running,
            dry_run,
            runs: log.runs,
            intervals: log.records.len(),
            switches: count("switch") + count("would-switch"),
            errors: count("error"),
            taskmanagers: now.and_then(|r| r.config[flink::resources::TASKMANAGERS_KEY].as_u64()),
            last_action: last.map(|r| r.action.clone()).unwrap_or_default(),
            last_reason: last.map(|r| r.reason.clone()).unwrap_or_default(),
            log,
        }
    }
}

/// The figures the stages draw, by file, with their titles; shown when present. (The
/// Pareto front and the adapt timeline are drawn from the evaluations and steps so far, in
/// their own sections.)
const FIGURES: [(&str, &str); 4] = [
    ("model/importance.svg", "Parameter importance (model)"),
    ("determine/effects.svg", "Parameter effects (screening)"),
    (
        "model/predicted_vs_measured.svg",
        "Model: predicted vs measured",
    ),
    ("model/learning_curve.svg", "Model: learning curves"),
];

impl Snapshot {
    /// Reads the study.
    pub fn take(study: &Study) -> Snapshot {
        let mut notes = Vec::new();
        let mut note = |what: &str, e: anyhow::Error| notes.push(format!("{what}: {e:#}"));
        let stages = stage_states(study).unwrap_or_else(|e| {
            note("stages", e);
            vec![]
        });
        let collect = collect_view(study).unwrap_or_else(|e| {
            note("collect", e);
            None
        });
        let search = search_view(study).unwrap_or_else(|e| {
            note("search", e);
            None
        });
        let adapt = replay_cmd::progress(study).unwrap_or_else(|e| {
            note("adapt", e);
            None
        });
        let live = live_log::progress(study).unwrap_or_else(|e| {
            note("adapt (live)", e);
            None
        });
        let best_config = match study.stage_dir(Stage::Search).join("best").is_dir() {
            true => best::read(study, false).map_err(|e| note("best", e)).ok(),
            false => None,
        };
        let model = study.summary(Stage::Model).unwrap_or_else(|e| {
            note("model", e);
            None
        });
        let study_file = crate::fsx::read_text(&study.dir.join(STUDY_FILE)).unwrap_or_default();
        let objective = study.file.objective;
        Snapshot {
            study: study.dir.display().to_string(),
            flink_version: study.file.flink_version.to_string(),
            objective,
            adapter: crate::trial::runner::adapter_of(study).describe(),
            writer: writer(&study.dir),
            stages,
            trials: trials_run(study, collect.as_ref(), search.as_ref()),
            evaluations: search.as_ref().map_or(0, |s| s.rows.len()),
            best: search
                .as_ref()
                .and_then(|s| s.convergence.last())
                .map(|p| p.1),
            failures: failures(collect.as_ref(), search.as_ref()),
            figures: figures(&study.dir),
            collect,
            search,
            live: live.map(|l| LiveView::of(l, live_running(study, adapt.is_some()))),
            adapt: adapt.map(AdaptView::of),
            best_config,
            model,
            study_file,
            notes,
        }
    }
}

/// The command holding the study's lock, read from the lock file's text (never by taking
/// the lock, which would refuse a writer starting now), if its process still runs.
fn writer(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(dir.join(LOCK_FILE)).ok()?;
    let text = text.trim();
    let pid = text.split("(pid ").nth(1)?.split(')').next()?;
    let pid: u32 = pid.trim().parse().ok()?;
    Path::new(&format!("/proc/{pid}"))
        .is_dir()
        .then(|| text.to_string())
}

/// Whether a live run is writing the study now: an `adapt` command holds its lock and no
/// replay is under way (a replay writes `.adapt.partial/`).
fn live_running(study: &Study, replay: bool) -> bool {
    let replaying = replay && study.dir.join(".adapt.partial").is_dir();
    let adapt = writer(&study.dir).is_some_and(|w| w.starts_with("`adapt`"));
    adapt && !replaying
}

fn stage_states(study: &Study) -> Result<Vec<StageState>> {
    let mut out = Vec::new();
    for stage in STAGES {
        let partial = study.dir.join(format!(".{}.partial", stage.name()));
        let state = if partial.is_dir() {
            "running or interrupted".to_string()
        } else {
            match study.freshness(stage)? {
                Freshness::Stale(changed) => format!("stale ({})", changed.join(", ")),
                _ if study.summary::<serde_json::Value>(stage)?.is_some() => "finished".into(),
                _ => "not run".into(),
            }
        };
        out.push(StageState {
            stage: stage.name().into(),
            state,
        });
    }
    Ok(out)
}

fn collect_view(study: &Study) -> Result<Option<CollectView>> {
    if study
        .summary::<serde_json::Value>(Stage::Generate)?
        .is_none()
    {
        return Ok(None);
    }
    let Some(p) = collect::progress(study)? else {
        return Ok(None);
    };
    Ok(Some(CollectView {
        finished: p.finished,
        planned: p.planned,
        pass: p.summary.pass,
        fail: p.summary.fail,
        error: p.summary.error,
        skipped: p.summary.skipped,
        records: p.records,
    }))
}

fn search_view(study: &Study) -> Result<Option<SearchView>> {
    let Some(p) = progress::progress(study)? else {
        return Ok(None);
    };
    let summary: Option<SearchSummary> = match p.finished {
        true => study.summary(Stage::Search)?,
        false => None,
    };
    Ok(Some(SearchView {
        finished: p.finished,
        over: p.over,
        budget: study.file.search.budget as usize,
        convergence: convergence(study.file.objective, &p.rows),
        rows: p.rows,
        summary,
        front: p.front,
    }))
}

/// The best value so far after each evaluation, from the first that passed.
pub fn convergence(objective: Objective, rows: &[EvaluationRow]) -> Vec<(f64, f64)> {
    let mut best: Option<f64> = None;
    let mut out = Vec::new();
    for (i, r) in rows.iter().enumerate() {
        if let (TrialStatus::Pass, Some(perf)) = (r.status, r.perf) {
            let better = best.is_none_or(|b| objective.score(perf) > objective.score(b));
            if better {
                best = Some(perf);
            }
        }
        if let Some(b) = best {
            out.push(((i + 1) as f64, b));
        }
    }
    out
}

/// Trials run through the adapter: collect's that ran, and over the system the search's
/// (each evaluation that was not skipped ran the study's repeats).
fn trials_run(study: &Study, collect: Option<&CollectView>, search: Option<&SearchView>) -> usize {
    let collected = collect.map_or(0, |c| c.records.len() - c.skipped);
    let searched = match search {
        Some(s) if s.over == Over::System => {
            let ran = s.rows.iter().filter(|r| r.status != TrialStatus::Skipped);
            ran.count() * study.file.repeats as usize
        }
        _ => 0,
    };
    collected + searched
}

/// Failure reasons grouped by kind, per stage: one real reason of each kind and its count.
fn failures(
    collect: Option<&CollectView>,
    search: Option<&SearchView>,
) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    if let Some(c) = collect {
        let failed = c.records.iter().filter(|r| !r.passed());
        let reasons = flink::precheck::group_reasons(failed.map(|r| r.reason.as_str()));
        out.extend(
            reasons
                .into_iter()
                .map(|g| ("collect".into(), g.example, g.count)),
        );
    }
    if let Some(s) = search {
        let failed = s.rows.iter().filter(|r| r.status != TrialStatus::Pass);
        let reasons = flink::precheck::group_reasons(failed.map(|r| r.reason.as_str()));
        out.extend(
            reasons
                .into_iter()
                .map(|g| ("search".into(), g.example, g.count)),
        );
    }
    out.sort_by_key(|f| std::cmp::Reverse(f.2));
    out
}

/// The stages' figures that exist, as SVG text.
fn figures(dir: &Path) -> Vec<(String, String)> {
    FIGURES
        .iter()
        .filter_map(|(file, title)| {
            let svg = std::fs::read_to_string(dir.join(file)).ok()?;
            Some((title.to_string(), svg))
        })
        .collect()
}
