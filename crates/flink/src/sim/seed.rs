//! Seeds for a trial's random draws: 64-bit FNV-1a over what identifies the trial (and, for
//! the measurement noise, the configuration before it). One hasher and one definition of a
//! trial's identity, so the failure instants (`recovery_inputs`) and the noise (`noise`) are
//! seeded by the same trial fields fed in the same way; the hash values are part of the
//! simulator's output and must not change.

use crate::sim::trial::SimJob;

/// 64-bit FNV-1a: small, stable across platforms and Rust versions (unlike `std`'s hashers),
/// which a seed must be.
pub(super) struct Fnv1a(u64);

impl Fnv1a {
    /// Starts from the FNV offset basis.
    pub(super) fn new() -> Fnv1a {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }

    pub(super) fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// Feeds a trial's identity: workload, rate, duration, repeat and seed. Not the noise
    /// level, so a trial meets the same failures with and without noise.
    pub(super) fn write_trial(&mut self, job: &SimJob) {
        self.write(job.workload.name().as_bytes());
        self.write(&job.rate.to_bits().to_le_bytes());
        self.write(&job.duration_s.to_bits().to_le_bytes());
        self.write(&job.repeat.to_le_bytes());
        self.write(&job.seed.to_le_bytes());
    }

    pub(super) fn finish(&self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_matches_the_reference_vectors() {
        let hash = |bytes: &[u8]| {
            let mut h = Fnv1a::new();
            h.write(bytes);
            h.finish()
        };
        assert_eq!(hash(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(hash(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(hash(b"foobar"), 0x8594_4171_f739_67e8);
    }
}
