//! The stage's artifacts besides `summary.json`: `trials.csv` (every screening trial),
//! `effects.csv` (one row per parameter, by rank), `selected.toml` (the selected
//! parameters as a catalogue a study can use), `effects.svg` and `report.md`.

use crate::fsx;
use crate::report::plot;
use crate::stages::determine::groups::REFERENCE_RUNS;
use crate::stages::determine::select::{GROUPS_ALPHA, MethodResult};
use crate::stages::determine::summary::{DetermineSummary, EffectRow};
use crate::study::{ScreeningMethod, Study};
use crate::trial::record::TrialRecord;
use anyhow::{Context, Result};
use flink::space::{Catalogue, Param, Space};
use std::collections::BTreeMap;
use std::path::Path;

/// Writes `trials.csv` (every trial, in the order run) and `effects.csv` (rows by rank).
pub(super) fn write_tables(
    dir: &Path,
    records: &[TrialRecord],
    rows: &[EffectRow],
    order: &[usize],
) -> Result<()> {
    let mut w = csv::Writer::from_path(dir.join("trials.csv"))?;
    for r in records {
        w.serialize(r)?;
    }
    w.flush()?;
    let mut w = csv::Writer::from_path(dir.join("effects.csv"))?;
    for &i in order {
        w.serialize(&rows[i])?;
    }
    w.flush()?;
    Ok(())
}

/// Writes `effects.svg`: the relative importance by rank, the selected highlighted; with
/// one method (OAT or Morris) its spread (σ) relative to the top importance as error bars,
/// and with a threshold rule (`threshold` Some) the threshold line.
pub(super) fn write_figure(
    path: &Path,
    method: ScreeningMethod,
    rows: &[EffectRow],
    order: &[usize],
    results: &[MethodResult],
    threshold: Option<f64>,
) -> Result<()> {
    let bars: Vec<plot::Bar> = order
        .iter()
        .map(|&i| plot::Bar {
            label: rows[i].param.clone(),
            value: rows[i].relative_importance,
            spread: match method {
                ScreeningMethod::Morris => {
                    let top = results[0].importance.iter().copied().fold(0.0, f64::max);
                    rows[i]
                        .morris_sigma
                        .map(|s| if top > 0.0 { s / top } else { 0.0 })
                }
                ScreeningMethod::Sobol | ScreeningMethod::Factorial | ScreeningMethod::Groups => {
                    let top = results[0].importance.iter().copied().fold(0.0, f64::max);
                    rows[i]
                        .sobol_effect_sd
                        .map(|s| if top > 0.0 { s / top } else { 0.0 })
                }
                ScreeningMethod::Oat => {
                    let top = results[0].importance.iter().copied().fold(0.0, f64::max);
                    rows[i]
                        .oat_spread
                        .map(|s| if top > 0.0 { s / top } else { 0.0 })
                }
                _ => None,
            },
            highlight: rows[i].selected,
        })
        .collect();
    // The method as the study file names it (`oat`, `morris`, …).
    let name = format!("{method:?}").to_lowercase();
    let legend = plot::BarLegend {
        highlight: "selected",
        other: "not selected",
        spread: match method {
            ScreeningMethod::Morris => "σ of the elementary effects",
            _ => "spread over the base configurations",
        },
        rule: "selection threshold",
    };
    plot::bar_chart_with_legend(
        path,
        &format!("Screening ({name}): importance relative to the top parameter"),
        "relative importance (the top parameter = 1)",
        &bars,
        threshold,
        Some(&legend),
    )
}

/// Writes the selected parameters as a catalogue `generate` can use.
pub(super) fn write_selected(
    study: &Study,
    rows: &[EffectRow],
    rule: &str,
    path: &Path,
) -> Result<()> {
    let by_name: BTreeMap<&str, &EffectRow> = rows.iter().map(|r| (r.param.as_str(), r)).collect();
    let params: Vec<Param> = study
        .space
        .params
        .iter()
        .filter(|p| by_name.get(p.name.as_str()).is_some_and(|r| r.selected))
        .cloned()
        .collect();
    let cat = Catalogue {
        description: format!(
            "key parameters selected by `flinktune determine` from '{}' ({} of {})",
            study.file.catalogue,
            params.len(),
            study.space.len()
        ),
        flink_version: study.catalogue.flink_version.clone(),
        params,
    };
    let body = toml::to_string_pretty(&cat).context("cannot write the selected catalogue")?;
    let text = format!(
        "# Written by `flinktune determine`: the parameters of '{}' whose screening effect\n\
         # passed the rule: {rule}.\n# Use it with catalogue = \"determine/selected.toml\".\n\n{body}",
        study.file.catalogue
    );
    // It must load as a catalogue.
    Space::from_catalogue_text(&text, &path.display().to_string())?;
    fsx::write_atomic(path, text.as_bytes())
}

