//! Predicting FailConfs before running anything: the start-up rules of Flink's memory model
//! (`memory`), evaluated on the configuration a trial would hand to Flink. A configuration
//! these rules reject cannot start a JobManager or TaskManager, so running it only costs
//! time; `generate` replaces such configurations and `collect` skips them.

use crate::conf::{FlatConf, FlinkVersion};
use crate::memory::{self, lookup};
use crate::resources;
use crate::rpc;

/// Why Flink `version` would refuse to start with `conf` (its memory rules, the RPC frame
/// size and the TaskManager's memory segment size), or None when they pass.
pub fn predict_failure(conf: &FlatConf, version: FlinkVersion) -> Option<String> {
    let jobmanager = memory::jobmanager(conf, version)
        .map_err(|e| e.to_string())
        .and_then(|_| rpc::framesize_bytes(conf));
    if let Err(e) = jobmanager {
        return Some(format!("JobManager would not start: {e}"));
    }
    let taskmanager =
        memory::taskmanager(conf, version).and_then(|_| memory::segment_size_bytes(conf, version));
    taskmanager
        .err()
        .map(|e| format!("TaskManager would not start: {e}"))
}

/// The size of the cluster a study's trials run on, where the study declares it (the
/// simulator's cluster; a command adapter's is unknown unless its study says so).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capacity {
    /// Always this many TaskManagers, each with the configuration's slots; the job runs
    /// at `parallelism.default` (the simulator's fixed cluster).
    Fixed { taskmanagers: u32 },
    /// As many TaskManagers as the configuration asks for (`flinktune.taskmanagers`, 1
    /// when absent), at most `max_taskmanagers`; the job runs on every slot, as in Flink's
    /// reactive mode (the simulator's Kubernetes cluster).
    Reactive { max_taskmanagers: u32 },
}

/// `predict_failure` plus the rules of the cluster's size, when it is known.
pub fn predict_failure_on(
    conf: &FlatConf,
    version: FlinkVersion,
    capacity: Option<Capacity>,
) -> Option<String> {
    predict_failure(conf, version).or_else(|| capacity.and_then(|c| cluster_failure(conf, c)))
}

/// Why the job could not get its slots (or TaskManagers) on a cluster of `capacity`, or
/// None when it fits. Unreadable values are not this rule's to judge: the memory rules or
/// the run report them.
pub fn cluster_failure(conf: &FlatConf, capacity: Capacity) -> Option<String> {
    let int =
        |key: &str| -> Option<i64> { lookup(conf, key).map_or(Some(1), |text| text.parse().ok()) };
    match capacity {
        Capacity::Fixed { taskmanagers } => {
            let slots = int("taskmanager.numberOfTaskSlots").filter(|&s| s >= 1)?;
            let parallelism = int("parallelism.default").filter(|&p| p >= 1)?;
            let total = i64::from(taskmanagers).saturating_mul(slots);
            // Flink waits for slots that never come until the slot request times out.
            (parallelism > total).then(|| {
                format!(
                    "not enough task slots: the job needs {parallelism} (parallelism.default) \
                     but the cluster offers {total} ({taskmanagers} TaskManagers × {slots} slots)"
                )
            })
        }
        Capacity::Reactive { max_taskmanagers } => {
            let asked = resources::taskmanagers(conf).ok()?;
            (asked > max_taskmanagers).then(|| {
                format!(
                    "not enough TaskManagers: the configuration asks for {asked} \
                     ({}) but the cluster runs at most {max_taskmanagers}",
                    resources::TASKMANAGERS_KEY
                )
            })
        }
    }
}

/// Alike failure reasons: how many there were and one of them, word for word.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "ReasonGroupFile")]
pub struct ReasonGroup {
    pub count: usize,
    /// The first reason of the group, as the trial or the pre-check gave it.
    pub example: String,
}

/// A reason group as summary files hold it; older summaries held `[masked reason, count]`.
#[derive(serde::Deserialize)]
#[serde(untagged)]
enum ReasonGroupFile {
    Group { count: usize, example: String },
    Masked(String, usize),
}

impl From<ReasonGroupFile> for ReasonGroup {
    fn from(f: ReasonGroupFile) -> Self {
        match f {
            ReasonGroupFile::Group { count, example } => ReasonGroup { count, example },
            ReasonGroupFile::Masked(example, count) => ReasonGroup { count, example },
        }
    }
}

