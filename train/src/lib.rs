//! `yakumo-train`: from a dataset to a trained, baked 4K4D clip. Today: space carving of the
//! per-frame initial point clouds ([`carve`]).

pub mod carve;
