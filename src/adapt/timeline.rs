//! The figure of a replay over time, drawn from its steps as they are (a finished replay's
//! `adapt/timeline.svg`, or a running one's on the dashboard): the input rate with what the
//! forecasting policies expected (top panel, records/s), and each policy's requested CPU cores
//! with its switches marked — in-place rescales, restarts — and the failures whose recovery
//! took longer than the limit (bottom panel, cores). Each quantity has its own axis.

use crate::adapt::replay::Step;
use crate::report::plot::{self, LinePanel, Marker, Marks, Series};
use anyhow::Result;

/// The figure's title.
pub const TITLE: &str = "Input rate and requested CPU cores over the replayed trace";

/// The timeline of `steps` (the policies' in the order replayed) as SVG text.
pub fn svg(steps: &[Step], recovery_limit_s: f64) -> Result<String> {
    plot::stacked_lines_svg(
        TITLE,
        "time since the replay started (hours)",
        &panels(steps, recovery_limit_s),
        "",
    )
}

fn hours(s: &Step) -> f64 {
    s.time_s / 3600.0
}

/// The policies in the order their steps come.
fn policies(steps: &[Step]) -> Vec<&str> {
    let mut names: Vec<&str> = Vec::new();
    for s in steps {
        if !names.contains(&s.policy.as_str()) {
            names.push(&s.policy);
        }
    }
    names
}

fn panels(steps: &[Step], recovery_limit_s: f64) -> [LinePanel; 2] {
    let names = policies(steps);
    let mut rate = Vec::new();
    if let Some(first) = names.first() {
        rate.push(Series {
            name: "input rate".into(),
            points: steps
                .iter()
                .filter(|s| s.policy == *first)
                .map(|s| (hours(s), s.rate))
                .collect(),
        });
    }
    for name in &names {
        let forecast: Vec<(f64, f64)> = steps
            .iter()
            .filter(|s| s.policy == *name)
            .filter_map(|s| Some((hours(s), s.forecast?)))
            .collect();
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
            points: steps
                .iter()
                .filter(|s| s.policy == *name)
                .map(|s| (hours(s), s.cpu_requested))
                .collect(),
        })
        .collect();
    let marked = |name: &str, marker, pick: &dyn Fn(&Step) -> bool| Marks {
        name: name.into(),
        marker,
        points: steps
            .iter()
            .filter(|s| pick(s))
            .map(|s| (hours(s), s.cpu_requested))
            .collect(),
    };
    let marks = vec![
        marked("rescale (in place)", Marker::Triangle, &|s| s.rescaled),
        marked("restart", Marker::Cross, &|s| s.reconfigured && !s.rescaled),
        marked(
            &format!("failure recovered in more than {recovery_limit_s:.0} s"),
            Marker::Square,
            &|s| s.failure && s.recovery_time_s > recovery_limit_s,
        ),
    ];
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
