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

    figure(&dir.join("forecast.svg"), history, o)
}

/// The forecast figure, hours counted from the end of the history, in two panels at their
/// own scales: how the chosen method did on the held-out tail (with a season of training
/// history before it), and the forecast with its interval after the recent history (three
/// horizons, at least a quarter season), so a short horizon is not a sliver of a long trace.
fn figure(path: &Path, history: &RateHistory, o: &Outcome) -> Result<()> {
    use crate::report::plot::{LinePanel, Series};
    let n = history.rates.len();
    let hours = |k: usize| (k as f64 - (n - 1) as f64) * history.step_s / 3600.0;
    let ev = &o.evaluation;
    let split = ev.train_len;
    let chosen = ev
        .methods
        .iter()
        .find(|e| e.method == ev.chosen)
        .expect("the chosen method was evaluated");
    let line = |name: String, points: Vec<(f64, f64)>| Series { name, points };
    let rates = |from: usize, to: usize| -> Vec<(f64, f64)> {
        (from..to).map(|k| (hours(k), history.rates[k])).collect()
    };
    let forecast = |pts: &[Point], off: usize| -> Vec<(f64, f64)> {
        pts.iter()
            .map(|p| (hours(off - 1 + p.step), p.forecast))
            .collect()
    };
    let band = |pts: &[Point], off: usize| -> Vec<(f64, f64, f64)> {
        pts.iter()
            .map(|p| (hours(off - 1 + p.step), p.lower, p.upper))
            .collect()
    };
    let recent = (3 * o.points.len()).max(o.season / 4).clamp(1, n);
    let panels = [
        LinePanel {
            title: format!(
                "held-out check: the last {} steps forecast from the steps before",
                ev.holdout
            ),
            y_label: "input rate (records/s)".into(),
            series: vec![
                line(
                    "training history".into(),
                    rates(split.saturating_sub(o.season), split),
                ),
                line("held-out actual".into(), rates(split, n)),
                line(
                    format!("held-out forecast ({})", ev.chosen.name()),
                    forecast(&chosen.points, split),
                ),
            ],
            bands: vec![band(&chosen.points, split)],
            marks: Vec::new(),
        },
        LinePanel {
            title: format!("forecast: the next {} steps", o.points.len()),
            y_label: "input rate (records/s)".into(),
            series: vec![
                line("recent history".into(), rates(n - recent, n)),
                line("forecast".into(), forecast(&o.points, n)),
            ],
            bands: vec![band(&o.points, n)],
            marks: Vec::new(),
        },
    ];
    crate::report::plot::stacked_lines(
        path,
        &format!(
            "Input-rate forecast: {} (season {} steps of {} s)",
            ev.chosen.name(),
            o.season,
            history.step_s
        ),
        "hours from the end of the history",
        &panels,
        &format!("{:.0}% prediction interval", 100.0 * ev.interval_level),
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
