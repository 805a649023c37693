//! One module per stage of a study, named as its CLI verb.

pub mod best;
pub mod collect;
pub mod compare;
pub mod determine;
pub mod generate;
pub mod model;
pub mod reasons;
pub mod search;
pub mod status;
pub mod tune;
pub mod validate;