fn fmt_opt(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.3}")).unwrap_or_else(|| "–".into())
}

/// `report.md`: the summary in words, the noise and floors, and the table of effects by rank.
pub(super) fn report_md(s: &DetermineSummary, rows: &[EffectRow], order: &[usize]) -> String {
    let mut out = String::new();
    out.push_str("# Key parameters (determine)\n\n![Screening effects](effects.svg)\n\n");
    out.push_str(&format!(
        "Screening by **{:?}** at {} records/s, `{}` objective, median of {} trial(s) per \
         configuration: {} configurations, {} trials, {} configurations could not run. \
         **{} of {} parameters selected**: {}.\n\n",
        s.method,
        s.rate,
        s.objective,
        s.repeats,
        s.configurations,
        s.trials,
        s.failed_configurations,
        s.selected.len(),
        s.candidates,
        s.rule
    ));
    if matches!(
        s.method,
        ScreeningMethod::Sobol | ScreeningMethod::Factorial | ScreeningMethod::Groups
    ) {
        out.push_str(&sobol_text(s));
    } else {
        out.push_str(&format!(
            "Effects are changes of the score ln(perf) (0.1 ≈ 10%) among configurations that \
             ran: importance measures performance; a level or step that could not run is \
             counted apart (failed levels / steps) and, in the OAT column in brackets, as ten \
             times worse than the worst configuration that ran. Noise of one score (from the \
             reference measured repeatedly): {:.4}; noise floors: oat {}, morris {}, forest \
             {}.\n\n",
            s.noise_sd.map_or_else(|| "–".into(), |v| format!("{v:.4}")),
            fmt_opt(s.noise_floor_oat),
            fmt_opt(s.noise_floor_morris),
            fmt_opt(s.noise_floor_forest)
        ));
    }
    if !s.absent.is_empty() {
        out.push_str(&format!(
            "Not screened (the study's Flink version lacks them): {}.\n\n",
            s.absent.join(", ")
        ));
    }
    if matches!(
        s.method,
        ScreeningMethod::Sobol | ScreeningMethod::Factorial | ScreeningMethod::Groups
    ) {
        out.push_str(
            "| rank | parameter | selected | effect | ± (sd) | total index | \
             first-order index | judged | run/fail influence | decides run/fail |\n\
             |---|---|---|---|---|---|---|---|---|---|\n",
        );
        for &i in order {
            out.push_str(&sobol_row(&rows[i]));
        }
    } else {
        out.push_str(
            "| rank | parameter | selected | relative importance | OAT effect (with failures) | \
             OAT spread | OAT failed levels | best OAT value (change) | Morris μ* | Morris σ | forest importance |\n\
             |---|---|---|---|---|---|---|---|---|---|---|\n",
        );
        for &i in order {
            out.push_str(&table_row(&rows[i]));
        }
    }
    out.push_str(
        "\nFiles: `selected.toml` (the selected catalogue), `effects.csv` (this table), \
         `trials.csv`, `journal.jsonl` and `trials/` (every screening trial).\n",
    );
    out
}

/// One parameter's line of the report's table.
fn table_row(r: &EffectRow) -> String {
    format!(
        "| {} | `{}` | {} | {:.3} | {} ({}) | {} | {} | {} | {} | {} | {} |\n",
        r.rank,
        r.param,
        if r.selected { "**yes**" } else { "no" },
        r.relative_importance,
        fmt_opt(r.oat_effect),
        fmt_opt(r.oat_effect_with_failures),
        fmt_opt(r.oat_spread),
        r.oat_failed_levels
            .map(|n| n.to_string())
            .unwrap_or_else(|| "–".into()),
        match (&r.oat_best_value, r.oat_best_change) {
            (Some(v), Some(c)) => format!("{v} ({c:+.3})"),
            _ => "–".into(),
        },
        fmt_opt(r.morris_mu_star),
        fmt_opt(r.morris_sigma),
        r.forest_importance
            .map(|v| format!("{v:.4}"))
            .unwrap_or_else(|| "–".into()),
    )
}

