//! Exact hypervolume with a reference point, and the hypervolume a new point adds, in any
//! number of objectives (all minimised).
//!
//! A sweep in 2-D; in 3-D a sweep over the third objective that keeps the 2-D staircase of
//! the points below it; from 4 objectives the WFG algorithm (While, Bradstreet & Barone,
//! "A Fast Way of Calculating Exact Hypervolumes", 2012): with the points sorted worst-first
//! in the last objective, the volume is the sum of what each point adds beyond the points
//! after it, and that is a slab — every later point is no worse in the last objective, so
//! limited by the point they all share its last value — whose height is the last
//! objective's gap to the reference and whose cross-section is an (m − 1)-objective
//! exclusive volume. Dominated points are dropped before every recursion (a pass in order
//! of coordinate sum: only a point with a smaller sum can dominate), which is what keeps
//! the limited sets small; the points live in one flat buffer per level, so a recursion
//! allocates once, not once per point.
//!
//! The improvement of a point is its box minus the volume of the front *limited by it*
//! (every front point raised to the point where it is better): one volume of a set that
//! mostly collapses — not HV(front ∪ {y}) − HV(front), two volumes of the whole front. A
//! front point that covers the whole box answers 0 at once, the common case for the draws
//! of EHVI.
//!
//! Written here because no maintained crate offers exact hypervolume; the tests check every
//! path against inclusion–exclusion and counting on integer grids.

/// The volume dominated by `points` and bounded by `reference`. Points not strictly better
/// than the reference in every objective add nothing; non-finite points are ignored.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let mut flat = Vec::with_capacity(points.len() * reference.len());
    for p in points.iter().filter(|p| strictly_inside(p, reference)) {
        flat.extend_from_slice(p);
    }
    volume(&mut flat, reference)
}

/// The hypervolume `y` adds to `front`: the volume of the box between `y` and the
/// reference that the front does not already dominate.
pub fn improvement(front: &[Vec<f64>], y: &[f64], reference: &[f64]) -> f64 {
    if !strictly_inside(y, reference) {
        return 0.0;
    }
    let m = y.len();
    let mut limited = Vec::with_capacity(front.len() * m);
    for p in front {
        if p.len() != m || !p.iter().all(|v| v.is_finite()) {
            continue;
        }
        if p.iter().zip(y).all(|(a, b)| a <= b) {
            return 0.0;
        }
        // p limited by y; it stays inside the box when p is inside in every objective.
        let start = limited.len();
        let mut inside = true;
        for ((a, b), r) in p.iter().zip(y).zip(reference) {
            let v = a.max(*b);
            inside &= v < *r;
            limited.push(v);
        }
        if !inside {
            limited.truncate(start);
        }
    }
    (box_volume(y, reference) - volume(&mut limited, reference)).max(0.0)
}

fn strictly_inside(p: &[f64], reference: &[f64]) -> bool {
    p.len() == reference.len() && p.iter().zip(reference).all(|(v, r)| v.is_finite() && v < r)
}

fn box_volume(p: &[f64], reference: &[f64]) -> f64 {
    p.iter().zip(reference).map(|(v, r)| r - v).product()
}

/// The points of a flat buffer (`m` coordinates each) in the order of `key`.
fn sorted_by(
    points: &[f64],
    m: usize,
    key: impl Fn(&[f64], &[f64]) -> std::cmp::Ordering,
) -> Vec<f64> {
    let mut order: Vec<&[f64]> = points.chunks_exact(m).collect();
    order.sort_by(|a, b| key(a, b));
    order.concat()
}

/// Keeps the points no other point weakly dominates, one of each group of equal points.
/// In ascending order of coordinate sum a point can only be weakly dominated by one before
/// it (a point with an equal sum that weakly dominates it is equal to it), so one pass
/// against the points kept so far suffices.
fn keep_non_dominated(points: &mut Vec<f64>, m: usize) {
    let sum = |p: &[f64]| p.iter().sum::<f64>();
    let sorted = sorted_by(points, m, |a, b| {
        sum(a)
            .total_cmp(&sum(b))
            .then_with(|| super::lexicographic(a, b))
    });
    points.clear();
    for p in sorted.chunks_exact(m) {
        let covered = points
            .chunks_exact(m)
            .any(|q| q.iter().zip(p).all(|(a, b)| a <= b));
        if !covered {
            points.extend_from_slice(p);
        }
    }
}

