//! Argument definitions and glue for each subcommand.

pub mod synth;
pub mod probe;
pub mod run;
