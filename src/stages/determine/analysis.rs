//! What one analysis of a screening design found per key, shared by the sobol method's GP
//! reading and the factorial method's least squares.

/// Fewest configurations that ran for a design to be analysed.
pub(super) const MIN_RAN: usize = 12;
/// A key is judged when at least this share of the configurations that ran lies in each
/// half of its range.
const JUDGED_SHARE: f64 = 0.1;

/// One analysis: per free key (in `free` order) its effect, the effect's bootstrap sd, its
/// indices, whether it was judged and selected; and the floor.
pub(super) struct Analysis {
    pub(super) free: Vec<usize>,
    pub(super) effect: Vec<f64>,
    /// The smaller of the full fit's effect and the median refit's (0 when not judged):
    /// what the floor is compared with.
    pub(super) robust: Vec<f64>,
    pub(super) sd: Vec<f64>,
    pub(super) total_index: Vec<f64>,
    pub(super) first_index: Vec<f64>,
    pub(super) judged: Vec<bool>,
    pub(super) selected: Vec<bool>,
    /// Per free key, the smallest effect it is selected with (at least MIN_EFFECT).
    pub(super) floor_of: Vec<f64>,
    /// The largest of the floors.
    pub(super) floor: f64,
}

/// Per key, whether the configurations that ran cover both halves of its range.
pub(super) fn judged(x: &[Vec<f64>], k: usize) -> Vec<bool> {
    let n = x.len() as f64;
    (0..k)
        .map(|i| {
            let low = x.iter().filter(|u| u[i] < 0.5).count() as f64;
            low / n >= JUDGED_SHARE && (n - low) / n >= JUDGED_SHARE
        })
        .collect()
}
