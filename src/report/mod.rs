//! What the stages show a person: SVG figures.

pub mod plot;
