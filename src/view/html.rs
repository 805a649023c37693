//! A [`Snapshot`] as one self-contained HTML page: CSS inline, every figure an SVG document
//! embedded as a `data:` image (an image cannot run script or fetch anything), no request
//! to anywhere. The same sections make `report.html` and the dashboard's page; the
//! dashboard's adds a small inline script that polls its JSON endpoint and swaps the
//! sections in when the study moved on. Every string from the study goes through
//! `markup::escape`.
//!
//! The figures the page reads back (trial and evaluation counts, the best value) carry
//! stable ids and `data-value` attributes, for scripts and tests that read the page.

use crate::report::plot;
use crate::stages::best::Best;
use crate::stages::model::ModelSummary;
use crate::stages::search::progress::EvaluationRow;
use crate::study::Over;
use crate::trial::record::TrialRecord;
use crate::view::markup::{MAX_ROWS, escape, figure, li, more, num, opt_num, section, tile};
use crate::view::snapshot::{CollectView, SearchView, Snapshot};
use std::fmt::Write;

/// Which page: the file to keep, or the dashboard's, which refreshes itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Report,
    Live,
}

/// The whole page.
pub fn page(s: &Snapshot, mode: Mode) -> String {
    let script = match mode {
        Mode::Report => String::new(),
        Mode::Live => format!("<script>{}</script>\n", LIVE_SCRIPT),
    };
    let what = match mode {
        Mode::Report => "report",
        Mode::Live => "dashboard",
    };
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>flinktune {what}: {study}</title>\n<style>{CSS}</style>\n</head>\n\
         <body data-mode=\"{what}\">\n<header><h1>flinktune {what}</h1>\
         <p class=\"meta\"><code>{study}</code> · Flink {version} · objective {objective} · \
         adapter {adapter}<span id=\"live\"></span></p></header>\n\
         <main id=\"view\">\n{body}</main>\n{script}</body>\n</html>\n",
        study = escape(&s.study),
        version = escape(&s.flink_version),
        objective = s.objective,
        adapter = escape(&s.adapter),
        body = sections(s),
    )
}

/// The page's sections (what the dashboard swaps in when the study moved on).
pub fn sections(s: &Snapshot) -> String {
    let mut out = standing(s);
    if let Some(b) = &s.best_config {
        out += &best_section(b);
    }
    if let Some(search) = &s.search {
        out += &search_section(s, search);
    }
    if let Some(c) = &s.collect {
        out += &collect_section(c);
    }
    if let Some(l) = &s.live {
        out += &crate::view::adapt::live_section_html(l);
    }
    if let Some(a) = &s.adapt {
        out += &crate::view::adapt::section_html(a);
    }
    if let Some(m) = &s.model {
        out += &model_section(m);
    }
    out += &figures_section(&s.figures);
    out += &failures_section(&s.failures);
    if !s.notes.is_empty() {
        let items: String = s.notes.iter().map(|n| li(&escape(n))).collect();
        out += &section("notes", "Could not be read", &format!("<ul>{items}</ul>"));
    }
    let file = format!("<pre>{}</pre>", escape(&s.study_file));
    out + &section("study-file", "Study file (flinktune.toml)", &file)
}

/// Where the study stands: the headline figures and each stage's state.
fn standing(s: &Snapshot) -> String {
    let best_label = format!("best {} so far", s.objective);
    let best = s.best.map(|b| b.to_string()).unwrap_or_default();
    let searched = s.search.as_ref().map_or(0, |x| x.budget);
    let evaluations = format!("{} of {searched}", s.evaluations);
    let mut body = String::from("<div class=\"tiles\">");
    body += &tile(
        "trials",
        "trials run",
        &s.trials.to_string(),
        &s.trials.to_string(),
    );
    body += &tile(
        "evaluations",
        "search evaluations",
        &evaluations,
        &s.evaluations.to_string(),
    );
    body += &tile("best", &best_label, &opt_num(s.best), &best);
    if let Some(f) = s.search.as_ref().and_then(|x| x.front.as_ref()) {
        let n = f.size.to_string();
        body += &tile("front-size", "configurations on the Pareto front", &n, &n);
    }
    if let Some(a) = &s.adapt {
        body += &crate::view::adapt::tiles(a);
    }
    if let Some(l) = &s.live {
        body += &crate::view::adapt::live_tiles(l);
    }
    body += "</div>\n";
    let writer = match &s.writer {
        Some(w) => format!("writing now: {}", escape(w)),
        None => "no flinktune command is writing this study now".into(),
    };
    let _ = write!(
        body,
        "<p id=\"writer\">{writer}</p>\n<table class=\"stages\">"
    );
    for st in &s.stages {
        let class = st.state.split([' ', '(']).next().unwrap_or_default();
        let _ = write!(
            body,
            "<tr><th>{}</th><td class=\"{}\">{}</td></tr>",
            escape(&st.stage),
            escape(class),
            escape(&st.state)
        );
    }
    body += "</table>";
    section("standing", "Where the study stands", &body)
}