/// Hypervolume of points (flat, `reference.len()` coordinates each) all strictly inside
/// the reference box.
fn volume(points: &mut Vec<f64>, reference: &[f64]) -> f64 {
    let m = reference.len();
    if points.is_empty() || m == 0 {
        return 0.0;
    }
    if points.len() == m {
        return box_volume(points, reference);
    }
    match m {
        1 => reference[0] - points.iter().copied().fold(f64::INFINITY, f64::min),
        2 => area_2d(points, reference),
        3 => volume_3d(points, reference),
        _ => {
            keep_non_dominated(points, m);
            volume_wfg(points, reference)
        }
    }
}

/// 2-D: ascending in the first objective, each point lower than all before it adds the
/// strip between its second objective and the lowest before it.
fn area_2d(points: &[f64], reference: &[f64]) -> f64 {
    let sorted = sorted_by(points, 2, super::lexicographic);
    let mut floor = reference[1];
    let mut area = 0.0;
    for p in sorted.chunks_exact(2) {
        if p[1] < floor {
            area += (reference[0] - p[0]) * (floor - p[1]);
            floor = p[1];
        }
    }
    area
}

/// The area of a 2-D staircase: steps ascending in the first objective and strictly
/// descending in the second.
fn staircase_area(stairs: &[(f64, f64)], reference: &[f64]) -> f64 {
    let mut floor = reference[1];
    let mut area = 0.0;
    for &(x, y) in stairs {
        area += (reference[0] - x) * (floor - y);
        floor = y;
    }
    area
}

/// 3-D: ascending in the third objective, each point joins the 2-D staircase of the points
/// below it (dropping the steps it covers; a covered point changes nothing), and the
/// staircase's area fills the slab up to the next point.
fn volume_3d(points: &[f64], reference: &[f64]) -> f64 {
    let sorted = sorted_by(points, 3, |a, b| a[2].total_cmp(&b[2]));
    let mut stairs: Vec<(f64, f64)> = Vec::with_capacity(sorted.len() / 3);
    let mut area = 0.0;
    let mut v = 0.0;
    let mut pts = sorted.chunks_exact(3).peekable();
    while let Some(p) = pts.next() {
        let at = stairs.partition_point(|q| q.0 < p[0]);
        // The step before (smaller first objective) or at the same first objective covers p.
        let covered = (at > 0 && stairs[at - 1].1 <= p[1])
            || stairs.get(at).is_some_and(|q| q.0 == p[0] && q.1 <= p[1]);
        if !covered {
            let end = at + stairs[at..].iter().take_while(|q| q.1 >= p[1]).count();
            stairs.splice(at..end, [(p[0], p[1])]);
            area = staircase_area(&stairs, reference);
        }
        let top = pts.peek().map_or(reference[2], |q| q[2]);
        if top > p[2] {
            v += area * (top - p[2]);
        }
    }
    v
}

/// WFG with the last objective sliced off: mutually non-dominated points, 4 or more
/// objectives.
fn volume_wfg(points: &[f64], reference: &[f64]) -> f64 {
    let m = reference.len();
    let last = m - 1;
    let sorted = sorted_by(points, m, |a, b| b[last].total_cmp(&a[last]));
    let below = &reference[..last];
    let mut limited = Vec::with_capacity(sorted.len());
    let mut v = 0.0;
    for (i, p) in sorted.chunks_exact(m).enumerate() {
        let head = &p[..last];
        limited.clear();
        for q in sorted[(i + 1) * m..].chunks_exact(m) {
            limited.extend(q[..last].iter().zip(head).map(|(a, b)| a.max(*b)));
        }
        let exclusive = box_volume(head, below) - volume(&mut limited, below);
        v += (reference[last] - p[last]) * exclusive;
    }
    v
}

#[cfg(test)]
mod tests;
