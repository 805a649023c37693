//! The HiBench streaming programs: their names and their profiles (the CPU cost of each vertex,
//! the exchanges between them, record size, keyed state, allocation, window length), which is
//! all the model knows about a job. Apart so a new program is a new profile, not new model
//! code.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::sim::constants::{
    KAFKA_SINK_US, KAFKA_SOURCE_US, MAP_US, PARSE_US, STATE_UPDATE_US, WINDOW_ADD_US,
};

/// The HiBench streaming programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    Identity,
    Repartition,
    Wordcount,
    Fixwindow,
}

impl Workload {
    pub const ALL: [Workload; 4] = [
        Workload::Identity,
        Workload::Repartition,
        Workload::Wordcount,
        Workload::Fixwindow,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Workload::Identity => "identity",
            Workload::Repartition => "repartition",
            Workload::Wordcount => "wordcount",
            Workload::Fixwindow => "fixwindow",
        }
    }
}

impl fmt::Display for Workload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Workload {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "identity" | "id" => Ok(Workload::Identity),
            "repartition" | "rp" => Ok(Workload::Repartition),
            "wordcount" | "wc" => Ok(Workload::Wordcount),
            "fixwindow" | "fw" => Ok(Workload::Fixwindow),
            other => anyhow::bail!(
                "unknown workload '{other}' (expected identity, repartition, wordcount or fixwindow)"
            ),
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
pub(super) enum Exchange {
    Rebalance,
    Hash,
}

pub(super) struct Profile {
    /// Task-thread CPU per record of each vertex, µs, without (de)serialisation and buffers.
    pub(super) stage_us: &'static [f64],
    pub(super) exchanges: &'static [Exchange],
    /// Serialised record size on the wire, bytes.
    pub(super) record_bytes: f64,
    /// Keyed state of the last vertex: distinct keys and heap bytes per key.
    pub(super) keys: f64,
    pub(super) state_bytes_per_key: f64,
    /// Heap allocation per record per vertex, bytes.
    pub(super) alloc_bytes: f64,
    /// Tumbling window length, s (window jobs only).
    pub(super) window_s: Option<f64>,
}

const IDENTITY: Profile = Profile {
    stage_us: &[KAFKA_SOURCE_US, MAP_US + KAFKA_SINK_US],
    exchanges: &[Exchange::Rebalance],
    record_bytes: 65.0,
    keys: 0.0,
    state_bytes_per_key: 0.0,
    alloc_bytes: 250.0,
    window_s: None,
};

const REPARTITION: Profile = Profile {
    stage_us: &[KAFKA_SOURCE_US + MAP_US, MAP_US, KAFKA_SINK_US],
    exchanges: &[Exchange::Rebalance, Exchange::Rebalance],
    record_bytes: 65.0,
    keys: 0.0,
    state_bytes_per_key: 0.0,
    alloc_bytes: 250.0,
    window_s: None,
};

const WORDCOUNT: Profile = Profile {
    stage_us: &[KAFKA_SOURCE_US + PARSE_US, STATE_UPDATE_US + KAFKA_SINK_US],
    exchanges: &[Exchange::Hash],
    record_bytes: 48.0,
    keys: 400_000.0,
    state_bytes_per_key: 200.0,
    alloc_bytes: 300.0,
    window_s: None,
};

const FIXWINDOW: Profile = Profile {
    stage_us: &[KAFKA_SOURCE_US + PARSE_US, WINDOW_ADD_US],
    exchanges: &[Exchange::Hash],
    record_bytes: 48.0,
    keys: 20_000.0,
    state_bytes_per_key: 300.0,
    alloc_bytes: 300.0,
    window_s: Some(10.0),
};

pub(super) fn profile(w: Workload) -> &'static Profile {
    match w {
        Workload::Identity => &IDENTITY,
        Workload::Repartition => &REPARTITION,
        Workload::Wordcount => &WORDCOUNT,
        Workload::Fixwindow => &FIXWINDOW,
    }
}
