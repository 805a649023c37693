//! The model stage's tables, figures and report: the regressor comparison, the learning
//! curve, permutation importance, predicted against measured.

use crate::report::plot;
use crate::stages::model::perf::PESSIMISM;
use crate::stages::model::regressors::{Comparison, CurvePoint};
use crate::stages::model::summary::ModelSummary;
use crate::study::regressor::Regressor;
use anyhow::Result;
use std::path::Path;

/// Writes the comparison's tables and figures.
#[allow(clippy::too_many_arguments)]
pub fn write_comparison(
    dir: &Path,
    comparison: &[Comparison],
    curve: &[CurvePoint],
    chosen: Regressor,
    objective: flink::objective::Objective,
    importance: &[f64],
    names: &[String],
    actual: &[f64],
    predicted: &[f64],
) -> Result<()> {
    let mut w = csv::Writer::from_path(dir.join("comparison.csv"))?;
    for c in comparison {
        w.serialize(c)?;
    }
    w.flush()?;
    let mut w = csv::Writer::from_path(dir.join("learning_curve.csv"))?;
    for p in curve {
        w.serialize(p)?;
    }
    w.flush()?;
    let series: Vec<plot::Series> = Regressor::ALL
        .iter()
        .map(|r| plot::Series {
            name: r.to_string(),
            points: curve
                .iter()
                .filter(|p| p.regressor == *r && p.test_mape_percent.is_finite())
                .map(|p| (p.train_configs as f64, p.test_mape_percent))
                .collect(),
        })
        .collect();
    plot::line_chart_log_y(
        &dir.join("learning_curve.svg"),
        "Learning curve: test MAPE vs training configurations",
        "training configurations",
        "test MAPE (%, log scale)",
        &series,
    )?;
    let mut order: Vec<usize> = (0..importance.len()).collect();
    order.sort_by(|&a, &b| importance[b].total_cmp(&importance[a]));
    let mut w = csv::Writer::from_path(dir.join("importance.csv"))?;
    w.write_record(["feature", "permutation_importance"])?;
    for &i in &order {
        w.write_record([names[i].clone(), importance[i].to_string()])?;
    }
    w.flush()?;
    let top = importance.iter().copied().fold(0.0_f64, f64::max);
    let bars: Vec<plot::Bar> = order
        .iter()
        .map(|&i| plot::Bar {
            label: names[i].clone(),
            value: importance[i].max(0.0),
            spread: None,
            highlight: importance[i] >= 0.05 * top && top > 0.0,
        })
        .collect();
    plot::bar_chart(
        &dir.join("importance.svg"),
        &format!("Permutation importance ({chosen}): what shuffling a feature costs"),
        "increase of the test MSE of ln perf when the feature is shuffled",
        &bars,
        None,
    )?;
    let points: Vec<(f64, f64)> = actual
        .iter()
        .copied()
        .zip(predicted.iter().copied())
        .collect();
    plot::scatter_log(
        &dir.join("predicted_vs_measured.svg"),
        &format!("{chosen}: predicted vs measured {objective} (held-out configurations)"),
        &format!("measured {} (log scale)", objective.label()),
        &format!("predicted {} (log scale)", objective.label()),
        &points,
    )
}

