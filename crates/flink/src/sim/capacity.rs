//! The sustainable throughput: the utilisation of every task thread and of the busiest
//! TaskManager's CPU at a throughput, whether every resource keeps up, and the bisection for
//! the highest input rate at which they all do. Apart from `state`, which only computes the
//! load: this is the one place that decides what keeping up means.

use crate::sim::model::Model;
use crate::sim::state::State;

impl Model<'_> {
    /// Utilisation of each task thread, and of the TaskManager's CPU.
    pub(super) fn utilisations(&self, st: &State) -> (Vec<f64>, f64) {
        let avail = 1.0 - st.gc_fraction;
        // A thread runs on one core at most, and under a CPU quota below one core on less.
        let thread_share = self.s.cores.min(1.0);
        let tasks = (0..self.stages())
            .map(|i| {
                let u = st.stage_rate[i] * st.stage_cost_s[i];
                u / (avail * (1.0 - st.stage_stall[i]) * thread_share).max(1e-9)
            })
            .collect();
        let cores = self.s.cores;
        let cpu = st.cpu_demand / (cores * st.efficiency * avail).max(1e-9);
        (tasks, cpu)
    }

    fn feasible(&self, rate: f64) -> bool {
        let st = self.state_at(rate);
        let (tasks, cpu) = self.utilisations(&st);
        tasks.iter().all(|&u| u <= 1.0)
            && cpu <= 1.0
            && st.netty_util <= 1.0
            && st.link_util <= 1.0
            && st.window_util <= 1.0
            && st.kafka_util <= 1.0
            && st.gc_fraction < 0.95
    }

    /// Highest sustainable input rate, records/s.
    pub(super) fn capacity(&self) -> f64 {
        let (mut lo, mut hi) = (1.0_f64, 1e8_f64);
        if !self.feasible(lo) {
            return lo;
        }
        if self.feasible(hi) {
            return hi;
        }
        for _ in 0..60 {
            let mid = (lo * hi).sqrt();
            if self.feasible(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
            if hi / lo < 1.0 + 1e-7 {
                break;
            }
        }
        lo
    }
}
