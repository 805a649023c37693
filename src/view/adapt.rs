//! The page's sections of `adapt`. A replay (`--trace`), running or finished: how far it
//! is, how often each policy was asked and what it did (kept the running configuration,
//! rescaled it in place, restarted with another), the failures whose recovery broke the
//! limit, the timeline so far (drawn as the finished replay draws `adapt/timeline.svg`), the
//! policies' comparison once each is done, and the switches with their reasons, newest
//! first. The live loop (`--hook`, or a dry run), running or stopped: its intervals, the
//! configuration running, the same timeline drawn from its intervals, and every interval's
//! decision with its reason, newest first.

use crate::adapt::live::LiveRecord;
use crate::adapt::replay::{Step, Summary};
use crate::adapt::replay_cmd::{COMPARISON_COLUMNS, comparison_cells};
use crate::adapt::timeline::{self, Timeline};
use crate::view::markup::{MAX_ROWS, escape, figure, more, num, opt_num, section, tile};
use crate::view::snapshot::{AdaptView, LiveView};
use std::fmt::Write;

/// The headline figures: steps replayed and decisions made so far.
pub fn tiles(a: &AdaptView) -> String {
    let steps = format!("{} of {}", a.steps, a.planned_steps);
    tile(
        "adapt-steps",
        "adapt: steps replayed",
        &steps,
        &a.steps.to_string(),
    ) + &tile(
        "adapt-decisions",
        "adapt: decisions",
        &a.decisions.to_string(),
        &a.decisions.to_string(),
    )
}

/// The section.
pub fn section_html(a: &AdaptView) -> String {
    let r = &a.replay;
    let state = if a.finished {
        "finished"
    } else {
        "in progress or interrupted"
    };
    let mut body = format!(
        "<p>Replay of <code>{}</code> on the simulator, {state}: {} of {} steps \
         ({} policies, a step is {} s). {} decisions: <span id=\"adapt-keeps\">{}</span> \
         kept the running configuration, {} rescaled it in place, {} restarted with another. \
         {} injected failures, {} recovered in more than the limit of {} s.</p>\n",
        escape(&a.trace),
        a.steps,
        a.planned_steps,
        a.policies.len(),
        r.options.step_s,
        a.decisions,
        a.keeps,
        a.rescales,
        a.restarts,
        a.failures,
        a.recovery_violations,
        r.options.recovery_limit_s
    );
    body += &per_policy(a);
    if !r.steps.is_empty() {
        match timeline::svg(&r.steps, r.options.recovery_limit_s) {
            Ok(svg) => body += &figure(timeline::TITLE, &svg),
            Err(e) => body += &format!("<p>{}</p>", escape(&format!("{e:#}"))),
        }
    }
    if !r.summaries.is_empty() {
        body += &comparison(&r.summaries);
    }
    body += &switches(a);
    section("adapt", "Adapt: replayed policies", &body)
}

/// Each policy's steps so far and what its decisions did.
fn per_policy(a: &AdaptView) -> String {
    let limit = a.replay.options.recovery_limit_s;
    let mut out = String::from(
        "<table id=\"adapt-policies\"><thead><tr><th>policy</th><th>steps</th>\
         <th>decisions</th><th>keep</th><th>rescale</th><th>restart</th><th>failures</th>\
         <th>recovery &gt; limit</th></tr></thead><tbody>",
    );
    for name in &a.policies {
        let steps: Vec<&Step> = a
            .replay
            .steps
            .iter()
            .filter(|s| &s.policy == name)
            .collect();
        let count = |f: &dyn Fn(&Step) -> bool| steps.iter().filter(|s| f(s)).count();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{} of {}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(name),
            steps.len(),
            a.replay.steps_per_policy,
            count(&|s| s.decided),
            count(&|s| s.decided && !s.reconfigured),
            count(&|s| s.rescaled),
            count(&|s| s.reconfigured && !s.rescaled),
            count(&|s| s.failure),
            count(&|s| s.failure && s.recovery_time_s > limit),
        );
    }
    out + "</tbody></table>\n"
}

/// The comparison of the policies replayed to the end (`adapt/comparison.csv`).
fn comparison(summaries: &[Summary]) -> String {
    let head: String = COMPARISON_COLUMNS
        .iter()
        .map(|c| format!("<th>{}</th>", escape(c)))
        .collect();
    let mut out = format!(
        "<h3>Comparison of the policies replayed to the end</h3>\
         <table id=\"adapt-comparison\"><thead><tr>{head}</tr></thead><tbody>"
    );
    for s in summaries {
        let cells: String = comparison_cells(s)
            .iter()
            .map(|c| format!("<td>{}</td>", escape(c)))
            .collect();
        let _ = write!(out, "<tr>{cells}</tr>");
    }
    out + "</tbody></table>\n"
}

