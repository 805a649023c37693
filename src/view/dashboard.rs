//! `flinktune dashboard`: a small read-only web server showing a study live while `collect`,
//! `search` or `adapt` write it. Each request reads the study afresh through the stages'
//! readers ([`Snapshot`]); nothing here takes the study's lock, so a writer is never kept
//! waiting, and a journal line being appended is not read until it is complete.
//!
//! `/` is the page, `/view` its sections, `/api/state` the JSON the page polls every second
//! (the headline figures and a `revision` that changes whenever the sections would). One
//! thread answers one request at a time: a local viewer or two, not a public site.

use crate::study::Study;
use crate::study::fingerprint::fingerprint;
use crate::view::html::{self, Mode};
use crate::view::snapshot::Snapshot;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::io::ErrorKind;
use std::net::{IpAddr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tiny_http::{Header, Method, Request, Response, Server};

/// How often the server looks for a stop request (Ctrl-C) while idle.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// What `/api/state` answers.
#[derive(Serialize)]
pub struct State<'a> {
    /// Changes whenever the page's sections would (a fingerprint of them).
    pub revision: String,
    #[serde(flatten)]
    pub snapshot: &'a Snapshot,
}

/// The state of the study as `/api/state` gives it.
pub fn state_json(snapshot: &Snapshot) -> Result<String> {
    let sections = html::sections(snapshot);
    let state = State {
        revision: fingerprint(&[sections.as_bytes()]),
        snapshot,
    };
    Ok(serde_json::to_string(&state)?)
}

/// A dashboard bound to its address, not yet serving.
pub struct Dashboard {
    dir: PathBuf,
    server: Server,
    addr: SocketAddr,
}

impl Dashboard {
    /// Checks that `dir` is a study and binds `address:port` (port 0: any free one).
    pub fn bind(dir: &Path, address: IpAddr, port: u16) -> Result<Dashboard> {
        Study::load(dir)?;
        let listener = TcpListener::bind((address, port)).map_err(|e| match e.kind() {
            ErrorKind::AddrInUse => anyhow::anyhow!(
                "port {port} on {address} is in use (another dashboard?): choose another \
                 with --port"
            ),
            _ => anyhow::Error::new(e).context(format!("cannot listen on {address}:{port}")),
        })?;
        let addr = listener.local_addr()?;
        let server = Server::from_listener(listener, None)
            .map_err(|e| anyhow::anyhow!("cannot serve on {addr}: {e}"))?;
        Ok(Dashboard {
            dir: dir.to_path_buf(),
            server,
            addr,
        })
    }

    /// The address it listens on.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Answers requests until a stop is requested (Ctrl-C, `process::request_cancel`).
    pub fn run(&self) -> Result<()> {
        while !crate::trial::process::cancelled() {
            let request = match self.server.recv_timeout(STOP_CHECK) {
                Ok(Some(r)) => r,
                Ok(None) => continue,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => bail!("the dashboard stopped: {e}"),
            };
            // A client that went away is its own affair, not the dashboard's.
            let _ = self.answer(request);
        }
        Ok(())
    }

    fn answer(&self, request: Request) -> std::io::Result<()> {
        if !matches!(request.method(), Method::Get | Method::Head) {
            return request.respond(text(405, "text/plain", "read-only: GET only".into()));
        }
        let path = request
            .url()
            .split('?')
            .next()
            .unwrap_or_default()
            .to_string();
        let response = match path.as_str() {
            "/" | "/view" | "/api/state" => match self.render(&path) {
                Ok((kind, body)) => text(200, kind, body),
                Err(e) => text(500, "text/plain", format!("error: {e:#}\n")),
            },
            _ => text(404, "text/plain", format!("no page {path}\n")),
        };
        request.respond(response)
    }

    /// The study read now, as the page, its sections or the state.
    fn render(&self, path: &str) -> Result<(&'static str, String)> {
        let study = Study::load(&self.dir).context("reading the study")?;
        let snapshot = Snapshot::take(&study);
        Ok(match path {
            "/" => (HTML, html::page(&snapshot, Mode::Live)),
            "/view" => (HTML, html::sections(&snapshot)),
            _ => ("application/json", state_json(&snapshot)?),
        })
    }
}

const HTML: &str = "text/html; charset=utf-8";

