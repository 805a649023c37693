//! The figure of an adapt run over time, drawn from its points as they are (a finished
//! replay's `adapt/timeline.svg`, a running one's or a live run's on the dashboard): the
//! input rate with what the forecasting policies expected (top panel, records/s), and each
//! policy's requested CPU cores with its switches marked — in-place rescales, restarts, and
//! for a live run the switches only logged (dry run) or that failed — and the failures whose
//! recovery took longer than the limit (bottom panel, cores). Each quantity has its own axis.
//! One drawing for both kinds of run: a replay's steps and a live run's intervals are first
//! turned into [`Point`]s.

use crate::adapt::replay::Step;
use crate::report::plot::{self, LinePanel, Marker, Marks, Series};
use anyhow::Result;

/// The replay figure's title.
pub const TITLE: &str = "Input rate and requested CPU cores over the replayed trace";

/// What is marked at a point of the timeline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// The scale-out changed in place.
    Rescale,
    /// Stopped with a savepoint and restarted with another configuration.
    Restart,
    /// A dry run's switch: decided, not applied.
    WouldSwitch,
    /// A switch the hook failed (the job kept its configuration), or a decision that failed.
    Failed,
    /// An injected failure whose recovery took longer than the limit.
    SlowRecovery,
}

const MARKS: [Mark; 5] = [
    Mark::Rescale,
    Mark::Restart,
    Mark::WouldSwitch,
    Mark::Failed,
    Mark::SlowRecovery,
];

impl Mark {
    fn label(self, recovery_limit_s: f64) -> String {
        match self {
            Mark::Rescale => "rescale (in place)".into(),
            Mark::Restart => "restart".into(),
            Mark::WouldSwitch => "switch decided, not applied (dry run)".into(),
            Mark::Failed => "switch or decision failed".into(),
            Mark::SlowRecovery => {
                format!("failure recovered in more than {recovery_limit_s:.0} s")
            }
        }
    }

    fn marker(self) -> Marker {
        match self {
            Mark::Rescale => Marker::Triangle,
            Mark::Restart => Marker::Cross,
            Mark::WouldSwitch => Marker::Dot,
            Mark::Failed | Mark::SlowRecovery => Marker::Square,
        }
    }
}

/// One step of a replayed policy, or one interval of a live run.
#[derive(Clone, Debug, PartialEq)]
pub struct Point {
    /// The policy (a replay) or the run (live) the point belongs to.
    pub series: String,
    /// Since the run started.
    pub time_s: f64,
    /// Input rate, records/s.
    pub rate: f64,
    /// The peak rate the policy's last forecast expects over its horizon.
    pub forecast: Option<f64>,
    /// CPU cores the configuration requests.
    pub cores: f64,
    pub marks: Vec<Mark>,
}

/// What is plotted: the figure's title, the run as the time axis names it ("replay",
/// "live run"), the points in the order their series come, the recovery limit.
pub struct Timeline<'a> {
    pub title: &'a str,
    pub run: &'a str,
    pub points: &'a [Point],
    pub recovery_limit_s: f64,
}

/// The timeline of a replay's `steps` (the policies' in the order replayed) as SVG text.
pub fn svg(steps: &[Step], recovery_limit_s: f64) -> Result<String> {
    let points: Vec<Point> = steps
        .iter()
        .map(|s| step_point(s, recovery_limit_s))
        .collect();
    draw(&Timeline {
        title: TITLE,
        run: "replay",
        points: &points,
        recovery_limit_s,
    })
}

fn step_point(s: &Step, recovery_limit_s: f64) -> Point {
    let marks = [
        (s.rescaled, Mark::Rescale),
        (s.reconfigured && !s.rescaled, Mark::Restart),
        (
            s.failure && s.recovery_time_s > recovery_limit_s,
            Mark::SlowRecovery,
        ),
    ];
    Point {
        series: s.policy.clone(),
        time_s: s.time_s,
        rate: s.rate,
        forecast: s.forecast,
        cores: s.cpu_requested,
        marks: marks.iter().filter(|m| m.0).map(|m| m.1).collect(),
    }
}

/// A timeline as SVG text.
pub fn draw(t: &Timeline) -> Result<String> {
    let last = t.points.iter().map(|p| p.time_s).fold(0.0, f64::max);
    let (unit, per) = time_unit(last);
    plot::stacked_lines_svg(
        t.title,
        &format!("time since the {} started ({unit})", t.run),
        &panels(t, per),
        "",
    )
}

/// The unit the time axis reads best in for a run `last_s` long, and its seconds.
fn time_unit(last_s: f64) -> (&'static str, f64) {
    if last_s >= 2.0 * 3600.0 {
        ("hours", 3600.0)
    } else if last_s >= 120.0 {
        ("minutes", 60.0)
    } else {
        ("seconds", 1.0)
    }
}

/// The series in the order their points come.
fn series_names(points: &[Point]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for p in points {
        if !names.contains(&p.series.as_str()) {
            names.push(&p.series);
        }
    }
    names
}

fn panels<'a>(t: &Timeline<'a>, per: f64) -> [LinePanel; 2] {
    let names: Vec<&'a str> = series_names(t.points);
    let points = t.points;
    let of = |name: &'a str| points.iter().filter(move |p| p.series == name);
    let at = |p: &Point, y: f64| (p.time_s / per, y);
    let mut rate = Vec::new();
    if let Some(first) = names.first() {
        rate.push(Series {
            name: "input rate".into(),
            points: of(first).map(|p| at(p, p.rate)).collect(),
        });
    }
    for name in &names {
        let forecast: Vec<(f64, f64)> = of(name).filter_map(|p| Some(at(p, p.forecast?))).collect();
        if !forecast.is_empty() {
            rate.push(Series {
                name: format!("{name}: forecast peak over its horizon"),
                points: forecast,
            });
        }
    }
    let cores = names
        .iter()
        .map(|name| Series {
            name: format!("{name}: cores requested"),
            points: of(name).map(|p| at(p, p.cores)).collect(),
        })
        .collect();
    let marks = MARKS
        .iter()
        .map(|&m| Marks {
            name: m.label(t.recovery_limit_s),
            marker: m.marker(),
            points: t
                .points
                .iter()
                .filter(|p| p.marks.contains(&m))
                .map(|p| at(p, p.cores))
                .collect(),
        })
        .collect();
    [
        LinePanel {
            title: String::new(),
            y_label: "input rate (records/s)".into(),
            series: rate,
            bands: Vec::new(),
            marks: Vec::new(),
        },
        LinePanel {
            title: String::new(),
            y_label: "CPU cores requested".into(),
            series: cores,
            bands: Vec::new(),
            marks,
        },
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_time_axis_reads_in_a_unit_fit_for_the_run() {
        assert_eq!(time_unit(3.0 * 86400.0), ("hours", 3600.0));
        assert_eq!(time_unit(1800.0), ("minutes", 60.0));
        assert_eq!(time_unit(3.0), ("seconds", 1.0));
    }
}
