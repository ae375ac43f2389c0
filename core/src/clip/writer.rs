//! Writing a clip: frames are appended to a temporary file, the header and index are filled in
//! and the file is renamed into place by [`ClipWriter::finish`].

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::header::data_start;
use super::{
    AttributeLayout, ClipError, ClipInfo, FrameEntry, FramePoints, MAX_FRAMES,
    MAX_POINTS_PER_FRAME, quant,
};
use crate::fsutil::temp_path_for;
use crate::sh;

/// zstd level used unless [`ClipHeaderParams::zstd_level`] says otherwise.
pub const DEFAULT_ZSTD_LEVEL: i32 = 9;

/// What a clip is, fixed when it is created.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClipHeaderParams {
    /// Playback rate, frames per second (finite, positive).
    pub fps: f64,
    /// Degree of the SH residual, 0..=3.
    pub sh_degree: u32,
    /// Frames that will be written, at most [`MAX_FRAMES`].
    pub frame_count: u32,
    /// zstd compression level (1..=22).
    pub zstd_level: i32,
}

impl ClipHeaderParams {
    /// Parameters with the default compression level.
    pub fn new(fps: f64, sh_degree: u32, frame_count: u32) -> Self {
        ClipHeaderParams {
            fps,
            sh_degree,
            frame_count,
            zstd_level: DEFAULT_ZSTD_LEVEL,
        }
    }

    fn check(&self) -> Result<(), String> {
        if !(self.fps.is_finite() && self.fps > 0.0) {
            return Err(format!("frame rate {} is not a positive number", self.fps));
        }
        if self.sh_degree > sh::MAX_DEGREE {
            return Err(format!(
                "SH degree {} exceeds {}",
                self.sh_degree,
                sh::MAX_DEGREE
            ));
        }
        if self.frame_count > MAX_FRAMES {
            return Err(format!(
                "{} frames exceed the limit of {MAX_FRAMES}",
                self.frame_count
            ));
        }
        if !zstd::compression_level_range().contains(&self.zstd_level) {
            return Err(format!(
                "zstd level {} is outside {:?}",
                self.zstd_level,
                zstd::compression_level_range()
            ));
        }
        Ok(())
    }
}

/// Streams frames into a new `.yk4d` file. Nothing appears under the final name until
/// [`finish`](Self::finish) succeeds; dropping the writer earlier removes the temporary file.
pub struct ClipWriter {
    path: PathBuf,
    temp: PathBuf,
    /// The temporary file; `None` only while dropping.
    out: Option<BufWriter<File>>,
    params: ClipHeaderParams,
    compressor: zstd::bulk::Compressor<'static>,
    entries: Vec<FrameEntry>,
    next_offset: u64,
    /// Set once an I/O error may have left the temporary file inconsistent.
    failed: bool,
    finished: bool,
}

