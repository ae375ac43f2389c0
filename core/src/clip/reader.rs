//! Reading a clip: header and index are read and validated once, frames are read on demand.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::header::{data_start, decode_index};
use super::{ClipError, ClipInfo, FrameEntry, FramePoints, HEADER_LEN, quant};

/// Random access to the frames of a `.yk4d` clip.
///
/// The reader owns one byte source (the file for [`open`](ClipReader::open)); a streaming
/// player can open more handles to the same file and read through them with
/// [`read_frame_from`](ClipReader::read_frame_from), or fetch chunk bytes itself (see
/// [`frames`](ClipReader::frames)) and call [`decode_frame`](ClipReader::decode_frame).
#[derive(Debug)]
pub struct ClipReader<R = File> {
    path: PathBuf,
    source: R,
    info: ClipInfo,
    frames: Vec<FrameEntry>,
}

impl ClipReader<File> {
    /// Opens the clip at `path` and validates its header and index.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ClipError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|source| ClipError::Io {
            path: path.to_owned(),
            source,
        })?;
        ClipReader::from_source(file, path)
    }
}

impl<R: Read + Seek> ClipReader<R> {
    /// Reads and validates the header and index from `source`; `name` is used in errors.
    pub fn from_source(mut source: R, name: impl Into<PathBuf>) -> Result<Self, ClipError> {
        let path = name.into();
        let io_err = |source| ClipError::Io {
            path: path.clone(),
            source,
        };
        let corrupt = |message: String| ClipError::Corrupt {
            path: path.clone(),
            message,
        };
        let file_len = source.seek(SeekFrom::End(0)).map_err(io_err)?;
        if file_len < HEADER_LEN as u64 {
            return Err(corrupt(format!(
                "the file has {file_len} bytes, fewer than the {HEADER_LEN}-byte header"
            )));
        }
        source.seek(SeekFrom::Start(0)).map_err(io_err)?;
        let mut head = [0u8; HEADER_LEN];
        source.read_exact(&mut head).map_err(io_err)?;
        let info = ClipInfo::decode(&head).map_err(corrupt)?;
        let index_end = data_start(info.frame_count);
        if index_end > file_len {
            return Err(corrupt(format!(
                "the index of {} frames ends at byte {index_end} but the file has {file_len} bytes",
                info.frame_count
            )));
        }
        let mut index = vec![0u8; (index_end - HEADER_LEN as u64) as usize];
        source.read_exact(&mut index).map_err(io_err)?;
        let frames = decode_index(&index, &info, file_len).map_err(corrupt)?;
        Ok(ClipReader {
            path,
            source,
            info,
            frames,
        })
    }

    /// The clip header.
    pub fn info(&self) -> &ClipInfo {
        &self.info
    }

    /// Frames in the clip.
    pub fn frame_count(&self) -> usize {
        self.frames.len()
    }

    /// The validated seek index, one entry per frame.
    pub fn frames(&self) -> &[FrameEntry] {
        &self.frames
    }

    /// The file name used in errors.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads and decodes frame `index` through the reader's own source.
    pub fn read_frame(&mut self, index: usize) -> Result<FramePoints, ClipError> {
        let entry = *self.entry(index)?;
        let chunk = read_chunk(&mut self.source, &self.path, &entry, index)?;
        self.decode_frame(index, &chunk)
    }

    /// Reads and decodes frame `index` through another handle on the same bytes.
    pub fn read_frame_from<S: Read + Seek>(
        &self,
        source: &mut S,
        index: usize,
    ) -> Result<FramePoints, ClipError> {
        let chunk = read_chunk(source, &self.path, self.entry(index)?, index)?;
        self.decode_frame(index, &chunk)
    }

    /// Decodes the compressed chunk of frame `index` (the `compressed_len` bytes at its offset).
    pub fn decode_frame(&self, index: usize, chunk: &[u8]) -> Result<FramePoints, ClipError> {
        let entry = self.entry(index)?;
        let corrupt = |what: String| ClipError::Corrupt {
            path: self.path.clone(),
            message: format!("frame {index}: {what}"),
        };
        if chunk.len() != entry.compressed_len as usize {
            return Err(corrupt(format!(
                "chunk has {} bytes, the index says {}",
                chunk.len(),
                entry.compressed_len
            )));
        }
        let expected = quant::chunk_len(entry.point_count, self.info.sh_degree);
        // Check the size zstd will produce before allocating room for it.
        match zstd::zstd_safe::get_frame_content_size(chunk) {
            Ok(Some(size)) if size == expected => {}
            Ok(Some(size)) => {
                return Err(corrupt(format!(
                    "chunk decompresses to {size} bytes but {} points need {expected}",
                    entry.point_count
                )));
            }
            _ => {
                return Err(corrupt(
                    "chunk is not a zstd frame with a recorded size".into(),
                ));
            }
        }
        let raw = zstd::bulk::decompress(chunk, expected as usize)
            .map_err(|e| corrupt(format!("chunk does not decompress: {e}")))?;
        quant::decode(&raw, entry, self.info.sh_degree).map_err(corrupt)
    }

    fn entry(&self, index: usize) -> Result<&FrameEntry, ClipError> {
        self.frames
            .get(index)
            .ok_or_else(|| ClipError::FrameOutOfRange {
                path: self.path.clone(),
                index,
                count: self.frames.len(),
            })
    }
}

/// Reads the compressed bytes of one frame (their range was checked against the file length
/// when the index was read, so the allocation is bounded by the file size).
fn read_chunk(
    source: &mut (impl Read + Seek),
    path: &Path,
    entry: &FrameEntry,
    index: usize,
) -> Result<Vec<u8>, ClipError> {
    let io_err = |e: std::io::Error| ClipError::Io {
        path: path.to_owned(),
        source: std::io::Error::new(
            e.kind(),
            format!("reading frame {index} at byte {}: {e}", entry.offset),
        ),
    };
    source.seek(SeekFrom::Start(entry.offset)).map_err(io_err)?;
    let mut chunk = vec![0u8; entry.compressed_len as usize];
    source.read_exact(&mut chunk).map_err(io_err)?;
    Ok(chunk)
}
