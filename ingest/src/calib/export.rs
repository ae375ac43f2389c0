//! Writing a calibration: EasyVolcap `intri.yml`/`extri.yml` (through `yakumo_core::calib`),
//! COLMAP `cameras.txt`/`images.txt` (through `yakumo_core::colmap`), and a JSON dump with the
//! report. All writes are atomic.

use std::io;
use std::path::Path;

use serde_json::json;
use yakumo_core::Camera;
pub use yakumo_core::colmap::write_colmap;
use yakumo_core::fsutil::write_atomic;

use super::report::CalibrationReport;

/// JSON dump of the cameras (K, distortion, R, T, centre) and the report.
pub fn write_json(path: &Path, cams: &[Camera], report: &CalibrationReport) -> io::Result<()> {
    let cameras: Vec<_> = cams
        .iter()
        .map(|c| {
            json!({
                "name": c.name,
                "width": c.width,
                "height": c.height,
                "K": c.k.transpose().to_cols_array_2d(),
                "dist": c.dist.to_array(),
                "R": c.r.transpose().to_cols_array_2d(),
                "T": c.t.to_array(),
                "centre": c.centre().to_array(),
            })
        })
        .collect();
    let value = json!({ "cameras": cameras, "report": report });
    let text = serde_json::to_string_pretty(&value).map_err(io::Error::other)?;
    write_atomic(path, text.as_bytes())
}
