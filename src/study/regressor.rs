//! The regressors the model stage compares, and the study file's choice of the one it
//! saves (`[model] regressor`). Named here, below the model stage, because the study file
//! is checked against them when it loads.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A regressor of the model stage's comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Regressor {
    /// Random forest (the paper's choice).
    Forest,
    /// Gradient-boosted trees.
    Gbrt,
    /// Support-vector regression.
    Svr,
    /// k nearest neighbours.
    Knn,
    /// Ridge regression.
    Ridge,
    /// A Gaussian process (Matérn 5/2, ARD).
    Gp,
}

impl Regressor {
    /// Every regressor, in the order the comparison reports them.
    pub const ALL: [Regressor; 6] = [
        Regressor::Forest,
        Regressor::Gbrt,
        Regressor::Svr,
        Regressor::Knn,
        Regressor::Ridge,
        Regressor::Gp,
    ];
    /// Those that can be saved as the study's model (the others are compared only).
    pub const SAVABLE: [Regressor; 3] = [Regressor::Forest, Regressor::Gbrt, Regressor::Gp];

    /// The name the study file and the outputs use.
    pub fn name(self) -> &'static str {
        match self {
            Regressor::Forest => "forest",
            Regressor::Gbrt => "gbrt",
            Regressor::Svr => "svr",
            Regressor::Knn => "knn",
            Regressor::Ridge => "ridge",
            Regressor::Gp => "gp",
        }
    }

    /// Whether it can be saved as the study's model.
    pub fn savable(self) -> bool {
        Regressor::SAVABLE.contains(&self)
    }

    /// The savable regressors' names, for messages.
    pub fn savable_names() -> String {
        Regressor::SAVABLE.map(Regressor::name).join(", ")
    }
}

impl fmt::Display for Regressor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Regressor {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        Regressor::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                let all = Regressor::ALL.map(Regressor::name).join(", ");
                format!("unknown regressor '{s}' (one of {all})")
            })
    }
}

/// `[model] regressor`: which regressor the model stage saves for the search.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum SavedRegressor {
    /// The savable regressor with the lowest cross-validated MAPE.
    #[default]
    Best,
    /// This one (always a savable regressor).
    Named(Regressor),
}

impl TryFrom<String> for SavedRegressor {
    type Error = String;

    fn try_from(s: String) -> Result<Self, String> {
        if s == "best" {
            return Ok(SavedRegressor::Best);
        }
        match s.parse::<Regressor>() {
            Ok(r) if r.savable() => Ok(SavedRegressor::Named(r)),
            _ => Err(format!(
                "'{s}' cannot be the saved model; one of best, {}",
                Regressor::savable_names()
            )),
        }
    }
}

impl From<SavedRegressor> for String {
    fn from(s: SavedRegressor) -> String {
        match s {
            SavedRegressor::Best => "best".into(),
            SavedRegressor::Named(r) => r.name().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_only_savable_regressors_can_be_saved() {
        for r in Regressor::ALL {
            assert_eq!(r.name().parse::<Regressor>(), Ok(r));
        }
        assert_eq!(
            SavedRegressor::try_from("gp".to_string()),
            Ok(SavedRegressor::Named(Regressor::Gp))
        );
        assert_eq!(
            SavedRegressor::try_from("best".to_string()),
            Ok(SavedRegressor::Best)
        );
        let e = SavedRegressor::try_from("svr".to_string()).unwrap_err();
        assert!(e.contains("best, forest, gbrt, gp"), "{e}");
        assert!("ann".parse::<Regressor>().is_err());
        // Tables align names by width.
        assert_eq!(format!("{:<8}|", Regressor::Gp), "gp      |");
    }
}
