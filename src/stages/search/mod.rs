//! The search stage: Bayesian optimisation at one rate over the model or the system
//! (`single`), or multi-objective over the system (`multi`); both evaluate the system
//! through `system`, may transfer earlier studies' results (`transfer`), and leave what
//! they found in the form `record` reads back.

pub mod multi;
pub mod record;
pub mod single;
pub mod system;
pub mod transfer;

pub use record::{SearchOptions, SearchSummary, read_best};
