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
//! exclusive volume. Dominated points are dropped before every recursion, which is what
//! keeps the limited sets small. The improvement of a point is its box minus the volume of
//! the front limited by it: one volume, not two.
//!
//! Written here because no maintained crate offers exact hypervolume; the tests check every
//! path against inclusion–exclusion and counting on integer grids.

/// The volume dominated by `points` and bounded by `reference`. Points not strictly better
/// than the reference in every objective add nothing; non-finite points are ignored.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let inside: Vec<Vec<f64>> = points
        .iter()
        .filter(|p| strictly_inside(p, reference))
        .cloned()
        .collect();
    volume(inside, reference)
}

/// The hypervolume `y` adds to `front`: the volume of the box between `y` and the
/// reference that the front does not already dominate.
pub fn improvement(front: &[Vec<f64>], y: &[f64], reference: &[f64]) -> f64 {
    if !strictly_inside(y, reference) {
        return 0.0;
    }
    let finite = |p: &&Vec<f64>| p.len() == y.len() && p.iter().all(|v| v.is_finite());
    // The common case in EHVI's draws: a point of the front already covers y's whole box.
    if front
        .iter()
        .filter(finite)
        .any(|p| p.iter().zip(y).all(|(a, b)| a <= b))
    {
        return 0.0;
    }
    let limited: Vec<Vec<f64>> = front
        .iter()
        .filter(finite)
        .map(|p| limit(p, y))
        .filter(|p| strictly_inside(p, reference))
        .collect();
    (box_volume(y, reference) - volume(limited, reference)).max(0.0)
}

fn strictly_inside(p: &[f64], reference: &[f64]) -> bool {
    p.len() == reference.len() && p.iter().zip(reference).all(|(v, r)| v.is_finite() && v < r)
}

/// `q` limited by `p`: no better than `p` in any objective.
fn limit(q: &[f64], p: &[f64]) -> Vec<f64> {
    q.iter().zip(p).map(|(a, b)| a.max(*b)).collect()
}

fn box_volume(p: &[f64], reference: &[f64]) -> f64 {
    p.iter().zip(reference).map(|(v, r)| r - v).product()
}

/// The points no other point weakly dominates, one of each group of equal points.
/// After a lexicographic sort every point that weakly dominates another comes before it,
/// so one pass against the points kept so far suffices.
fn front_of(mut points: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    points.sort_by(|a, b| super::lexicographic(a, b));
    let mut kept: Vec<Vec<f64>> = Vec::with_capacity(points.len());
    for p in points {
        if !kept.iter().any(|q| q.iter().zip(&p).all(|(a, b)| a <= b)) {
            kept.push(p);
        }
    }
    kept
}

/// Hypervolume of points all strictly inside the reference box.
fn volume(points: Vec<Vec<f64>>, reference: &[f64]) -> f64 {
    let m = reference.len();
    if points.is_empty() || m == 0 {
        return 0.0;
    }
    if points.len() == 1 {
        return box_volume(&points[0], reference);
    }
    let mut points = front_of(points);
    match m {
        1 => reference[0] - points[0][0],
        2 => {
            // The lexicographic sort of `front_of` leaves a 2-D front as a staircase.
            staircase_area(&points, reference)
        }
        3 => volume_3d(&mut points, reference),
        _ => volume_wfg(&mut points, reference),
    }
}

/// The area of a 2-D staircase: points ascending in the first objective and strictly
/// descending in the second.
fn staircase_area(stairs: &[Vec<f64>], reference: &[f64]) -> f64 {
    let mut floor = reference[1];
    let mut area = 0.0;
    for p in stairs {
        area += (reference[0] - p[0]) * (floor - p[1]);
        floor = p[1];
    }
    area
}

/// 3-D: ascending in the third objective, each point joins the 2-D staircase of the points
/// below it (dropping the steps it covers), and the staircase's area fills the slab up to
/// the next point.
fn volume_3d(points: &mut [Vec<f64>], reference: &[f64]) -> f64 {
    points.sort_by(|a, b| a[2].total_cmp(&b[2]));
    let mut stairs: Vec<Vec<f64>> = Vec::with_capacity(points.len());
    let mut v = 0.0;
    for (i, p) in points.iter().enumerate() {
        let at = stairs.partition_point(|q| q[0] < p[0]);
        // The step before (smaller first objective) or at the same first objective covers p.
        let covered = (at > 0 && stairs[at - 1][1] <= p[1])
            || stairs.get(at).is_some_and(|q| q[0] == p[0] && q[1] <= p[1]);
        if !covered {
            let end = at + stairs[at..].iter().take_while(|q| q[1] >= p[1]).count();
            stairs.splice(at..end, [vec![p[0], p[1]]]);
        }
        let top = points.get(i + 1).map_or(reference[2], |q| q[2]);
        if top > p[2] {
            v += staircase_area(&stairs, reference) * (top - p[2]);
        }
    }
    v
}

/// WFG with the last objective sliced off: mutually non-dominated points, 4 or more
/// objectives.
fn volume_wfg(points: &mut [Vec<f64>], reference: &[f64]) -> f64 {
    let last = reference.len() - 1;
    points.sort_by(|a, b| b[last].total_cmp(&a[last]));
    let below = &reference[..last];
    let mut v = 0.0;
    for (i, p) in points.iter().enumerate() {
        let head = &p[..last];
        let limited: Vec<Vec<f64>> = points[i + 1..]
            .iter()
            .map(|q| limit(&q[..last], head))
            .collect();
        let exclusive = box_volume(head, below) - volume(limited, below);
        v += (reference[last] - p[last]) * exclusive;
    }
    v
}

#[cfg(test)]
mod tests;