/// The best configuration as the keys it changes, with what was measured of it.
fn best_section(b: &Best) -> String {
    let s = &b.search;
    let x = |v: f64| format!("{v:.2}×");
    let effect = match (&b.validated, s.predicted_speedup) {
        (Some(v), _) => match v.speedup_objective {
            Some(sp) => format!(
                "Measured by <code>validate</code> at {} rec/s, {} trial(s) each: \
                 <strong id=\"speedup\" data-value=\"{sp}\">{}</strong> the default's {}.",
                v.rate,
                v.repeats,
                x(sp),
                v.objective
            ),
            None => "Measured by <code>validate</code>: n/a (a configuration failed).".into(),
        },
        (None, Some(sp)) => format!(
            "Predicted by the model: {} the default's {} (not measured yet: run \
             <code>flinktune validate</code>).",
            x(sp),
            s.objective
        ),
        (None, None) => format!(
            "Measured by the search: {} {}; run <code>flinktune validate</code> to measure \
             it against the default.",
            s.objective,
            num(s.best_perf)
        ),
    };
    let effect = match b.validated.as_ref().filter(|v| v.runner_up()) {
        Some(v) => format!(
            "{effect} The search's best failed its first run there; this is the search's \
             rank-{} configuration (rejected: {}).",
            v.rank,
            escape(&v.rejected.join("; "))
        ),
        None => effect,
    };
    let mut rows = String::new();
    for e in &b.entries {
        let default = e.default.as_deref().unwrap_or("Flink's built-in default");
        let _ = write!(
            rows,
            "<tr><td><code>{}</code></td><td class=\"old\">{}</td><td class=\"new\">{}</td></tr>",
            escape(&e.key),
            escape(default),
            escape(&e.value)
        );
    }
    for (k, v) in &b.removed {
        let _ = write!(
            rows,
            "<tr><td><code>{}</code></td><td class=\"old\">{}</td><td class=\"new\">(removed)</td></tr>",
            escape(k),
            escape(v)
        );
    }
    let body = format!(
        "<p>{effect}</p>\n<table><thead><tr><th>key</th><th>default</th><th>best</th></tr>\
         </thead><tbody>{rows}</tbody></table>\n<p class=\"meta\">Complete file: <code>{}</code>\
         </p>",
        escape(&b.file.display().to_string())
    );
    section(
        "best-config",
        "Best configuration (changes to the default)",
        &body,
    )
}

/// The search's convergence and its evaluations, newest first.
fn search_section(s: &Snapshot, search: &SearchView) -> String {
    let what = match search.over {
        Over::Model => "predicted by the model",
        Over::System => "measured on the system",
    };
    let state = if search.finished {
        "finished"
    } else {
        "in progress or interrupted"
    };
    let mut body = format!(
        "<p>{} of {} evaluations, {what}; {state}.</p>\n",
        search.rows.len(),
        search.budget
    );
    if let Some(f) = &search.front {
        let _ = writeln!(
            body,
            "<p>Objectives {}: {} evaluations ran, {} met the constraints, \
             <strong>{}</strong> on the front.</p>",
            escape(&f.objectives.join(", ")),
            f.ran,
            f.feasible,
            f.size
        );
        body += &figure("Pareto front", &f.svg);
    }
    if !search.convergence.is_empty() {
        let series = [plot::Series {
            name: format!("best {} so far", s.objective),
            points: search.convergence.clone(),
        }];
        let title = format!("Convergence: best {} so far", s.objective);
        match plot::line_chart_svg(&title, "evaluation", &s.objective.to_string(), &series) {
            Ok(svg) => body += &figure(&title, &svg),
            Err(e) => body += &format!("<p>{}</p>", escape(&format!("{e:#}"))),
        }
    }
    body += &evaluation_table(&search.rows);
    section("search", "Search", &body)
}

fn evaluation_table(rows: &[EvaluationRow]) -> String {
    let mut out = String::from(
        "<table id=\"evaluation-table\"><thead><tr><th>#</th><th>phase</th><th>status</th>\
         <th>objective</th><th>reason</th></tr></thead><tbody>",
    );
    for r in rows.iter().rev().take(MAX_ROWS) {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
            r.iteration,
            if r.initial { "initial" } else { "bo" },
            r.status,
            r.status,
            opt_num(r.perf),
            escape(&r.reason)
        );
    }
    out + "</tbody></table>" + &more(rows.len(), "search/history.csv")
}

/// Collect's trials, newest first.
fn collect_section(c: &CollectView) -> String {
    let mut body = format!(
        "<p>{} of {} trials done ({}): {} passed, {} FailConf, {} adapter errors, {} skipped \
         as predicted FailConf.</p>\n",
        c.records.len(),
        c.planned,
        if c.finished {
            "finished"
        } else {
            "in progress or interrupted"
        },
        c.pass,
        c.fail,
        c.error,
        c.skipped
    );
    body += "<table id=\"trial-table\"><thead><tr><th>trial</th><th>rate</th><th>status</th>\
             <th>throughput</th><th>p99 ms</th><th>s</th><th>reason</th></tr></thead><tbody>";
    for r in c.records.iter().rev().take(MAX_ROWS) {
        body += &trial_row(r);
    }
    body += "</tbody></table>";
    body += &more(c.records.len(), "collect/trials.csv");
    section("collect", "Collected trials", &body)
}