/// Failure reasons grouped by kind (alike but for their numbers), most common first; each
/// group keeps its first reason uncut. The kind is only the grouping key, never shown.
pub fn group_reasons<'a>(reasons: impl Iterator<Item = &'a str>) -> Vec<ReasonGroup> {
    let mut groups: std::collections::BTreeMap<String, ReasonGroup> = Default::default();
    for r in reasons {
        groups
            .entry(reason_kind(r))
            .or_insert_with(|| ReasonGroup {
                count: 0,
                example: r.to_string(),
            })
            .count += 1;
    }
    let mut out: Vec<(String, ReasonGroup)> = groups.into_iter().collect();
    out.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
    out.into_iter().map(|(_, g)| g).collect()
}

/// A failure reason without its numbers, so alike failures group together: its first line
/// with every number masked, cut at 100 characters (past them, quoted output such as an
/// adapter's stderr tail would tell alike failures apart).
fn reason_kind(reason: &str) -> String {
    let first = reason.lines().next().unwrap_or("");
    let mut out = String::new();
    for c in first.chars() {
        if c.is_ascii_digit() || (c == '.' && out.ends_with('#')) {
            if !out.ends_with('#') {
                out.push('#');
            }
        } else {
            out.push(c);
        }
    }
    out.chars().take(100).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::SIMULATED_FLINK as V1_11;
    use crate::sim::{self, Cluster, SimJob, SimOutcome};

    /// Flink 1.11's shipped configuration with some keys changed (None removes a key).
    fn conf(changes: &[(&str, Option<&str>)]) -> FlatConf {
        let mut c: FlatConf = [
            ("jobmanager.memory.process.size", "1600m"),
            ("taskmanager.memory.process.size", "1728m"),
            ("taskmanager.numberOfTaskSlots", "1"),
            ("parallelism.default", "1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in changes {
            match v {
                Some(v) => c.insert(k.to_string(), v.to_string()),
                None => c.remove(*k),
            };
        }
        c
    }

    fn rejects(changes: &[(&str, Option<&str>)], words: &str) {
        let why = predict_failure(&conf(changes), V1_11)
            .unwrap_or_else(|| panic!("{changes:?} should be predicted to fail"));
        assert!(why.contains(words), "{changes:?}: {why}");
    }

    #[test]
    fn reasons_group_without_their_numbers() {
        let g = group_reasons(
            [
                "Insufficient number of network buffers: required 4096, but only 28",
                "Insufficient number of network buffers: required 17, but only 3.5",
                "other",
            ]
            .into_iter(),
        );
        assert_eq!(g[0].count, 2);
        // The first reason of the group, uncut and with its numbers.
        assert_eq!(
            g[0].example,
            "Insufficient number of network buffers: required 4096, but only 28"
        );
        assert_eq!(g[1].count, 1);
        assert_eq!(g[1].example, "other");
    }

    #[test]
    fn summaries_with_masked_reason_pairs_still_read() {
        let old: Vec<ReasonGroup> = serde_json::from_str(r#"[["x #", 3]]"#).unwrap();
        assert_eq!(
            old[0],
            ReasonGroup {
                count: 3,
                example: "x #".into()
            }
        );
        let g = group_reasons(["a 1"].into_iter());
        let back: Vec<ReasonGroup> =
            serde_json::from_str(&serde_json::to_string(&g).unwrap()).unwrap();
        assert_eq!(back, g);
    }

    #[test]
    fn flinks_default_and_sensible_changes_pass() {
        assert_eq!(predict_failure(&conf(&[]), V1_11), None);
        for changes in [
            vec![("taskmanager.memory.process.size", Some("8g"))],
            vec![
                ("taskmanager.memory.process.size", None),
                ("taskmanager.memory.flink.size", Some("4096m")),
            ],
            vec![("taskmanager.memory.network.fraction", Some("0.2"))],
            vec![("taskmanager.memory.segment-size", Some("64kb"))],
        ] {
            assert_eq!(predict_failure(&conf(&changes), V1_11), None, "{changes:?}");
        }
    }

    #[test]
    fn a_frame_size_the_rpc_system_refuses_is_predicted() {
        rejects(
            &[("akka.framesize", Some("2147483648b"))],
            "JobManager would not start: IllegalArgumentException",
        );
        rejects(&[("akka.framesize", Some("16kb"))], "maximum-frame-size");
        let near_max = conf(&[("akka.framesize", Some("2146435072b"))]);
        assert_eq!(predict_failure(&near_max, V1_11), None);
    }

    // The rules of flink-facts.md, one by one.
    #[test]
    fn rule_1_exactly_one_way_of_sizing() {
        rejects(
            &[("taskmanager.memory.process.size", None)],
            "TaskManager would not start",
        );
        rejects(&[("jobmanager.memory.process.size", None)], "JobManager");
    }

    #[test]
    fn rule_2_derived_overhead_within_its_range() {
        // Real Flink rejected this (real-flink.md): flink 2048m with process 1728m.
        rejects(
            &[("taskmanager.memory.flink.size", Some("2048m"))],
            "TaskManager",
        );
        // process − flink − metaspace = 1728 − 1024 − 256 = 448m > overhead max 400m.
        rejects(
            &[
                ("taskmanager.memory.flink.size", Some("1024m")),
                ("taskmanager.memory.jvm-overhead.max", Some("400m")),
            ],
            "Overhead",
        );
        // ... but exactly in range is fine: 1728 − 1280 − 256 = 192m = the default min.
        assert_eq!(
            predict_failure(
                &conf(&[("taskmanager.memory.flink.size", Some("1280m"))]),
                V1_11
            ),
            None
        );
    }

    #[test]
    fn rule_3_metaspace_and_overhead_within_the_process() {
        // Real Flink: "Sum of configured JVM Metaspace (256mb) and JVM Overhead (192mb)
        // exceed configured Total Process Memory".
        rejects(
            &[("taskmanager.memory.process.size", Some("256m"))],
            "JVM Metaspace",
        );
        rejects(
            &[("jobmanager.memory.jvm-metaspace.size", Some("2048m"))],
            "JobManager",
        );
    }

    #[test]
    fn rule_4_components_within_total_flink_memory() {
        // Real Flink: network fraction 0.4 with the default 1728m process size.
        rejects(
            &[("taskmanager.memory.network.fraction", Some("0.4"))],
            "exceed",
        );
        rejects(&[("taskmanager.memory.managed.size", Some("2g"))], "exceed");
        // Legacy network memory: 44 800 buffers of 1 MiB each.
        rejects(
            &[
                ("taskmanager.network.numberOfBuffers", Some("44800")),
                ("taskmanager.memory.segment-size", Some("1024kb")),
            ],
            "exceed",
        );
    }

    #[test]
    fn rule_5_fractions_and_network_bounds() {
        rejects(
            &[("taskmanager.memory.network.fraction", Some("1.0"))],
            "fraction",
        );
        rejects(
            &[
                ("taskmanager.memory.network.min", Some("512m")),
                ("taskmanager.memory.network.max", Some("256m")),
            ],
            "TaskManager",
        );
    }

    #[test]
    fn rule_7_overhead_min_above_max() {
        rejects(
            &[
                ("taskmanager.memory.jvm-overhead.min", Some("512m")),
                ("taskmanager.memory.jvm-overhead.max", Some("256m")),
            ],
            "TaskManager",
        );
    }

    #[test]
    fn unreadable_sizes_and_bad_segments_are_caught() {
        // Real Flink: "Cannot read memory size from config option".
        rejects(
            &[("taskmanager.memory.process.size", Some("lots"))],
            "Cannot read memory size from config option 'taskmanager.memory.process.size'",
        );
        rejects(
            &[("taskmanager.memory.segment-size", Some("48kb"))],
            "TaskManager",
        );
    }

    #[test]
    fn slots_on_a_fixed_cluster() {
        let four = Capacity::Fixed { taskmanagers: 4 };
        let on = |p: &str, s: &str| {
            let c = conf(&[
                ("parallelism.default", Some(p)),
                ("taskmanager.numberOfTaskSlots", Some(s)),
            ]);
            cluster_failure(&c, four)
        };
        assert_eq!(on("8", "2"), None);
        let why = on("12", "2").expect("12 > 4 × 2");
        assert!(
            why.contains("needs 12") && why.contains("offers 8"),
            "{why}"
        );
        assert_eq!(on("9", "3"), None);
        assert!(on("13", "3").is_some());
        // Unreadable values are the memory rules' or the run's to report.
        assert_eq!(on("x", "1"), None);
        assert_eq!(on("500", "0"), None);
        // Without a known cluster nothing is said about slots.
        let big = conf(&[("parallelism.default", Some("500"))]);
        assert_eq!(predict_failure_on(&big, V1_11, None), None);
        assert!(predict_failure_on(&big, V1_11, Some(four)).is_some());
        // The memory rules come first.
        let both = conf(&[
            ("parallelism.default", Some("500")),
            ("taskmanager.memory.process.size", Some("256m")),
        ]);
        assert!(
            predict_failure_on(&both, V1_11, Some(four))
                .unwrap()
                .contains("Metaspace")
        );
    }

    #[test]
    fn taskmanagers_on_a_reactive_cluster() {
        let quota = Capacity::Reactive {
            max_taskmanagers: 24,
        };
        let tms = |n: &str| conf(&[("flinktune.taskmanagers", Some(n))]);
        // Reactive mode runs at TaskManagers × slots, so parallelism never over-asks.
        let c = conf(&[("parallelism.default", Some("500"))]);
        assert_eq!(cluster_failure(&c, quota), None);
        assert_eq!(cluster_failure(&tms("24"), quota), None);
        let why = cluster_failure(&tms("25"), quota).expect("25 > 24");
        assert!(why.contains("25") && why.contains("at most 24"), "{why}");
    }

    /// On sampled configurations, the slot rule rejects exactly those the simulator's fixed
    /// cluster fails for lack of slots.
    #[test]
    fn slot_predictions_agree_with_the_simulator() {
        let text = include_str!("../../../configs/flink-1.11-key-params.toml");
        let (_, space) = crate::space::Space::from_catalogue_text(text, "t").unwrap();
        let base = conf(&[]);
        let cluster = Cluster::default();
        let capacity = Capacity::Fixed {
            taskmanagers: cluster.taskmanagers,
        };
        let (mut short, mut masked) = (0, 0);
        for c in &crate::space::sample_configs(&space, 400, 23) {
            let full = crate::conf::apply(&base, &space.flink_entries(c), &space.replaced_keys(c));
            if predict_failure(&full, V1_11).is_some() {
                continue;
            }
            let predicted = cluster_failure(&full, capacity);
            let sim_says = match sim::simulate(&full, &cluster, &SimJob::default()) {
                SimOutcome::Fail { reason } => Some(reason),
                SimOutcome::Pass(_) => None,
            };
            let sim_short = sim_says
                .as_deref()
                .is_some_and(|r| r.contains("Could not acquire the required slots"));
            if sim_short {
                assert!(predicted.is_some(), "the simulator lacked slots: {full:?}");
            }
            if let Some(why) = predicted {
                short += 1;
                // The simulator may stop at an earlier start-up failure (node memory,
                // metaspace); it never runs a configuration the rule rejects.
                let reason = sim_says.unwrap_or_else(|| panic!("predicted {why}, but it ran"));
                masked += usize::from(!sim_short);
                if sim_short {
                    let need = format!("needs {} slots", full["parallelism.default"]);
                    assert!(reason.contains(&need), "{why} vs {reason}");
                }
            }
        }
        assert!(
            short > 50,
            "the sample should over-subscribe the slots often"
        );
        assert!(
            masked * 4 < short,
            "{masked} of {short} failed for another reason"
        );
    }

    /// Every configuration the checker rejects also fails in the simulator (which starts
    /// Flink's processes through the same rules), and for the same reason.
    #[test]
    fn predictions_agree_with_the_simulator() {
        let text = include_str!("../../../configs/flink-1.11-key-params.toml");
        let (_, space) = crate::space::Space::from_catalogue_text(text, "t").unwrap();
        let base = conf(&[]);
        let configs = crate::space::sample_configs(&space, 400, 17);
        let mut predicted = 0;
        for c in &configs {
            let full = crate::conf::apply(&base, &space.flink_entries(c), &space.replaced_keys(c));
            if let Some(why) = predict_failure(&full, V1_11) {
                predicted += 1;
                let job = SimJob::default();
                match sim::simulate(&full, &Cluster::default(), &job) {
                    SimOutcome::Fail { reason } => {
                        let core = why.split_once(": ").map(|x| x.1).unwrap_or(&why);
                        assert!(reason.contains(core), "{why} vs {reason}");
                    }
                    SimOutcome::Pass(_) => panic!("predicted {why}, but it ran"),
                }
            }
        }
        assert!(predicted > 10, "the sample should contain memory FailConfs");
    }
}
