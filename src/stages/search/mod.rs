//! The search stage: Bayesian optimisation at one rate over the model or the system
//! (`single`), or multi-objective over the system (`multi`); both evaluate the system
//! through `system` and may transfer earlier studies' results (`transfer`).

pub mod multi;
pub mod single;
pub mod system;
pub mod transfer;
