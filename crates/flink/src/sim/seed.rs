//! Seeds for a trial's random draws: 64-bit FNV-1a over what identifies the trial (and, for
//! the measurement noise, the configuration before it). One hasher and one definition of a
//! trial's identity, so the failure instants (`recovery_inputs`) and the noise (`noise`) are
//! seeded by the same trial fields fed in the same way; the hash values are part of the
//! simulator's output and must not change.

use crate::sim::trial::SimJob;
pub(super) use opt::hash::Fnv1a;

/// Feeds a trial's identity: workload, rate, duration, repeat and seed. Not the noise
/// level, so a trial meets the same failures with and without noise.
pub(super) fn write_trial(h: &mut Fnv1a, job: &SimJob) {
    h.write(job.workload.name().as_bytes());
    h.write(&job.rate.to_bits().to_le_bytes());
    h.write(&job.duration_s.to_bits().to_le_bytes());
    h.write(&job.repeat.to_le_bytes());
    h.write(&job.seed.to_le_bytes());
}