fn trial_row(r: &TrialRecord) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{:.1}</td>\
         <td>{}</td></tr>",
        escape(&r.trial),
        r.rate,
        r.status,
        r.status,
        opt_num(r.throughput),
        opt_num(r.latency_p99_ms),
        r.seconds,
        escape(&r.reason)
    )
}

/// The model's accuracy on held-out configurations and every regressor's.
fn model_section(m: &ModelSummary) -> String {
    let mut body = format!(
        "<p>Saved model: <strong>{}</strong> ({}). On {} held-out rows: MAPE \
         <strong id=\"model-mape\" data-value=\"{}\">{:.1}%</strong>, median APE {:.1}%, \
         R² {:.3}.</p>\n",
        m.saved,
        escape(&m.saved_because),
        m.test_rows,
        m.test_mape_percent,
        m.test_mape_percent,
        m.test_median_ape_percent,
        m.test_r2
    );
    if !m.comparison.is_empty() {
        body += "<table><thead><tr><th>regressor</th><th>hold-out MAPE %</th>\
                 <th>hold-out R²</th><th>CV MAPE %</th><th>CV R²</th></tr></thead><tbody>";
        for c in &m.comparison {
            let _ = write!(
                body,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                c.regressor,
                num(c.holdout_mape_percent),
                num(c.holdout_r2),
                num(c.cv_mape_percent),
                num(c.cv_r2)
            );
        }
        body += "</tbody></table>";
    }
    section("model", "Model accuracy", &body)
}

fn figures_section(figures: &[(String, String)]) -> String {
    if figures.is_empty() {
        return String::new();
    }
    let body: String = figures.iter().map(|(t, svg)| figure(t, svg)).collect();
    section("figures", "Parameter importance and model accuracy", &body)
}

fn failures_section(failures: &[(String, String, usize)]) -> String {
    if failures.is_empty() {
        return section("failures", "Failures by reason", "<p>None so far.</p>");
    }
    let mut body = String::from(
        "<table><thead><tr><th>stage</th><th>count</th><th>reason</th></tr></thead><tbody>",
    );
    for (stage, reason, n) in failures {
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{n}</td><td>{}</td></tr>",
            escape(stage),
            escape(reason)
        );
    }
    body += "</tbody></table>";
    section("failures", "Failures by reason", &body)
}

const CSS: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2330;background:#f5f6f8}
header{background:#1f3a5f;color:#fff;padding:14px 28px}
header h1{margin:0;font-size:22px}
header .meta{color:#d6e0ee;margin:4px 0 0}
main{padding:8px 28px 40px;max-width:1200px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:6px 18px 14px;margin:16px 0}
h2{font-size:17px;margin:10px 0}
.tiles{display:flex;gap:14px;flex-wrap:wrap}
.tile{border:1px solid #dde1e7;border-radius:6px;padding:8px 16px;min-width:170px}
.tile .label{color:#5b6475;font-size:13px}
.tile .value{font-size:26px;font-weight:600}
table{border-collapse:collapse;font-size:13px;margin:8px 0}
th,td{border-bottom:1px solid #e6e9ee;padding:3px 10px;text-align:left;vertical-align:top}
thead th{background:#f0f2f5}
td.pass,td.finished{color:#1a7f37}
td.fail,td.error,td.stale{color:#b42318}
td.skipped,td.not{color:#6b7280}
td.running{color:#9a6700}
td.old{color:#8a1f11}
td.new{color:#14632c;font-weight:600}
.meta{color:#5b6475;font-size:13px}
figure{margin:10px 0}
figure img{max-width:100%;height:auto;border:1px solid #e6e9ee}
pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px}
#live{margin-left:10px}
";

/// The dashboard page's script: polls `api/state` every second, shows the headline figures
/// at once and fetches the sections again when the study moved on.
const LIVE_SCRIPT: &str = r#"
(function () {
  var seen = null, polls = 0;
  function show(id, value, text) {
    var el = document.getElementById(id);
    if (el) { el.dataset.value = value; el.textContent = text; }
  }
  function poll() {
    fetch('api/state', {cache: 'no-store'}).then(function (r) { return r.json(); })
      .then(function (s) {
        polls += 1;
        document.body.dataset.polls = polls;
        show('trials', s.trials, String(s.trials));
        var live = document.getElementById('live');
        live.textContent = ' · live, updated ' + new Date().toLocaleTimeString();
        if (s.revision === seen) { return; }
        return fetch('view', {cache: 'no-store'}).then(function (r) { return r.text(); })
          .then(function (html) {
            document.getElementById('view').innerHTML = html;
            seen = s.revision;
          });
      })
      .catch(function () {
        document.getElementById('live').textContent = ' · the dashboard is not reachable';
      });
  }
  poll();
  setInterval(poll, 1000);
})();
"#;
