//! The optimiser's options.

use serde::{Deserialize, Serialize};

use crate::acquisition::Acquisition;
use crate::gp::FitOptions;

/// The shortest length-scale the search's models may fit: a tenth of a parameter's range.
///
/// Why: with a few dozen noisy observations of 30 parameters, maximum likelihood explains
/// noise with a spike on some irrelevant parameter (a length-scale of 0.03 on an enum), and
/// the search chases it. Measured on the search suite (BENCHMARKS.md#search), the floor
/// found better configurations at 60 evaluations in 61 of 120 paired runs (39 worse), and
/// the GP's shortest length-scales name more of the parameters that matter.
const MIN_LENGTHSCALE: f64 = 0.1;

/// The length-scale prior's global scale for the search's fits: `τ = 3` pulls the
/// length-scales the data say little about towards `3^{−½} ≈ 0.58` of a parameter's range.
///
/// Why: with 10–60 points in 30 parameters, maximum likelihood leaves most length-scales at
/// the box's 10 (inert) and models only a few, which suits a problem whose gain sits in a
/// few strong keys and misses one whose gain is spread over many weak ones; under the
/// prior every fit models every parameter a little. With the initial design of a sixth of
/// the budget ([`default_initial`]), the prior in every fit was ahead of the prior in every
/// other fit on the search suite (BENCHMARKS.md, "The length-scale prior in every fit"; 480
/// paired runs on two seed sets, at 20, 30 and 60 evaluations): ahead on many weak
/// parameters, a smooth valley and the simulator at 16 000 rec/s, a little behind where
/// parameters interact and at 80 000 rec/s, behind on a small discrete problem.
pub const SEARCH_PRIOR_TAU: f64 = 3.0;

/// Options for [`BayesOpt`](super::BayesOpt).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BoOptions {
    /// Acquisition function. It is evaluated on the *standardised* y scale
    /// (observed mean 0, std 1), so `xi`/`beta` are scale-free.
    pub acquisition: Acquisition,
    /// Number of space-filling (Latin hypercube) suggestions before the model
    /// is used.
    pub initial: usize,
    /// Random candidates per model-based suggestion (discrete domains no
    /// larger than this are enumerated instead).
    pub candidates: usize,
    /// Number of best candidates refined by local search.
    pub local_starts: usize,
    /// Hill-climbing steps per local search.
    pub local_steps: usize,
    /// GP fitting options; `fit.restarts` applies on full refits only.
    pub fit: FitOptions,
    /// Full multi-start refit every `refit_every` model-based suggestions
    /// (including the first); in between only the previous hyperparameters
    /// are re-optimised (warm start). Values < 1 act as 1.
    pub refit_every: usize,
    /// Learn the probability of success from the points told as failures
    /// ([`BayesOpt::tell_failure`](super::BayesOpt::tell_failure)) and weight the acquisition by it (see
    /// [`PassModel`](super::PassModel)). Off when the caller's feasibility weight already is such
    /// a model.
    pub learn_feasibility: bool,
    /// Also score every one-step discrete neighbour of the incumbent (see the maximiser's
    /// candidates). Off where no measurement corrects a step the model gets wrong: one
    /// level at a time, such steps walk along a discrete axis to the edge of what was
    /// measured, where a learnt run/fail model is least reliable.
    pub discrete_neighbours: bool,
    /// Every model-based suggestion fits its models under a length-scale prior of this
    /// global scale ([`FitOptions::lengthscale_prior`]; [`SEARCH_PRIOR_TAU`] for the search
    /// stage). `None`: by maximum likelihood. Off under a transfer, where the earlier
    /// tasks' models carry the shape.
    #[serde(default)]
    pub lengthscale_prior: Option<f64>,
    /// Seed for the design, candidates and local search.
    pub seed: u64,
}

impl Default for BoOptions {
    /// EI with `ξ = 0.01` (standardised scale: a 1 %-of-σ_y nudge towards
    /// exploration), 10 initial points, 2000 candidates, 5 local searches of
    /// 50 steps, length-scales of at least 0.1 ([`MIN_LENGTHSCALE`]), full refit every 5
    /// model-based suggestions, feasibility
    /// learnt from failures, the incumbent's discrete neighbours scored.
    fn default() -> Self {
        BoOptions {
            acquisition: Acquisition::Ei { xi: 0.01 },
            initial: 10,
            candidates: 2000,
            local_starts: 5,
            local_steps: 50,
            fit: FitOptions {
                min_lengthscale: MIN_LENGTHSCALE,
                ..FitOptions::default()
            },
            refit_every: 5,
            learn_feasibility: true,
            discrete_neighbours: true,
            lengthscale_prior: None,
            seed: 0,
        }
    }
}

/// The default size of the initial design for `budget` evaluations over `params`
/// parameters: a quarter of the budget, at least 5 and at most `params + 1`, never the
/// whole budget. A fixed design of 20 was two thirds of a 30-evaluation search; past
/// `params + 1` points a Latin hypercube adds little the model's own suggestions would not.
///
/// With `under_prior` (the fits under the length-scale prior,
/// [`BoOptions::lengthscale_prior`]): a sixth of the budget, but not below a third of the
/// parameters nor above the quarter. The prior keeps the first fits on few points from
/// explaining noise with short length-scales, so the model can take over sooner: on the
/// search suite (30 parameters, budget 60; 360 paired runs on three seed sets) a design
/// of 10 instead of 15 found better configurations in 185 runs and worse in 160 at 20
/// evaluations, 181 / 156 at 30, level at 60 (153 / 158); without the prior it had lost
/// at 30 and 60. Over 30 parameters at a budget of 30, 5 points were too few (the
/// simulator's time to 90% of the best improvement, mean 6.0 → 9.0 evaluations over 40
/// seeds), hence the third of the parameters.
pub fn default_initial(budget: usize, params: usize, under_prior: bool) -> usize {
    let quarter = (budget + 2) / 4;
    let size = match under_prior {
        true => ((budget + 3) / 6).max(params.div_ceil(3)).min(quarter),
        false => quarter,
    };
    size.min(params + 1)
        .max(5)
        .min(budget.saturating_sub(1).max(1))
}
