//! Argument definitions and glue for each subcommand.

pub mod synth;
