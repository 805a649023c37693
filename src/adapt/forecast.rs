//! A forecast as the user reads it: `forecast.csv`, `evaluation.json`, `forecast.svg` and a
//! one-paragraph description, for `flinktune forecast` and the `adapt` report.

use crate::adapt::trace::RateHistory;
use anyhow::Result;
use opt::forecast::{Outcome, Point};
use std::path::Path;

/// Writes `forecast.csv`, `evaluation.json` and `forecast.svg` for a history's forecast
/// into `dir` (created if missing), each atomically.
pub fn write_report(dir: &Path, history: &RateHistory, o: &Outcome) -> Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let n = history.rates.len();
    let mut csv = String::from("step,timestamp,forecast,lower,upper\n");
    for p in &o.points {
        csv.push_str(&format!(
            "{},{},{:.3},{:.3},{:.3}\n",
            p.step,
            history.format_time(history.time_of(n - 1 + p.step)),
            p.forecast,
            p.lower,
            p.upper
        ));
    }
    crate::fsx::write_atomic(&dir.join("forecast.csv"), csv.as_bytes())?;
    let json = serde_json::json!({
        "history_steps": n,
        "step_s": history.step_s,
        "season": o.season,
        "season_detected_acf": o.season_acf,
        "horizon": o.points.len(),
        "chosen": o.evaluation.chosen,
        "chosen_params": o.fitted.params,
        "evaluation": o.evaluation,
    });
    crate::fsx::write_json(&dir.join("evaluation.json"), &json)?;

    // The figure, in hours relative to the end of the history.
    let hours = |k: usize| (k as f64 - (n - 1) as f64) * history.step_s / 3600.0;
    let ev = &o.evaluation;
    let split = ev.train_len;
    let tail_from = split.saturating_sub(2 * o.season);
    let chosen = ev
        .methods
        .iter()
        .find(|e| e.method == ev.chosen)
        .expect("the chosen method was evaluated");
    let line = |name: &str, pts: Vec<(f64, f64)>| crate::report::plot::Series {
        name: name.to_string(),
        points: pts,
    };
    let lines = vec![
        line(
            "history (training)",
            (tail_from..split)
                .map(|k| (hours(k), history.rates[k]))
                .collect(),
        ),
        line(
            "held-out actual",
            (split..n).map(|k| (hours(k), history.rates[k])).collect(),
        ),
        line(
            &format!("held-out forecast ({})", ev.chosen.name()),
            chosen
                .points
                .iter()
                .map(|p| (hours(split - 1 + p.step), p.forecast))
                .collect(),
        ),
        line(
            "forecast",
            o.points
                .iter()
                .map(|p| (hours(n - 1 + p.step), p.forecast))
                .collect(),
        ),
    ];
    let band = |pts: &[Point], off: usize| -> Vec<(f64, f64, f64)> {
        pts.iter()
            .map(|p| (hours(off - 1 + p.step), p.lower, p.upper))
            .collect()
    };
    let bands = vec![band(&chosen.points, split), band(&o.points, n)];
    crate::report::plot::band_chart(
        &dir.join("forecast.svg"),
        &format!(
            "rate forecast: {} (season {} steps, {:.0}% interval)",
            ev.chosen.name(),
            o.season,
            100.0 * ev.interval_level
        ),
        "hours from the end of the history",
        "records/s",
        &lines,
        &bands,
    )
}

/// A few lines for the terminal.
pub fn describe(history: &RateHistory, o: &Outcome) -> String {
    let ev = &o.evaluation;
    let mut s = format!(
        "{} steps of {} s; season {} steps{}; held out the last {} steps\n",
        history.rates.len(),
        history.step_s,
        o.season,
        o.season_acf
            .map(|a| format!(" (detected, autocorrelation {a:.2})"))
            .unwrap_or_default(),
        ev.holdout
    );
    s.push_str(&format!(
        "  {:<21}  {:<40} rolling, {}-step horizon\n",
        "", "whole tail from one origin", ev.horizon
    ));
    s.push_str(
        "  method                 MAPE %  sMAPE %     RMSE  vs s-naive   MAPE %     RMSE  vs s-naive  coverage\n",
    );
    for e in &ev.methods {
        s.push_str(&format!(
            "  {:<21} {:>7.2} {:>8.2} {:>8.0} {:>11.3} {:>8.2} {:>8.0} {:>11.3} {:>8.1}%{}\n",
            e.method.name(),
            e.errors.mape,
            e.errors.smape,
            e.errors.rmse,
            e.rmse_vs_seasonal_naive,
            e.rolling.mape,
            e.rolling.rmse,
            e.rolling_rmse_vs_seasonal_naive,
            100.0 * e.rolling.coverage,
            if e.method == ev.chosen {
                "  ← chosen"
            } else {
                ""
            }
        ));
    }
    if let (Some(first), Some(last)) = (o.points.first(), o.points.last()) {
        s.push_str(&format!(
            "forecast {} steps: next {:.0} [{:.0}, {:.0}], last {:.0} [{:.0}, {:.0}] records/s\n",
            o.points.len(),
            first.forecast,
            first.lower,
            first.upper,
            last.forecast,
            last.lower,
            last.upper
        ));
    }
    s
}

/// `flinktune forecast`: forecasts the rate history in `history` and writes its report into
/// `output` (default: `forecast/` next to the history); returns the description and where
/// it wrote.
pub fn run_command(
    history: &Path,
    opts: &opt::forecast::Options,
    output: Option<&Path>,
) -> Result<(String, std::path::PathBuf)> {
    use anyhow::Context;
    let h = crate::adapt::trace::read(history)?;
    let opts = opt::forecast::Options {
        step_s: Some(h.step_s),
        ..opts.clone()
    };
    let o = opt::forecast::run(&h.rates, &opts)
        .with_context(|| format!("forecasting {}", history.display()))?;
    let dir = match output {
        Some(dir) => dir.to_path_buf(),
        None => history.parent().unwrap_or(Path::new(".")).join("forecast"),
    };
    write_report(&dir, &h, &o)?;
    Ok((describe(&h, &o), dir))
}
