//! The encoding of a study's space for the optimiser.
//!
//! Each parameter becomes a variable of the optimiser's domain: floats and wide integer
//! ranges are continuous (rounding a 40 960-level memory size changes nothing), narrower
//! integers are grids of their exact values on the unit scale (so log-scale integers like
//! slots keep their true spacing), bools and enums are one-hot categoricals. The GP sees
//! and the acquisition is evaluated at those projected points, so discrete parameters are
//! handled inside the optimisation, not rounded at the end.

use flink::space::{Config, Kind, Space, Value};
use opt::bo::{Condition, Domain, Var};

/// Integer parameters with more levels than this are searched as continuous.
const MAX_GRID: u64 = 512;

/// The optimiser's domain for a space.
pub fn domain(space: &Space) -> Domain {
    let vars = space
        .params
        .iter()
        .map(|p| match (p.kind, p.levels()) {
            (Kind::Bool, _) => Var::Categorical { choices: 2 },
            (Kind::Enum, _) => Var::Categorical {
                choices: p.values.len() as u32,
            },
            (Kind::Int, Some(levels)) if levels <= MAX_GRID => Var::Grid {
                points: p
                    .int_values()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|v| p.to_unit(&Value::Int(v)))
                    .collect(),
            },
            _ => Var::Continuous,
        })
        .collect();
    let conditions = space
        .params
        .iter()
        .enumerate()
        .filter_map(|(var, p)| {
            // `Space::new` refused a switch that is not a bool parameter.
            let on = space.switch_of(p).ok().flatten()?;
            Some(Condition {
                var,
                on,
                choice: 1, // a bool's choices are [false, true]
                rest: p.to_unit(&p.effective_default()),
            })
        })
        .collect();
    Domain { vars, conditions }
}

/// The configuration at a (projected) point of the domain.
pub fn decode(space: &Space, domain: &Domain, z: &[f64]) -> Config {
    let mut at = 0;
    space
        .params
        .iter()
        .zip(&domain.vars)
        .map(|(p, var)| {
            let value = match var {
                Var::Categorical { choices } => {
                    let k = *choices as usize;
                    let slice = &z[at..at + k];
                    let i = (0..k)
                        .max_by(|&a, &b| slice[a].total_cmp(&slice[b]))
                        .unwrap_or(0);
                    at += k;
                    match p.kind {
                        Kind::Bool => Value::Bool(i == 1),
                        _ => Value::Str(p.values[i].clone()),
                    }
                }
                _ => {
                    at += 1;
                    p.from_unit(z[at - 1])
                }
            };
            Some(value)
        })
        .collect()
}

/// The (projected) point of the domain for a configuration: the inverse of [`decode`];
/// unset parameters sit at their effective value.
pub fn encode(space: &Space, domain: &Domain, config: &Config) -> Vec<f64> {
    let mut z = Vec::with_capacity(domain.dims());
    for ((p, var), value) in space
        .params
        .iter()
        .zip(&domain.vars)
        .zip(space.effective(config))
    {
        match var {
            Var::Categorical { choices } => {
                let i = match (&p.kind, &value) {
                    (Kind::Bool, Value::Bool(b)) => usize::from(*b),
                    _ => p
                        .values
                        .iter()
                        .position(|v| *v == value.to_string())
                        .unwrap_or(0),
                };
                z.extend((0..*choices as usize).map(|j| if j == i { 1.0 } else { 0.0 }));
            }
            _ => z.push(p.to_unit(&value)),
        }
    }
    domain.project(&z)
}

