//! The points an optimiser never suggests again: every point asked or told. A caller whose
//! evaluation cannot tell some points apart gives their canonical form (a wide integer
//! range searched as continuous rounds nearby coordinates to one value, so two points a
//! hair apart are one configuration): such points are one point here, and the second is
//! never suggested.

use std::collections::HashSet;

use super::domain::key;

/// The caller's canonical form of a projected point: equal for points it evaluates alike.
pub type Canonical = Box<dyn Fn(&[f64]) -> Vec<f64> + Send + Sync>;

/// The set of seen points, keyed by their canonical form when there is one.
#[derive(Default)]
pub struct Seen {
    keys: HashSet<Vec<u64>>,
    canonical: Option<Canonical>,
}

impl Seen {
    /// Sets the canonical form; only before the first point, since keys already taken
    /// cannot be re-keyed. Returns false (and changes nothing) after that.
    pub fn set_canonical(&mut self, f: Canonical) -> bool {
        if !self.keys.is_empty() {
            return false;
        }
        self.canonical = Some(f);
        true
    }

    pub fn contains(&self, p: &[f64]) -> bool {
        self.keys.contains(&self.key(p))
    }

    pub fn insert(&mut self, p: &[f64]) {
        let k = self.key(p);
        self.keys.insert(k);
    }

    /// The number of distinct (canonical) points seen.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    fn key(&self, p: &[f64]) -> Vec<u64> {
        match &self.canonical {
            Some(f) => key(&f(p)),
            None => key(p),
        }
    }
}
