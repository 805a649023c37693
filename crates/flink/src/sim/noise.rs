//! Measurement noise: seeded by the configuration (without the ignored keys) and the trial, so
//! the same inputs give the same outputs and different repeats different draws. Apart because
//! it is applied to the model's results after everything else, and only to passing trials.

use std::collections::BTreeMap;

use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use crate::sim::seed::{Fnv1a, write_trial};
use crate::sim::settings::IGNORED_KEYS;
use crate::sim::trial::{SimJob, SimMetrics};

/// The noise's seed: the configuration as read (ignored keys left out, so they cannot change
/// the outputs), then the trial.
fn noise_seed(conf: &BTreeMap<String, String>, job: &SimJob) -> u64 {
    let mut h = Fnv1a::new();
    for (k, v) in conf {
        if IGNORED_KEYS.contains(&k.as_str()) {
            continue;
        }
        h.write(k.as_bytes());
        h.write(b"=");
        h.write(v.trim().as_bytes());
        h.write(b"\n");
    }
    write_trial(&mut h, job);
    h.finish()
}

pub(super) fn with_noise(
    mut m: SimMetrics,
    conf: &BTreeMap<String, String>,
    job: &SimJob,
) -> SimMetrics {
    if job.noise.is_nan() || job.noise <= 0.0 {
        return m;
    }
    let mut rng = StdRng::seed_from_u64(noise_seed(conf, job));
    let sigma = job.noise;
    m.throughput *= (0.5 * sigma * opt::normal::sample(&mut rng)).exp();
    m.latency_p99_ms *= (sigma * opt::normal::sample(&mut rng)).exp();
    m.latency_p50_ms *= (sigma * opt::normal::sample(&mut rng)).exp();
    if rng.random::<f64>() < sigma / 3.0 {
        m.latency_p99_ms *= rng.random_range(1.5..5.5);
    }
    m.latency_p50_ms = m.latency_p50_ms.min(m.latency_p99_ms);
    // Drawn last, so the other metrics' noise is what it was without it.
    m.gc_time_fraction =
        (m.gc_time_fraction * (sigma * opt::normal::sample(&mut rng)).exp()).min(1.0);
    m
}