/// The optimiser's canonical form of a point: the encoding of the configuration it decodes
/// to. Wide integer ranges are continuous to the optimiser but round to whole values, so
/// points a hair apart can be one configuration; the optimiser must not measure it twice.
pub fn canonical(space: &Space) -> opt::bo::Canonical {
    let (space, domain) = (space.clone(), domain(space));
    Box::new(move |z: &[f64]| encode(&space, &domain, &decode(&space, &domain, z)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn space() -> Space {
        let text = include_str!("../../configs/flink-1.11-key-params.toml");
        Space::from_catalogue_text(text, "t").unwrap().1
    }

    #[test]
    fn decoding_any_point_gives_a_valid_configuration() {
        let s = space();
        let d = domain(&s);
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for _ in 0..200 {
            let z: Vec<f64> = (0..d.dims()).map(|_| rng.random::<f64>()).collect();
            let config = decode(&s, &d, &d.project(&z));
            for (p, v) in s.params.iter().zip(&config) {
                p.check_value(v.as_ref().unwrap()).unwrap();
            }
        }
    }

    #[test]
    fn points_that_round_to_one_configuration_share_a_canonical_form() {
        let s = space();
        let d = domain(&s);
        let canonical = canonical(&s);
        let param = s.index_of("taskmanager.memory.flink.size").unwrap();
        assert!(matches!(d.vars[param], Var::Continuous));
        let mem: usize = d.vars[..param].iter().map(Var::dims).sum();
        let z = d.project(&vec![0.5; d.dims()]);
        let mut near = z.clone();
        near[mem] += 1e-6; // ~0.02 MB at 6.5 GB on this log scale: the same whole MB
        assert_ne!(z, near);
        assert_eq!(decode(&s, &d, &z), decode(&s, &d, &near));
        assert_eq!(canonical(&z), canonical(&near));
        let mut far = z.clone();
        far[mem] += 0.05;
        assert_ne!(canonical(&z), canonical(&far));
    }

    #[test]
    fn grids_hold_the_exact_integer_positions() {
        let s = space();
        let d = domain(&s);
        let i = s.index_of("taskmanager.numberOfTaskSlots").unwrap();
        let Var::Grid { points } = &d.vars[i] else {
            panic!("slots should be a grid")
        };
        assert_eq!(points.len(), 16);
        // Log scale: 1→2 is as far as 8→16.
        assert!(((points[1] - points[0]) - (points[15] - points[7])).abs() < 1e-12);
        let c = s.index_of("execution.checkpointing.interval").unwrap();
        assert!(matches!(d.vars[c], Var::Continuous));
        let seg = s.index_of("taskmanager.memory.segment-size").unwrap();
        let Var::Grid { points } = &d.vars[seg] else {
            panic!("segment size should be a grid of powers of two")
        };
        assert_eq!(points.len(), 9);
    }

    #[test]
    fn an_interval_whose_switch_is_off_is_searched_at_its_default() {
        let text = include_str!("../../examples/flink-local-catalogue.toml");
        let s = Space::from_catalogue_text(text, "t").unwrap().1;
        let d = domain(&s);
        d.validate().unwrap();
        let (on, interval) = (0, 1); // the switch's two one-hot dimensions, then the interval
        assert_eq!(s.params[0].name, "execution.buffer-timeout.enabled");
        assert_eq!(
            s.params[1].active_when.as_deref(),
            Some(s.params[0].name.as_str())
        );
        let mut z = vec![0.5; d.dims()];
        (z[on], z[on + 1], z[interval + 1]) = (1.0, 0.0, 0.02); // off, a 1 ms interval
        let off = decode(&s, &d, &d.project(&z));
        assert_eq!(off[0], Some(Value::Bool(false)));
        assert_eq!(off[1], Some(Value::Int(100)), "Flink's default while off");
        z[interval + 1] = 0.9;
        assert_eq!(decode(&s, &d, &d.project(&z)), off);
        (z[on], z[on + 1], z[interval + 1]) = (0.0, 1.0, 0.02); // on: its own interval
        let on_config = decode(&s, &d, &d.project(&z));
        assert_eq!(on_config[0], Some(Value::Bool(true)));
        assert!(
            matches!(on_config[1], Some(Value::Int(v)) if v < 5),
            "{on_config:?}"
        );
    }
}