/// The switches, newest first, with why.
fn switches(a: &AdaptView) -> String {
    let d = &a.replay.decisions;
    if d.is_empty() {
        return "<p>No switch so far.</p>".into();
    }
    let mut out = String::from(
        "<h3>Switches, newest first</h3><table id=\"adapt-switches\"><thead><tr>\
         <th>policy</th><th>hour</th><th>rate (records/s)</th><th>change</th><th>reason</th>\
         </tr></thead><tbody>",
    );
    for r in d.iter().rev().take(MAX_ROWS) {
        let change = serde_json::to_value(r.change)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{:.2}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&r.policy),
            r.time_s / 3600.0,
            num(r.rate),
            escape(&change),
            escape(&r.reason)
        );
    }
    out + "</tbody></table>" + &more(d.len(), "adapt/decisions.csv")
}

/// The live run's headline figures: intervals decided, switches, the scale-out running, the
/// last decision.
pub fn live_tiles(l: &LiveView) -> String {
    let n = l.intervals.to_string();
    let switches = l.switches.to_string();
    let (switched, now) = match l.dry_run {
        true => (
            "live: switches decided (dry run)",
            "live: TaskManagers decided",
        ),
        false => ("live: switches applied", "live: TaskManagers running"),
    };
    let tms = l.taskmanagers.map(|t| t.to_string()).unwrap_or_default();
    let last = match l.last_reason.is_empty() {
        true => l.last_action.clone(),
        false => format!("{}: {}", l.last_action, l.last_reason),
    };
    tile("live-decisions", "live: intervals decided", &n, &n)
        + &tile("live-switches", switched, &switches, &switches)
        + &tile("live-taskmanagers", now, &tms, &tms)
        + &tile("live-last", "live: last decision", &last, &l.last_action)
}

/// The live run's section.
pub fn live_section_html(l: &LiveView) -> String {
    let state = match l.running {
        true => "running",
        false => "not running now (stopped, or interrupted)",
    };
    let how = match l.dry_run {
        true => "a dry run: switches are decided and logged, not applied",
        false => "switches applied through the hook",
    };
    let earlier = match l.runs {
        1 => String::new(),
        n => format!(" The log holds {} earlier runs; this is the last.", n - 1),
    };
    let mut body = format!(
        "<p>Live run, {state}; {how}. {} intervals, each a decision of the policy (keep the \
         configuration, or switch): {} switched, {} failed.{earlier}</p>\n",
        l.intervals, l.switches, l.errors
    );
    // A dry run applies nothing: what runs is not in its log.
    if let (Some(r), false) = (l.log.running(), l.dry_run) {
        let switched = l.log.records.iter().rev().find(|r| r.action == "switch");
        body += &running_config(r, switched.map(|s| s.interval));
    }
    if !l.log.points.is_empty() {
        let title = "Input rate and requested CPU cores during the live run";
        let t = Timeline {
            title,
            run: "live run",
            points: &l.log.points,
            recovery_limit_s: 0.0,
        };
        match timeline::draw(&t) {
            Ok(svg) => body += &figure(title, &svg),
            Err(e) => body += &format!("<p>{}</p>", escape(&format!("{e:#}"))),
        }
    }
    body += &live_decisions(&l.log.records);
    section("adapt-live", "Adapt: the live run", &body)
}

/// The configuration the job runs (switched to at interval `since`, else started with): the
/// tuned keys as the log has them.
fn running_config(r: &LiveRecord, since: Option<u64>) -> String {
    let Some(map) = r.config.as_object() else {
        return String::new();
    };
    let mut rows = String::new();
    for (k, v) in map {
        let v = v.as_str().map_or_else(|| v.to_string(), String::from);
        let _ = write!(
            rows,
            "<tr><td><code>{}</code></td><td>{}</td></tr>",
            escape(k),
            escape(&v)
        );
    }
    format!(
        "<h3>Configuration running ({})</h3><table id=\"live-config\">\
         <thead><tr><th>key</th><th>value</th></tr></thead><tbody>{rows}</tbody></table>\n",
        since.map_or("since the run started".into(), |n| format!(
            "switched to at interval {n}"
        ))
    )
}

/// Every interval's decision, newest first.
fn live_decisions(records: &[LiveRecord]) -> String {
    let t0 = records.first().map_or(0.0, |r| r.unix_time_s);
    let mut out = String::from(
        "<h3>Decisions, newest first</h3><table id=\"live-decisions-table\"><thead><tr>\
         <th>interval</th><th>since start</th><th>rate (records/s)</th><th>decision</th>\
         <th>change</th><th>applied by</th><th>down (s)</th><th>reason</th></tr></thead><tbody>",
    );
    for r in records.iter().rev().take(MAX_ROWS) {
        let change = r
            .change
            .and_then(|c| serde_json::to_value(c).ok())
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td></tr>",
            r.interval,
            clock(r.unix_time_s - t0),
            num(r.rate),
            escape(&r.action),
            escape(&change),
            escape(r.applied_by.as_deref().unwrap_or_default()),
            opt_num(r.downtime_s),
            escape(&r.reason)
        );
    }
    out + "</tbody></table>" + &more(records.len(), "adapt-live/decisions.jsonl")
}

/// A duration as h:mm:ss.
fn clock(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}
