//! Every random stream of a study, derived in one place from the study's `seed` and what the
//! stream is for. Two purposes never share a stream (drawing more configurations must not
//! shift the model's split), and the same study and seed reproduce every result.
//!
//! The salts are fixed values, not hashes of the names: they are the identity of each
//! stream, and changing one changes every result a seed gives.

/// What a random stream is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// `generate`: the replacement draws for configurations predicted to fail.
    Generate,
    /// `model`: the forest that estimates whether a configuration runs.
    Feasibility,
    /// `model`: the order configurations are dealt into cross-validation folds.
    Folds,
    /// `model`: the order configurations join the learning curve.
    LearningCurve,
    /// `model`: the column shuffles of permutation importance.
    Importance,
    /// `determine`: the random bases and starts of the designs.
    Determine,
    /// `determine`: Morris trajectories.
    Morris,
    /// `determine`: shuffles of the screening sample.
    Screening,
    /// `determine`: the space-filling sample the forest is fitted on.
    ScreeningSample,
    /// `determine`: the run/fail forest.
    ScreeningForest,
    /// `determine`: permutation importance of the forest.
    ScreeningImportance,
    /// `determine`: the design of one phase of the sobol method (its Latin hypercube and
    /// its random draws; phase 0 uses the forest's streams).
    SobolPhase { phase: u64 },
    /// `adapt`: failures injected into a replay.
    Failures,
    /// `adapt`: the profiling runs at one rate (records/s).
    Profile { rate: u64 },
    /// `adapt`: the simulated measurement of one replay step.
    ReplayStep { step: u64 },
}

impl Purpose {
    fn salt(self) -> u64 {
        match self {
            Purpose::Generate => 0x5c4e_e11e,
            Purpose::Feasibility => 0x5eed,
            Purpose::Folds => 0xf01d,
            Purpose::LearningCurve => 0x1ea7,
            Purpose::Importance => 0x1a9,
            Purpose::Determine => 0x6465_7465,
            Purpose::Morris => 0x6d6f_7272,
            // The same value as `Feasibility`: the two streams belong to different stages
            // (determine, model) and never meet; kept so that seeds reproduce results.
            Purpose::Screening => 0x5eed,
            Purpose::ScreeningSample => 0x7266,
            Purpose::ScreeningForest => 0x6665_6173,
            Purpose::ScreeningImportance => 0x7065_726d,
            Purpose::Failures => 0xfa11,
            Purpose::SobolPhase { phase } => {
                0x736f_626f_6c00 ^ phase.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            }
            Purpose::Profile { rate } => rate,
            // Fibonacci hashing spreads consecutive steps over the whole range.
            Purpose::ReplayStep { step } => step.wrapping_mul(0x9e37_79b9_7f4a_7c15),
        }
    }
}

/// The seed of the stream for `purpose`, from the study's seed.
pub fn derive(seed: u64, purpose: Purpose) -> u64 {
    seed ^ purpose.salt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_get_distinct_streams_of_one_seed() {
        // `Screening` (determine) shares `Feasibility`'s (model) salt; see `salt`.
        let all = [
            Purpose::Generate,
            Purpose::Feasibility,
            Purpose::Folds,
            Purpose::LearningCurve,
            Purpose::Importance,
            Purpose::Determine,
            Purpose::Morris,
            Purpose::ScreeningSample,
            Purpose::ScreeningForest,
            Purpose::ScreeningImportance,
            Purpose::Failures,
        ];
        let mut seen = std::collections::HashSet::new();
        for p in all {
            assert!(seen.insert(derive(42, p)), "{p:?} shares a stream");
        }
        assert_ne!(
            derive(42, Purpose::ReplayStep { step: 1 }),
            derive(42, Purpose::ReplayStep { step: 2 })
        );
    }
}
