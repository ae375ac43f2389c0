//! `yakumo-train`: from a dataset to a trained, baked 4K4D clip: space carving of the per-frame
//! initial point clouds ([`carve`]), the model ([`model`]) and its differentiable renderer
//! ([`render`]), training ([`fit`]) on streamed data ([`data`]), evaluation ([`eval`]) and
//! baking to a `.yk4d` clip ([`bake`]).

pub mod bake;
pub mod carve;
pub mod data;
pub mod eval;
pub mod fit;
pub mod model;
pub mod render;
