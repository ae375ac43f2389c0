//! Space carving: the initial point cloud of every frame from the silhouettes.
//!
//! Per frame, a visual hull is carved coarse to fine ([`hull`]): cells are tested against
//! every camera's mask with a conservative footprint test ([`classify`]; on every CPU core or
//! as a GPU kernel, [`tester`]), undecided cells are
//! split until the requested voxel size, where the voxel centre decides. A voxel is inside when
//! enough cameras see it and at most a tolerated number of them see background there, so a few
//! wrong mask pixels never punch holes. Connected parts that the rig sees much worse than the
//! subject (phantoms of sparse rigs) are dropped ([`parts`]), enclosed cavities are filled, the
//! boundary faces between inside and outside voxels are cleaned of statistical outliers and a fixed number of points is
//! sampled on them ([`surface`]). [`dataset`] loads frames of an EasyVolcap dataset and
//! [`command`] is the `yakumo-train carve` subcommand.

pub mod classify;
pub mod command;
pub mod dataset;
pub mod error;
pub mod frame;
pub mod hull;
pub mod knn;
pub mod mask;
pub mod parts;
pub mod surface;
pub mod tester;
pub mod volume;

pub use classify::{CellClass, Rule, View, classify_cell, point_inside};
pub use error::CarveError;
pub use frame::{CarveSettings, CarvedFrame, MIN_CAMERAS, StageSeconds, carve_frame};
pub use hull::{Aabb, Hull, LevelStats, carve_hull};
pub use mask::{Coverage, Mask};
pub use parts::{PartStats, drop_poorly_seen_parts};
pub use tester::{CellTester, CpuTester, GpuTester, HullDevice};
