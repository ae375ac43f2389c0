//! The fixed-size clip header and the seek index: encoding, decoding and validation.

use super::{MAX_FRAMES, MAX_POINTS_PER_FRAME};
use crate::sh;

/// First four bytes of every clip.
pub const CLIP_MAGIC: [u8; 4] = *b"YK4D";
/// The format version this code reads and writes.
pub const CLIP_VERSION: u32 = 1;
/// Bytes in the header.
pub const HEADER_LEN: usize = 64;
/// Bytes per seek-index entry.
pub const INDEX_ENTRY_LEN: usize = 40;

/// How each attribute is quantised in a chunk, as codes stored in the header. Version 1 defines
/// exactly one coding per attribute ([`AttributeLayout::V1`]); readers reject any other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttributeLayout {
    /// 1: u16 per axis, linear between the frame's bounds.
    pub position: u8,
    /// 1: IEEE half float.
    pub radius: u8,
    /// 1: u16 linear over 0..1.
    pub density: u8,
    /// 1: u8 per channel linear over 0..1.
    pub color: u8,
    /// 1: i8 per coefficient times a per-frame, per-degree f32 scale.
    pub sh: u8,
}

impl AttributeLayout {
    /// The layout of format version 1.
    pub const V1: AttributeLayout = AttributeLayout {
        position: 1,
        radius: 1,
        density: 1,
        color: 1,
        sh: 1,
    };
}

/// The clip-wide header.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipInfo {
    /// Frames in the clip.
    pub frame_count: u32,
    /// Playback rate, frames per second.
    pub fps: f64,
    /// Degree of the SH residual (0..=3).
    pub sh_degree: u32,
    /// Most points in any frame.
    pub max_points: u32,
    /// Lower corner of the union of all frames' bounds (zero when every frame is empty).
    pub bounds_min: [f32; 3],
    /// Upper corner of the union of all frames' bounds.
    pub bounds_max: [f32; 3],
    /// How attributes are quantised.
    pub layout: AttributeLayout,
}

/// One seek-index entry: where a frame's chunk is and what it holds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameEntry {
    /// Byte offset of the compressed chunk from the start of the file.
    pub offset: u64,
    /// Compressed chunk length in bytes.
    pub compressed_len: u32,
    /// Points in the frame.
    pub point_count: u32,
    /// Lower corner of the frame's positions (zero for an empty frame).
    pub bounds_min: [f32; 3],
    /// Upper corner of the frame's positions.
    pub bounds_max: [f32; 3],
}

/// Byte offset of the first chunk for a clip of `frame_count` frames.
pub(crate) fn data_start(frame_count: u32) -> u64 {
    HEADER_LEN as u64 + frame_count as u64 * INDEX_ENTRY_LEN as u64
}

fn put_vec3(out: &mut Vec<u8>, v: [f32; 3]) {
    v.iter().for_each(|x| out.extend(x.to_le_bytes()));
}

/// Little-endian field reader over a byte slice whose length the caller has checked.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let (head, rest) = self.0.split_at(N);
        self.0 = rest;
        head.try_into().expect("split_at gave N bytes")
    }
    fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }
    fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }
    fn u64(&mut self) -> u64 {
        u64::from_le_bytes(self.bytes())
    }
    fn f32(&mut self) -> f32 {
        f32::from_le_bytes(self.bytes())
    }
    fn f64(&mut self) -> f64 {
        f64::from_le_bytes(self.bytes())
    }
    fn vec3(&mut self) -> [f32; 3] {
        [self.f32(), self.f32(), self.f32()]
    }
}

impl ClipInfo {
    /// The 64 header bytes.
    pub(crate) fn encode(&self) -> [u8; HEADER_LEN] {
        let mut out = Vec::with_capacity(HEADER_LEN);
        out.extend(CLIP_MAGIC);
        out.extend(CLIP_VERSION.to_le_bytes());
        out.extend((HEADER_LEN as u32).to_le_bytes());
        out.extend((INDEX_ENTRY_LEN as u32).to_le_bytes());
        out.extend(self.frame_count.to_le_bytes());
        out.extend(self.max_points.to_le_bytes());
        out.extend(self.fps.to_le_bytes());
        let l = self.layout;
        out.extend([
            self.sh_degree as u8,
            l.position,
            l.radius,
            l.density,
            l.color,
            l.sh,
            0,
            0,
        ]);
        put_vec3(&mut out, self.bounds_min);
        put_vec3(&mut out, self.bounds_max);
        out.try_into().expect("header fields add up to HEADER_LEN")
    }

