//! One trial: one configuration run once at one rate through an adapter.

pub mod adapter;
