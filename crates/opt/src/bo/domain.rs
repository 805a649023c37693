//! The search space: variables (continuous, on a grid, categorical) laid out in a relaxed
//! unit cube, and the projection of any relaxed point to a valid one.

use anyhow::{Result, bail, ensure};
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// One tunable variable and its encoding in the relaxed cube.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Var {
    /// A real value, one dimension in `[0,1]`.
    Continuous,
    /// Ordered discrete values at the given positions of `[0,1]` (sorted,
    /// one dimension): integers, evenly spaced (see [`Var::integer`]) or on a
    /// log scale. An empty grid means the constant 0.
    Grid {
        /// The valid positions, ascending.
        points: Vec<f64>,
    },
    /// An unordered choice, one-hot over `choices` dimensions (`choices ≥ 1`).
    Categorical {
        /// Number of alternatives.
        choices: u32,
    },
}

impl Var {
    /// `levels` evenly spaced values `k/(levels−1)`, `k = 0..levels`.
    pub fn integer(levels: u32) -> Var {
        let points = match levels {
            0 | 1 => vec![0.0],
            n => (0..n).map(|k| f64::from(k) / f64::from(n - 1)).collect(),
        };
        Var::Grid { points }
    }

    /// Number of relaxed dimensions this variable occupies.
    pub fn dims(&self) -> usize {
        match self {
            Var::Continuous | Var::Grid { .. } => 1,
            Var::Categorical { choices } => *choices as usize,
        }
    }

    /// Number of distinct projected values (`None` if continuous).
    fn cardinality(&self) -> Option<u128> {
        match self {
            Var::Continuous => None,
            Var::Grid { points } => Some(points.len().max(1) as u128),
            Var::Categorical { choices } => Some(u128::from((*choices).max(1))),
        }
    }
}

/// The choice a categorical's relaxed block stands for: its largest coordinate (clamped
/// to `[0,1]`, NaN as 0), the first on ties.
pub(super) fn chosen(block: &[f64]) -> usize {
    let clamp = |v: f64| if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
    let mut arg = 0;
    for (j, v) in block.iter().enumerate() {
        if clamp(*v) > clamp(block[arg]) {
            arg = j;
        }
    }
    arg
}

/// Sets a categorical's relaxed block to the one-hot of choice `c`.
pub(super) fn choose(block: &mut [f64], c: usize) {
    for (j, v) in block.iter_mut().enumerate() {
        *v = if j == c { 1.0 } else { 0.0 };
    }
}

/// The index of the grid point nearest to `v` (0 for an empty grid).
pub(super) fn nearest(points: &[f64], v: f64) -> usize {
    let i = points.partition_point(|&p| p < v);
    if i == 0 {
        0
    } else if i == points.len() || v - points[i - 1] <= points[i] - v {
        i - 1
    } else {
        i
    }
}

fn grid_value(points: &[f64], k: usize) -> f64 {
    points.get(k).copied().unwrap_or(0.0)
}

/// A variable that acts only while a categorical variable has one choice (a timeout's
/// interval while the timeout is on). While it does not act, [`Domain::project`] holds it at
/// `rest`: points that differ only there are one point, and a model fitted on them does not
/// read the categorical's effect as the variable's (a good "off" measured at a long interval
/// would otherwise make long intervals look good).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// The dependent variable: an index into [`Domain::vars`], one relaxed dimension.
    pub var: usize,
    /// The categorical variable it depends on (an index into [`Domain::vars`]).
    pub on: usize,
    /// The choice of `on` under which `var` acts.
    pub choice: usize,
    /// `var`'s relaxed coordinate while it does not act.
    pub rest: f64,
}

/// The search space: an ordered list of variables, laid out consecutively in
/// the relaxed cube.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Domain {
    /// The variables, in relaxed-coordinate order.
    pub vars: Vec<Var>,
    /// Variables that act only under a choice of another.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
}

impl Domain {
    /// A domain over `vars`.
    pub fn new(vars: Vec<Var>) -> Self {
        Domain {
            vars,
            conditions: Vec::new(),
        }
    }

    /// Total number of relaxed dimensions.
    pub fn dims(&self) -> usize {
        self.vars.iter().map(Var::dims).sum()
    }

    /// Checks that the domain is usable (non-empty, no zero-choice
    /// categorical).
    pub fn validate(&self) -> Result<()> {
        for (i, v) in self.vars.iter().enumerate() {
            match v {
                Var::Categorical { choices: 0 } => {
                    bail!("variable {i}: a categorical needs at least one choice")
                }
                Var::Grid { points }
                    if points.windows(2).any(|w| w[0] >= w[1])
                        || points.iter().any(|p| !(0.0..=1.0).contains(p)) =>
                {
                    bail!("variable {i}: grid points must be ascending and in [0, 1]")
                }
                _ => {}
            }
        }
        ensure!(self.dims() > 0, "the search domain has no dimensions");
        self.conditions.iter().try_for_each(|c| self.check(c))
    }