impl ClipWriter {
    /// Starts a clip at `path` (parent directories are created).
    pub fn create(path: impl AsRef<Path>, params: ClipHeaderParams) -> Result<Self, ClipError> {
        let path = path.as_ref().to_owned();
        params.check().map_err(|message| ClipError::InvalidInput {
            path: path.clone(),
            message,
        })?;
        let io_err = |source| ClipError::Io {
            path: path.clone(),
            source,
        };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(io_err)?;
        }
        let mut compressor = zstd::bulk::Compressor::new(params.zstd_level).map_err(io_err)?;
        compressor
            .set_parameter(zstd::zstd_safe::CParameter::ChecksumFlag(true))
            .map_err(io_err)?;
        let temp = temp_path_for(&path);
        let out = BufWriter::new(File::create(&temp).map_err(io_err)?);
        let reserved_header_and_index = data_start(params.frame_count);
        let mut writer = ClipWriter {
            path,
            temp,
            out: Some(out),
            params,
            compressor,
            entries: Vec::with_capacity(params.frame_count as usize),
            next_offset: reserved_header_and_index,
            failed: false,
            finished: false,
        };
        // The header and index are filled in by `finish`; reserve their space now. On error
        // `writer` drops here and removes the temporary file.
        let prepared = io::copy(
            &mut io::repeat(0).take(reserved_header_and_index),
            writer.out(),
        );
        prepared.map_err(|source| ClipError::Io {
            path: writer.path.clone(),
            source,
        })?;
        Ok(writer)
    }

    fn out(&mut self) -> &mut BufWriter<File> {
        self.out
            .as_mut()
            .expect("the output is only taken while dropping")
    }

    /// Frames written so far.
    pub fn frames_written(&self) -> u32 {
        self.entries.len() as u32
    }

    fn invalid(&self, message: String) -> ClipError {
        ClipError::InvalidInput {
            path: self.path.clone(),
            message,
        }
    }

    /// Quantises, compresses and appends the next frame.
    pub fn write_frame(&mut self, frame: &FramePoints) -> Result<(), ClipError> {
        let index = self.entries.len();
        if self.failed {
            return Err(
                self.invalid("an earlier write failed; the clip cannot be completed".into())
            );
        }
        if index as u64 >= self.params.frame_count as u64 {
            return Err(self.invalid(format!(
                "all {} declared frames are already written",
                self.params.frame_count
            )));
        }
        frame
            .validate(self.params.sh_degree)
            .map_err(|m| self.invalid(format!("frame {index}: {m}")))?;
        if frame.len() > MAX_POINTS_PER_FRAME as usize {
            let m = format!(
                "frame {index} has {} points, more than {MAX_POINTS_PER_FRAME}",
                frame.len()
            );
            return Err(self.invalid(m));
        }
        let (lo, hi) = quant::bounds(&frame.positions);
        let raw = quant::encode(frame, self.params.sh_degree, lo, hi);
        let path = self.path.clone();
        let compressed = self
            .compressor
            .compress(&raw)
            .map_err(|source| ClipError::Io {
                path: path.clone(),
                source,
            })?;
        let compressed_len = u32::try_from(compressed.len()).map_err(|_| {
            self.invalid(format!(
                "frame {index} compresses to {} bytes, over 4 GiB",
                compressed.len()
            ))
        })?;
        if let Err(source) = self.out().write_all(&compressed) {
            self.failed = true;
            return Err(ClipError::Io { path, source });
        }
        self.entries.push(FrameEntry {
            offset: self.next_offset,
            compressed_len,
            point_count: frame.len() as u32,
            bounds_min: lo,
            bounds_max: hi,
        });
        self.next_offset += compressed_len as u64;
        Ok(())
    }

    /// Writes the header and index and renames the file into place. Fails (leaving no file)
    /// unless exactly the declared number of frames was written.
    pub fn finish(mut self) -> Result<ClipInfo, ClipError> {
        if self.failed {
            return Err(
                self.invalid("an earlier write failed; the clip cannot be completed".into())
            );
        }
        if self.entries.len() != self.params.frame_count as usize {
            let m = format!(
                "{} frames written but {} declared",
                self.entries.len(),
                self.params.frame_count
            );
            return Err(self.invalid(m));
        }
        let info = self.info();
        let mut head = info.encode().to_vec();
        self.entries.iter().for_each(|e| e.encode(&mut head));
        let io_result = (|| {
            let mut out = self
                .out
                .take()
                .expect("the output is only taken while dropping");
            out.seek(SeekFrom::Start(0))?;
            out.write_all(&head)?;
            let file = out.into_inner().map_err(|e| e.into_error())?;
            file.sync_all()?;
            drop(file); // closed before the rename, which Windows needs
            std::fs::rename(&self.temp, &self.path)
        })();
        io_result.map_err(|source| ClipError::Io {
            path: self.path.clone(),
            source,
        })?;
        self.finished = true;
        Ok(info)
    }

    /// The header describing the frames written so far.
    fn info(&self) -> ClipInfo {
        let mut bounds: Option<([f32; 3], [f32; 3])> = None;
        for e in self.entries.iter().filter(|e| e.point_count > 0) {
            let (lo, hi) = bounds.get_or_insert((e.bounds_min, e.bounds_max));
            for a in 0..3 {
                lo[a] = lo[a].min(e.bounds_min[a]);
                hi[a] = hi[a].max(e.bounds_max[a]);
            }
        }
        let (bounds_min, bounds_max) = bounds.unwrap_or(([0.0; 3], [0.0; 3]));
        ClipInfo {
            frame_count: self.params.frame_count,
            fps: self.params.fps,
            sh_degree: self.params.sh_degree,
            max_points: self
                .entries
                .iter()
                .map(|e| e.point_count)
                .max()
                .unwrap_or(0),
            bounds_min,
            bounds_max,
            layout: AttributeLayout::V1,
        }
    }
}

impl Drop for ClipWriter {
    fn drop(&mut self) {
        if !self.finished {
            // Close the file first: Windows cannot delete an open file.
            drop(self.out.take());
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}