    /// Parses and validates the header; errors say what is wrong (the caller adds the file name).
    pub(crate) fn decode(bytes: &[u8; HEADER_LEN]) -> Result<ClipInfo, String> {
        let mut f = Fields(bytes);
        let magic = f.bytes::<4>();
        if magic != CLIP_MAGIC {
            return Err(format!(
                "not a .yk4d clip (magic {magic:02x?}, expected \"YK4D\")"
            ));
        }
        let version = f.u32();
        if version != CLIP_VERSION {
            return Err(format!(
                "clip format version {version} is not supported (this build reads {CLIP_VERSION})"
            ));
        }
        let (header_len, entry_len) = (f.u32(), f.u32());
        if header_len as usize != HEADER_LEN || entry_len as usize != INDEX_ENTRY_LEN {
            return Err(format!(
                "header declares {header_len}-byte header and {entry_len}-byte index entries, version {CLIP_VERSION} uses {HEADER_LEN} and {INDEX_ENTRY_LEN}"
            ));
        }
        let frame_count = f.u32();
        if frame_count > MAX_FRAMES {
            return Err(format!(
                "header declares {frame_count} frames, more than the limit of {MAX_FRAMES}"
            ));
        }
        let max_points = f.u32();
        if max_points > MAX_POINTS_PER_FRAME {
            return Err(format!(
                "header declares up to {max_points} points per frame, more than the limit of {MAX_POINTS_PER_FRAME}"
            ));
        }
        let fps = f.f64();
        if !(fps.is_finite() && fps > 0.0) {
            return Err(format!("frame rate {fps} is not a positive number"));
        }
        let sh_degree = f.u8() as u32;
        if sh_degree > sh::MAX_DEGREE {
            return Err(format!(
                "SH degree {sh_degree} exceeds the supported {}",
                sh::MAX_DEGREE
            ));
        }
        let layout = AttributeLayout {
            position: f.u8(),
            radius: f.u8(),
            density: f.u8(),
            color: f.u8(),
            sh: f.u8(),
        };
        if layout != AttributeLayout::V1 {
            return Err(format!("unsupported attribute layout {layout:?}"));
        }
        let reserved = f.bytes::<2>();
        if reserved != [0, 0] {
            return Err(format!(
                "reserved header bytes are {reserved:?}, expected zero"
            ));
        }
        let (bounds_min, bounds_max) = (f.vec3(), f.vec3());
        check_bounds(bounds_min, bounds_max).map_err(|e| format!("clip bounds: {e}"))?;
        Ok(ClipInfo {
            frame_count,
            fps,
            sh_degree,
            max_points,
            bounds_min,
            bounds_max,
            layout,
        })
    }
}

/// Bounds must be finite with `min ≤ max` on every axis.
fn check_bounds(min: [f32; 3], max: [f32; 3]) -> Result<(), String> {
    let ok = (0..3).all(|a| min[a].is_finite() && max[a].is_finite() && min[a] <= max[a]);
    if ok {
        Ok(())
    } else {
        Err(format!("{min:?}..{max:?} are not finite or not ordered"))
    }
}

impl FrameEntry {
    /// The 40 index-entry bytes.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        out.extend(self.offset.to_le_bytes());
        out.extend(self.compressed_len.to_le_bytes());
        out.extend(self.point_count.to_le_bytes());
        put_vec3(out, self.bounds_min);
        put_vec3(out, self.bounds_max);
    }

    /// Offset one past the chunk's last byte.
    pub fn end(&self) -> u64 {
        self.offset + self.compressed_len as u64
    }
}

/// Parses the index (`bytes` is exactly `frame_count` entries) and checks every entry against
/// the header and the file length: chunks inside the data area, in order, not overlapping.
pub(crate) fn decode_index(
    bytes: &[u8],
    info: &ClipInfo,
    file_len: u64,
) -> Result<Vec<FrameEntry>, String> {
    let mut f = Fields(bytes);
    let mut entries = Vec::with_capacity(info.frame_count as usize);
    let mut prev_end = data_start(info.frame_count);
    for i in 0..info.frame_count {
        let e = FrameEntry {
            offset: f.u64(),
            compressed_len: f.u32(),
            point_count: f.u32(),
            bounds_min: f.vec3(),
            bounds_max: f.vec3(),
        };
        if e.offset < prev_end {
            return Err(if i == 0 {
                format!(
                    "frame 0 chunk starts at byte {}, inside the header and index (which end at byte {prev_end})",
                    e.offset
                )
            } else {
                format!(
                    "frame {i} chunk starts at byte {} but frame {} ends at byte {prev_end}",
                    e.offset,
                    i - 1
                )
            });
        }
        let end = e
            .offset
            .checked_add(e.compressed_len as u64)
            .filter(|&end| end <= file_len);
        let Some(end) = end else {
            return Err(format!(
                "frame {i} chunk ends at byte {} but the file has {file_len} bytes",
                e.offset as u128 + e.compressed_len as u128
            ));
        };
        if e.point_count > info.max_points {
            return Err(format!(
                "frame {i} has {} points, more than the header's maximum of {}",
                e.point_count, info.max_points
            ));
        }
        check_bounds(e.bounds_min, e.bounds_max).map_err(|m| format!("frame {i} bounds: {m}"))?;
        let inside = (0..3).all(|a| {
            e.bounds_min[a] >= info.bounds_min[a] && e.bounds_max[a] <= info.bounds_max[a]
        });
        if e.point_count > 0 && !inside {
            return Err(format!(
                "frame {i} bounds {:?}..{:?} lie outside the clip bounds",
                e.bounds_min, e.bounds_max
            ));
        }
        prev_end = end;
        entries.push(e);
    }
    Ok(entries)
}
