//! The checkpoint cap (`[adapt] checkpoint_cap`): an in-place rescale restarts from the
//! latest checkpoint and reprocesses what came since, so a configuration that checkpoints
//! rarely makes its rescales stop the job longer than the restart they are meant to save.
//! The profile's choice is kept within the cap when that costs little more: the same
//! resources checkpointing at the cap are measured beside the cheaper ones over it. The cap
//! itself (`Demeter::checkpoint_cap_s`) is a setting's consequence, set on each profile as
//! it starts, and so lives with the other limits in `state`.

use super::profile::Probe;
use super::state::Demeter;
use crate::adapt::policy::{self, cost};
use anyhow::Result;
use flink::space::Config;

impl Demeter {
    /// When the profile's choice at `bucket` checkpoints less often than the cap, measures
    /// the same resources checkpointing at the cap (`Profile::best` then prefers it if it
    /// meets the targets): the cheapest feasible probes over the cap that are cheaper than
    /// every feasible one within it, up to two, so that one shortened configuration that
    /// misses a target does not end the search.
    pub(super) fn within_cap(&mut self, bucket: u64) -> Result<()> {
        let limit = self.plan_limit();
        let space = self.study.space.clone();
        let p = &self.profiles[&bucket];
        let cap = p.checkpoint_cap_s;
        let feasible = |q: &&Probe| {
            q.metrics
                .as_ref()
                .is_some_and(|m| p.violation(m, limit) <= 0.0)
        };
        let cost_of = |q: &Probe| q.metrics.as_ref().map_or(f64::INFINITY, cost);
        let within = p
            .probes
            .iter()
            .filter(feasible)
            .filter(|q| q.checkpoint_s <= cap)
            .map(cost_of)
            .fold(f64::INFINITY, f64::min);
        let mut over: Vec<&Probe> = p
            .probes
            .iter()
            .filter(feasible)
            .filter(|q| q.checkpoint_s > cap && cost_of(q) < within)
            .collect();
        over.sort_by(|a, b| cost_of(a).total_cmp(&cost_of(b)));
        let shortened: Vec<Config> = over
            .iter()
            .filter_map(|q| policy::with_checkpoint_interval(&space, &q.config, cap))
            .filter(|c| !p.probes.iter().any(|q| &q.config == c))
            .take(2)
            .collect();
        for config in shortened {
            if self
                .measured(&config, bucket)?
                .is_some_and(|m| self.profiles[&bucket].violation(&m, limit) <= 0.0)
            {
                break;
            }
        }
        Ok(())
    }
}
