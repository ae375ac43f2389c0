//! Argument definitions and glue for each subcommand.

pub mod probe;
pub mod run;
pub mod synth;
