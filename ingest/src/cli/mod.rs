//! Argument definitions and glue for each subcommand.

pub mod bench;
pub mod probe;
pub mod run;
pub mod synth;