/// The sobol report's paragraph: what the effects are, the floor, and the keys reported
/// apart.
fn sobol_text(s: &DetermineSummary) -> String {
    let reading = match s.method {
        ScreeningMethod::Factorial => {
            "Every key was set to one end of its range or the other (a two-level design in \
             foldover pairs, in the runnable region) and the scores ln(perf) of the \
             configurations that ran were fitted by a robust (Huber) regression on every key \
             and on the pairs of keys found to act together; a key's effect is the change of \
             the score from the low to the high end of its range (its main effect, or its \
             pair's if larger), on the ln scale (0.1 ≈ 10%), and ± its standard error. Keys \
             the first half of the budget found with an effect of at least 0.1 were held in \
             the better half of their range (at the median of their values among the \
             configurations that ran there) in the second half, whose fit judged the others. \
             A key is selected when \
             its effect exceeds 1% and its t statistic a Bonferroni bound over the keys \
             (family-wise 5%). The largest effect a key needed to be selected"
                .to_string()
        }
        ScreeningMethod::Groups => format!(
            "A third of the budget went to a two-level design (as the factorial method's first \
             phase, opened by a definitive screening design's runnable rows). The rest moved the keys it did not select in groups from many bases (Flink's \
             default, run {REFERENCE_RUNS} times afresh first when the budget left room, each \
             key to the middle and three quarters of its range, the TaskManager's memory sizes \
             one to a group; the design's configurations whose runs spent the most time in \
             garbage collection, each key to the middle of its range; the other design \
             configurations, to an end of each key's range), splitting a group while its change \
             passed a screening bound. A key's effect is the change of the score ln(perf) \
             from the low to the high side of its range in a Huber regression over every run (each \
             base's runs with a level of their own), ± its standard error (scaled up by the excess \
             of the median |t| over the normal's), selected when above 1% with its t statistic \
             above a Bonferroni bound over the keys (family-wise {alpha:.0}%); for a key the \
             design's own regression selected (its errors scaled the same way), which the \
             groups do not move, the design's reading; or, for a key selected by its moves, its \
             largest single-move change (the one-at-a-time columns of effects.csv), confirmed by \
             fresh runs of the move and its base against Student's t bound, Bonferroni over the \
             confirmations (family-wise {alpha:.0}%). The largest effect a key needed to be \
             selected in the regression",
            alpha = GROUPS_ALPHA * 100.0
        ),
        _ => "A GP with one lengthscale per key was fitted on the scores ln(perf) of the \
             configurations that ran; a key's effect is √(12·V_T), V_T its total Sobol' \
             variance in the GP (its main effect and all its interactions): the range of a \
             linear effect of that variance, on the ln scale (0.1 ≈ 10%). ± is its standard \
             deviation over bootstrap refits. Effect floor (the largest effect of a random \
             probe column, at least 0.01)"
            .to_string(),
    };
    let mut out = format!(
        "{reading}: {}. Trials: {} of a budget of {} on {} worker(s){}.\n\n",
        fmt_opt(s.noise_floor_sobol),
        s.trials,
        s.budget,
        s.workers,
        if s.resumed > 0 {
            format!(
                ", {} of them found finished in the journal of an interrupted run",
                s.resumed
            )
        } else {
            String::new()
        }
    );
    out.push_str(&noise_text(s));
    out.push_str(&match s.decides_run.is_empty() {
        true => "No key decides alone whether a configuration runs.\n\n".to_string(),
        false => format!(
            "Keys that decide whether a configuration runs (failure share differs between \
             the lower and the upper half of their range; reported apart from the \
             performance effect): {}.\n\n",
            s.decides_run.join(", ")
        ),
    });
    if !s.not_judged.is_empty() {
        out.push_str(&format!(
            "Could not be judged (too few configurations that ran in one half of their \
             range), so not selected: {}.\n\n",
            s.not_judged.join(", ")
        ));
    }
    out
}

/// The groups method's noise of one run, and what it means for the budget. Why: how many of
/// the keys with a 1% effect a budget finds is set by this noise (on the simulator, 300
/// trials: recall 0.79–0.83 per set of 80 seeds, 0.81 over 560, with 3% noise on p99
/// latency, a score noise of about 0.034 (BENCHMARKS.md, "A definitive screening design
/// opens the first phase"); 0.82–0.86 with 1.5%, about 0.017, over seeds 161–240 on an
/// earlier method ("The far end for a key that never decided run/fail").
fn noise_text(s: &DetermineSummary) -> String {
    match (s.method, s.noise_sd) {
        (ScreeningMethod::Groups, Some(sd)) => format!(
            "Noise of one run (sd of the score, from the configurations run more than once): \
             {sd:.3}. At 300 trials the method finds about four fifths of the keys with a 1% \
             effect at a noise of 0.034, and four fifths or more at 0.017 or less; a larger \
             budget finds more.\n\n"
        ),
        _ => String::new(),
    }
}

/// One parameter's line of the sobol report's table.
fn sobol_row(r: &EffectRow) -> String {
    let yes_no = |v: Option<bool>| match v {
        Some(true) => "yes",
        Some(false) => "no",
        None => "–",
    };
    format!(
        "| {} | `{}` | {} | {} | {} | {} | {} | {} | {} | {} |\n",
        r.rank,
        r.param,
        if r.selected { "**yes**" } else { "no" },
        fmt_opt(r.sobol_effect),
        fmt_opt(r.sobol_effect_sd),
        fmt_opt(r.sobol_total_index),
        fmt_opt(r.sobol_first_index),
        yes_no(r.judged),
        r.fail_influence
            .map(|v| format!("{v:+.2}"))
            .unwrap_or_else(|| "–".into()),
        yes_no(r.decides_run),
    )
}
