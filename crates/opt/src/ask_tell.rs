//! The ask → evaluate → tell loop every search runs, over any optimiser with an ask/tell
//! interface ([`AskTell`]: the single-objective [`crate::bo::BayesOpt`] and the
//! multi-objective [`crate::mobo::Mobo`]).
//!
//! [`run`] replays the evaluations of an earlier run, then asks for batches of suggestions,
//! has the caller evaluate each batch (in parallel if it likes) and tells the optimiser the
//! outcomes, until the budget is spent or the caller stops.

use std::ops::ControlFlow;

use anyhow::Result;
use serde::{Deserialize, Serialize};

/// A suggested point and, for model-based suggestions, the model's view of
/// it (for history tables).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The point, already projected (relaxed coordinates, all in `[0,1]`).
    pub x: Vec<f64>,
    /// Acquisition value at `x` (standardised y scale); `None` for design
    /// points.
    pub acquisition: Option<f64>,
    /// GP posterior mean at `x` (original y units); `None` for design points.
    pub mean: Option<f64>,
    /// GP posterior std at `x` (original y units); `None` for design points.
    pub std: Option<f64>,
    /// True if the point came from the space-filling design (or the random
    /// fallback used when there are fewer than two observations).
    pub initial: bool,
}

/// An optimiser that suggests points and learns from what evaluating them gave.
pub trait AskTell {
    /// What evaluating a point tells the optimiser (a score or a failure, a vector of
    /// metrics or a failure, …).
    type Outcome;

    /// Suggests `q` points to evaluate at once (fewer only if a finite domain runs out).
    fn ask_batch(&mut self, q: usize) -> Result<Vec<Suggestion>>;

    /// Records the outcome of evaluating a suggested point.
    fn tell_outcome(&mut self, x: &[f64], outcome: Self::Outcome) -> Result<()>;

    /// Records an outcome of an earlier run (resuming from a journal).
    fn replay_outcome(&mut self, x: &[f64], outcome: Self::Outcome) -> Result<()>;
}

/// How many evaluations a loop makes in all, and at most how many at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budget {
    /// Evaluations in all, the replayed ones included.
    pub evaluations: usize,
    /// Suggestions asked and evaluated at once (values < 1 act as 1).
    pub batch: usize,
}

/// Runs `optimiser` until `budget.evaluations` steps exist and returns them in order.
///
/// The caller's steps (`S`: what it keeps of an evaluation, e.g. a journal line) carry the
/// point and the outcome, read by `outcome`. `replayed` steps of an earlier run (at most the
/// budget) are replayed first. Then, batch after batch, `evaluate` is given the index of the
/// batch's first step and the suggestions and returns their steps in order, or
/// `ControlFlow::Break` to stop (e.g. the user interrupted: nothing of the batch is told).
/// Each new step is told to the optimiser, then shown to `on_step` (which may journal it).
pub fn run<O, S>(
    optimiser: &mut O,
    budget: Budget,
    replayed: Vec<S>,
    outcome: impl Fn(&S) -> (&[f64], O::Outcome),
    mut evaluate: impl FnMut(usize, Vec<Suggestion>) -> Result<ControlFlow<(), Vec<S>>>,
    mut on_step: impl FnMut(&S) -> Result<()>,
) -> Result<Vec<S>>
where
    O: AskTell + ?Sized,
{
    let mut steps = Vec::with_capacity(budget.evaluations);
    for step in replayed.into_iter().take(budget.evaluations) {
        let (x, o) = outcome(&step);
        optimiser.replay_outcome(x, o)?;
        steps.push(step);
    }
    while steps.len() < budget.evaluations {
        let q = budget.batch.max(1).min(budget.evaluations - steps.len());
        let suggestions = optimiser.ask_batch(q)?;
        let ControlFlow::Continue(batch) = evaluate(steps.len(), suggestions)? else {
            break;
        };
        for step in batch {
            let (x, o) = outcome(&step);
            optimiser.tell_outcome(x, o)?;
            on_step(&step)?;
            steps.push(step);
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Suggests 0, 1, 2, … and remembers what it was told.
    #[derive(Default)]
    struct Counter {
        next: f64,
        told: Vec<(f64, bool, bool)>,
    }

    impl AskTell for Counter {
        type Outcome = bool;
        fn ask_batch(&mut self, q: usize) -> Result<Vec<Suggestion>> {
            Ok((0..q)
                .map(|_| {
                    self.next += 1.0;
                    Suggestion {
                        x: vec![self.next - 1.0],
                        acquisition: None,
                        mean: None,
                        std: None,
                        initial: true,
                    }
                })
                .collect())
        }
        fn tell_outcome(&mut self, x: &[f64], ok: bool) -> Result<()> {
            self.told.push((x[0], ok, false));
            Ok(())
        }
        fn replay_outcome(&mut self, x: &[f64], ok: bool) -> Result<()> {
            self.told.push((x[0], ok, true));
            Ok(())
        }
    }

    #[test]
    fn batches_fill_the_budget_after_the_replayed_steps_and_a_break_stops() {
        let mut c = Counter {
            next: 10.0,
            ..Counter::default()
        };
        let budget = Budget {
            evaluations: 7,
            batch: 3,
        };
        let mut firsts = vec![];
        let mut shown = 0;
        let steps = run(
            &mut c,
            budget,
            vec![vec![-1.0], vec![-2.0]],
            |s: &Vec<f64>| (s.as_slice(), s[0] >= 0.0),
            |first, batch| {
                firsts.push((first, batch.len()));
                Ok(ControlFlow::Continue(
                    batch.into_iter().map(|s| s.x).collect(),
                ))
            },
            |_| {
                shown += 1;
                Ok(())
            },
        )
        .unwrap();
        assert_eq!(steps.len(), 7);
        assert_eq!(firsts, vec![(2, 3), (5, 2)]);
        assert_eq!(shown, 5);
        assert_eq!(c.told[..2], [(-1.0, false, true), (-2.0, false, true)]);
        assert_eq!(c.told[2], (10.0, true, false));

        let mut c = Counter::default();
        let steps = run(
            &mut c,
            budget,
            vec![],
            |s: &Vec<f64>| (s.as_slice(), true),
            |first, batch| {
                Ok(if first == 0 {
                    ControlFlow::Continue(batch.into_iter().map(|s| s.x).collect())
                } else {
                    ControlFlow::Break(())
                })
            },
            |_| Ok(()),
        )
        .unwrap();
        assert_eq!(steps.len(), 3, "the second batch was stopped and not told");
        assert_eq!(c.told.len(), 3);
    }
}