fn text(status: u16, kind: &str, body: String) -> Response<std::io::Cursor<Vec<u8>>> {
    let header = |k: &str, v: &str| Header::from_bytes(k.as_bytes(), v.as_bytes()).ok();
    let mut response = Response::from_string(body).with_status_code(status);
    for h in [
        header("Content-Type", kind),
        header("Cache-Control", "no-store"),
    ]
    .into_iter()
    .flatten()
    {
        response.add_header(h);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stages::search::record::{Evaluation, Step};
    use crate::trial::record::TrialStatus;
    use serde_json::Value;

    /// A step of a search over the system as the journal holds it.
    fn step(study: &Study, status: TrialStatus, perf: Option<f64>) -> String {
        let evaluation = Evaluation {
            perf,
            predicted_mean: None,
            p_pass: if perf.is_some() { 1.0 } else { 0.0 },
            status,
            reason: match status {
                TrialStatus::Pass => String::new(),
                _ => "TaskManager could not start: 3 GB <too much>".into(),
            },
        };
        let step = Step {
            x: vec![],
            config: study.space.default_config(),
            initial: true,
            acquisition: None,
            gp_mean: None,
            gp_std: None,
            evaluation,
        };
        serde_json::to_string(&step).unwrap() + "\n"
    }

    fn state(study: &Study) -> Value {
        serde_json::from_str(&state_json(&Snapshot::take(study)).unwrap()).unwrap()
    }

    #[test]
    fn the_state_counts_a_running_search_without_its_torn_last_line() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("study");
        crate::study::init(&dir, None, None, false).unwrap();
        let study = Study::load(&dir).unwrap();
        let empty = state(&study);
        assert_eq!(
            (&empty["trials"], &empty["evaluations"]),
            (&0.into(), &0.into())
        );
        assert_eq!(empty["best"], Value::Null);
        assert!(
            empty["stages"]
                .as_array()
                .unwrap()
                .iter()
                .all(|s| s["state"] == "not run")
        );

        // A search over the system in progress: two evaluations journaled, a third being
        // appended (no newline yet).
        let running = dir.join(".search.partial");
        std::fs::create_dir_all(&running).unwrap();
        let mut journal = String::from("{\"search_journal\":1,\"plan\":\"p\"}\n");
        journal += &step(&study, TrialStatus::Pass, Some(120.0));
        journal += &step(&study, TrialStatus::Fail, None);
        let torn = step(&study, TrialStatus::Pass, Some(999.0));
        journal += &torn[..torn.len() / 2];
        std::fs::write(running.join("journal.jsonl"), journal).unwrap();
        let s = state(&study);
        assert_eq!((&s["trials"], &s["evaluations"]), (&2.into(), &2.into()));
        assert_eq!(s["best"], 120.0);
        assert_eq!(s["search"]["finished"], false);
        assert_eq!(s["search"]["over"], "system");
        assert_eq!(s["failures"][0][0], "search");
        assert_eq!(s["failures"][0][2], 1);
        let search = s["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["stage"] == "search");
        assert_eq!(search.unwrap()["state"], "running or interrupted");
        assert_ne!(s["revision"], empty["revision"]);
        // The same study read again: the same revision (the page is not fetched again).
        assert_eq!(state(&study)["revision"], s["revision"]);
        // The reason is escaped on the page.
        let page = html::sections(&Snapshot::take(&study));
        assert!(page.contains("&lt;too much&gt;") && !page.contains("<too much>"));
    }

    /// A step of a multi-objective search as its journal holds it.
    fn mo_step(study: &Study, latency: f64, cores: f64) -> String {
        use crate::stages::search::multi::{MoEvaluation, MoStep};
        let metrics = [("latency_p99_ms", latency), ("cpu_cores", cores)]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        let step = MoStep {
            x: vec![],
            config: study.space.default_config(),
            initial: true,
            acquisition: None,
            evaluation: MoEvaluation {
                status: TrialStatus::Pass,
                reason: String::new(),
                metrics,
                perf: Some(1.0),
            },
        };
        serde_json::to_string(&step).unwrap() + "\n"
    }

    #[test]
    fn a_running_multi_objective_search_shows_its_front_as_it_grows() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("study");
        crate::study::init(&dir, None, None, false).unwrap();
        let file = dir.join(crate::study::STUDY_FILE);
        let text = std::fs::read_to_string(&file)
            .unwrap()
            .replace(
                "# objectives = [\"latency_p99_ms:min\", \"cpu_cores:min\"]",
                "objectives = [\"latency_p99_ms:min\", \"cpu_cores:min\"]",
            )
            .replace("over = \"model\"", "over = \"system\"");
        std::fs::write(&file, text).unwrap();
        let study = Study::load(&dir).unwrap();
        let running = dir.join(".search.partial");
        std::fs::create_dir_all(&running).unwrap();
        let path = running.join(crate::stages::search::multi::JOURNAL);
        // Two configurations on the front, one dominated by both; a fourth being appended.
        let mut journal = String::from("{\"search_journal\":1,\"plan\":\"p\"}\n");
        journal += &mo_step(&study, 100.0, 4.0);
        journal += &mo_step(&study, 50.0, 8.0);
        journal += &mo_step(&study, 120.0, 9.0);
        let torn = mo_step(&study, 10.0, 1.0);
        std::fs::write(&path, journal.clone() + &torn[..torn.len() / 2]).unwrap();
        let s = state(&study);
        let front = &s["search"]["front"];
        assert_eq!(
            (&front["ran"], &front["size"]),
            (&3.into(), &2.into()),
            "{s}"
        );
        let page = html::sections(&Snapshot::take(&study));
        assert!(
            page.contains("id=\"front-size\" data-value=\"2\""),
            "{page}"
        );
        assert!(page.contains("alt=\"Pareto front\""), "{page}");
        // The fourth evaluation completes and dominates the rest: the front shrinks to it.
        std::fs::write(&path, journal + &torn).unwrap();
        let later = state(&study);
        let front = &later["search"]["front"];
        assert_eq!((&front["ran"], &front["size"]), (&4.into(), &1.into()));
        assert_ne!(later["revision"], s["revision"]);
    }
}