pub fn report_md(s: &ModelSummary) -> String {
    let mut table = String::from(
        "| regressor | hold-out MAPE | hold-out R² | CV MAPE (± sd) | CV R² | fit + predict (s) |\n\
         |---|---|---|---|---|---|\n",
    );
    for c in &s.comparison {
        table.push_str(&format!(
            "| {}{} | {:.1}% | {:.3} | {:.1}% (± {:.1}) | {:.3} | {:.2} |\n",
            c.regressor,
            if c.regressor == s.saved {
                " **(saved)**"
            } else {
                ""
            },
            c.holdout_mape_percent,
            c.holdout_r2,
            c.cv_mape_percent,
            c.cv_mape_sd,
            c.cv_r2,
            c.fit_seconds
        ));
    }
    let search = if s.pessimistic_search {
        format!(
            "It has a predictive standard deviation, so `search` optimises its lower \
             confidence bound, mean − {}·σ of the log-scale score: far from the measured \
             configurations a GP's mean extrapolates, and an optimiser finds exactly those \
             points; the bound stays near what was measured unless the data vouch for more.",
            PESSIMISM
        )
    } else {
        "`search` optimises its prediction (trees never predict beyond the performance they \
         were fitted on)."
            .to_string()
    };
    format!(
        "# Performance model\n\n![Learning curve](learning_curve.svg)\n\n\
         ## Regressors compared\n\nSame 80/20 split by configuration, and {}-fold \
         cross-validation by configuration; MAPE and R² on the perf scale. The GP is fitted on \
         at most {} training rows.\n\n{}\n\
         The most accurate regressor by CV MAPE is `{}`. **The saved model (`model.json`, used \
         by `search`) is `{}`**, chosen by {}. {}\n\n\
         Learning curve (test MAPE vs training configurations, log scale): \
         `learning_curve.csv`. Predicted vs measured for `{}` on the held-out \
         configurations:\n\n\
         ![Predicted vs measured](predicted_vs_measured.svg)\n\n\
         Feature importance of `{}` (permutation, `importance.csv`):\n\n\
         ![Importance](importance.svg)\n\n{}",
        s.folds,
        crate::stages::model::regressors::GP_MAX_ROWS,
        table,
        s.chosen,
        s.saved,
        s.saved_because,
        search,
        s.saved,
        s.saved,
        saved_md(s)
    )
}

fn saved_md(s: &ModelSummary) -> String {
    format!(
        "## The saved model\n\n\
         `{}` on {} features (forests: {} trees, all features per split) of the `{}` \
         objective.\n\n\
         | | |\n|---|---|\n\
         | (config, rate) rows | {} ({} ran, {} failed) |\n\
         | training rows / configurations | {} / {} |\n\
         | test rows / configurations | {} / {} |\n\
         | **test MAPE** | **{:.1}%** |\n\
         | test median APE | {:.1}% |\n\
         | test R² | {:.3} |\n\n{}\n\nMeasured vs predicted on the test rows: `test_predictions.csv`.\n",
        s.saved,
        s.features,
        s.trees,
        s.objective,
        s.rows,
        s.passing_rows,
        s.failing_rows,
        s.train_rows,
        s.train_configs,
        s.test_rows,
        s.test_configs,
        s.test_mape_percent,
        s.test_median_ape_percent,
        s.test_r2,
        s.note
    )
}

/// A human summary.
pub fn describe(s: &ModelSummary) -> String {
    let mut out = format!(
        "{} on {} rows ({} configurations train / {} test): test MAPE {:.1}% \
         (median APE {:.1}%), R² {:.3}\n",
        s.saved,
        s.passing_rows,
        s.train_configs,
        s.test_configs,
        s.test_mape_percent,
        s.test_median_ape_percent,
        s.test_r2
    );
    if !s.saved_because.is_empty() {
        out.push_str(&format!(
            "  saved {}: {}{}\n",
            s.saved,
            s.saved_because,
            if s.pessimistic_search {
                format!("; search optimises mean − {PESSIMISM}·σ")
            } else {
                String::new()
            }
        ));
    }
    if !s.comparison.is_empty() {
        out.push_str(&format!(
            "  {:<8} {:>14} {:>11} {:>16}\n",
            "regressor", "hold-out MAPE", "R²", "CV MAPE (folds)"
        ));
        for c in &s.comparison {
            let pct = |x: f64| {
                if x.is_finite() {
                    format!("{x:.1}%")
                } else {
                    "failed".into()
                }
            };
            out.push_str(&format!(
                "  {:<8} {:>14} {:>11} {:>16}{}\n",
                c.regressor,
                pct(c.holdout_mape_percent),
                if c.holdout_r2.is_finite() {
                    format!("{:.3}", c.holdout_r2)
                } else {
                    "-".into()
                },
                pct(c.cv_mape_percent),
                if c.regressor == s.saved {
                    "  (saved)"
                } else {
                    ""
                }
            ));
        }
    }
    out
}
