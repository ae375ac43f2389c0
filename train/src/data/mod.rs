//! The training data: a validated dataset ([`validate`]), its cameras split into training and
//! held-out views ([`split`]), and the images streamed from disk through a small cache
//! ([`images`]).

pub mod images;
pub mod split;
pub mod validate;

pub use images::{ImageCache, ViewImage};
pub use split::{Holdout, Split, nearest_sources};
pub use validate::{DataError, TrainDataset, open_for_training};