    fn check(&self, c: &Condition) -> Result<()> {
        let (Some(var), Some(on)) = (self.vars.get(c.var), self.vars.get(c.on)) else {
            bail!("condition {c:?}: no such variable");
        };
        ensure!(
            var.dims() == 1 && c.var != c.on,
            "condition {c:?}: the dependent variable must be another, one-dimensional variable"
        );
        ensure!(
            matches!(on, Var::Categorical { choices } if c.choice < *choices as usize),
            "condition {c:?}: {} is not a categorical with choice {}",
            c.on,
            c.choice
        );
        ensure!(
            (0.0..=1.0).contains(&c.rest),
            "condition {c:?}: rest must be in [0, 1]"
        );
        Ok(())
    }

    /// Maps a relaxed point to a valid one: everything clamped to `[0,1]`
    /// (NaN → 0), integers snapped to the nearest grid point, categoricals
    /// replaced by the one-hot of their argmax (first on ties), variables that do not
    /// act (`conditions`) at their rest. Idempotent.
    ///
    /// # Panics
    /// If `z.len() != self.dims()`.
    pub fn project(&self, z: &[f64]) -> Vec<f64> {
        assert_eq!(z.len(), self.dims(), "project: wrong dimension");
        let clamp = |v: f64| if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
        let mut out = Vec::with_capacity(z.len());
        let mut i = 0;
        for var in &self.vars {
            match var {
                Var::Continuous => out.push(clamp(z[i]) + 0.0),
                Var::Grid { points } => {
                    out.push(grid_value(points, nearest(points, clamp(z[i]))));
                }
                Var::Categorical { choices } => {
                    let arg = chosen(&z[i..i + *choices as usize]);
                    out.extend((0..*choices as usize).map(|j| if j == arg { 1.0 } else { 0.0 }));
                }
            }
            i += var.dims();
        }
        self.rest_inactive(&mut out);
        out
    }

    /// Holds each dependent variable whose condition does not hold at its rest (on a
    /// projected point).
    fn rest_inactive(&self, p: &mut [f64]) {
        if self.conditions.is_empty() {
            return;
        }
        let offsets = self.offsets();
        for c in &self.conditions {
            let (Some(Var::Categorical { choices }), Some(var)) =
                (self.vars.get(c.on), self.vars.get(c.var))
            else {
                continue; // refused by `validate`
            };
            let at = offsets[c.on];
            if chosen(&p[at..at + *choices as usize]) == c.choice {
                continue;
            }
            p[offsets[c.var]] = match var {
                Var::Grid { points } => grid_value(points, nearest(points, c.rest)),
                _ => c.rest,
            };
        }
    }

    /// A uniformly random relaxed point, projected (so discrete values are
    /// uniform over their levels / choices).
    pub fn random_point<R: Rng + ?Sized>(&self, rng: &mut R) -> Vec<f64> {
        let z: Vec<f64> = (0..self.dims()).map(|_| rng.random::<f64>()).collect();
        self.project(&z)
    }

    /// Number of distinct valid points, or `None` if the domain has a
    /// continuous variable (or the count overflows).
    pub fn cardinality(&self) -> Option<u128> {
        self.vars
            .iter()
            .try_fold(1u128, |acc, v| acc.checked_mul(v.cardinality()?))
    }

    /// All valid points of a fully discrete domain (caller checks the size).
    pub(super) fn enumerate(&self) -> Vec<Vec<f64>> {
        let radices: Vec<u32> = self
            .vars
            .iter()
            .map(|v| match v {
                Var::Grid { points } => points.len().max(1) as u32,
                Var::Categorical { choices } => (*choices).max(1),
                Var::Continuous => 1,
            })
            .collect();
        let mut digits = vec![0u32; radices.len()];
        let mut out = Vec::new();
        loop {
            let mut p = Vec::with_capacity(self.dims());
            for (var, &k) in self.vars.iter().zip(&digits) {
                match var {
                    Var::Continuous => p.push(0.0),
                    Var::Grid { points } => p.push(grid_value(points, k as usize)),
                    Var::Categorical { choices } => {
                        p.extend((0..*choices).map(|j| if j == k { 1.0 } else { 0.0 }))
                    }
                }
            }
            self.rest_inactive(&mut p);
            out.push(p);
            // Mixed-radix increment.
            let mut pos = 0;
            loop {
                if pos == digits.len() {
                    return out;
                }
                digits[pos] += 1;
                if digits[pos] < radices[pos] {
                    break;
                }
                digits[pos] = 0;
                pos += 1;
            }
        }
    }

    /// Offsets of each variable's first relaxed dimension.
    pub(super) fn offsets(&self) -> Vec<usize> {
        let mut off = 0;
        self.vars
            .iter()
            .map(|v| {
                let o = off;
                off += v.dims();
                o
            })
            .collect()
    }
}

/// Bit-exact identity of a projected point (`-0.0` normalised to `0.0`).
pub(crate) fn key(p: &[f64]) -> Vec<u64> {
    p.iter().map(|v| (v + 0.0).to_bits()).collect()
}
