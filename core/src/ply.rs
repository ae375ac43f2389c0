//! PLY point files: write binary little-endian point clouds, read the point part of PLY files
//! written by other tools (ascii or binary of either endianness, any scalar property type).
//!
//! The reader takes `x y z` (required), `nx ny nz` and `red green blue` (or `diffuse_red …`)
//! from the `vertex` element and ignores every other property and element. Sizes declared in the
//! header are checked against the file length before anything is allocated.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::fsutil::write_atomic_with;

/// Header search stops after this many bytes: real PLY headers are a few hundred bytes.
const MAX_HEADER_BYTES: usize = 1 << 16;

/// A point cloud with optional per-point normals and 8-bit colours.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PointCloud {
    /// Point positions.
    pub positions: Vec<[f32; 3]>,
    /// Per-point normals, same length as `positions` when present.
    pub normals: Option<Vec<[f32; 3]>>,
    /// Per-point sRGB-encoded colours, same length as `positions` when present.
    pub colors: Option<Vec<[u8; 3]>>,
}

/// Errors of PLY reading and writing; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum PlyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The file is not a PLY file this reader understands, or is damaged.
    #[error("{path}: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The cloud to write is inconsistent (attribute lengths differ from the point count).
    #[error("{path}: cannot write point cloud: {message}")]
    InvalidCloud {
        /// The file that was to be written.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Writes `cloud` to `path` as binary little-endian PLY (`float x y z [nx ny nz]`,
/// `uchar red green blue`), atomically.
pub fn write_ply(path: &Path, cloud: &PointCloud) -> Result<(), PlyError> {
    let n = cloud.positions.len();
    let invalid = |message: String| PlyError::InvalidCloud {
        path: path.to_owned(),
        message,
    };
    if let Some(normals) = &cloud.normals
        && normals.len() != n
    {
        return Err(invalid(format!("{} normals for {n} points", normals.len())));
    }
    if let Some(colors) = &cloud.colors
        && colors.len() != n
    {
        return Err(invalid(format!("{} colours for {n} points", colors.len())));
    }
    let mut header = format!(
        "ply\nformat binary_little_endian 1.0\ncomment written by Yakumo\nelement vertex {n}\n"
    );
    header.push_str("property float x\nproperty float y\nproperty float z\n");
    if cloud.normals.is_some() {
        header.push_str("property float nx\nproperty float ny\nproperty float nz\n");
    }
    if cloud.colors.is_some() {
        header.push_str("property uchar red\nproperty uchar green\nproperty uchar blue\n");
    }
    header.push_str("end_header\n");
    write_atomic_with(path, |w| {
        w.write_all(header.as_bytes())?;
        for i in 0..n {
            for v in cloud.positions[i] {
                w.write_all(&v.to_le_bytes())?;
            }
            if let Some(normals) = &cloud.normals {
                for v in normals[i] {
                    w.write_all(&v.to_le_bytes())?;
                }
            }
            if let Some(colors) = &cloud.colors {
                w.write_all(&colors[i])?;
            }
        }
        Ok(())
    })
    .map_err(|source| PlyError::Io {
        path: path.to_owned(),
        source,
    })
}

/// Reads the points (and normals and colours, when present) of the PLY file at `path`.
pub fn read_ply(path: &Path) -> Result<PointCloud, PlyError> {
    let bytes = std::fs::read(path).map_err(|source| PlyError::Io {
        path: path.to_owned(),
        source,
    })?;
    parse_ply(&bytes).map_err(|message| PlyError::Format {
        path: path.to_owned(),
        message,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Ascii,
    BinaryLe,
    BinaryBe,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Scalar {
    I8,
    U8,
    I16,
    U16,
    I32,
    U32,
    F32,
    F64,
}

impl Scalar {
    fn parse(name: &str) -> Option<Scalar> {
        Some(match name {
            "char" | "int8" => Scalar::I8,
            "uchar" | "uint8" => Scalar::U8,
            "short" | "int16" => Scalar::I16,
            "ushort" | "uint16" => Scalar::U16,
            "int" | "int32" => Scalar::I32,
            "uint" | "uint32" => Scalar::U32,
            "float" | "float32" => Scalar::F32,
            "double" | "float64" => Scalar::F64,
            _ => return None,
        })
    }

    fn size(self) -> usize {
        match self {
            Scalar::I8 | Scalar::U8 => 1,
            Scalar::I16 | Scalar::U16 => 2,
            Scalar::I32 | Scalar::U32 | Scalar::F32 => 4,
            Scalar::F64 => 8,
        }
    }

    fn decode(self, b: &[u8], big_endian: bool) -> f64 {
        macro_rules! num {
            ($t:ty, $n:expr) => {{
                let a: [u8; $n] = b[..$n].try_into().expect("slice length checked by caller");
                (if big_endian {
                    <$t>::from_be_bytes(a)
                } else {
                    <$t>::from_le_bytes(a)
                }) as f64
            }};
        }
        match self {
            Scalar::I8 => b[0] as i8 as f64,
            Scalar::U8 => b[0] as f64,
            Scalar::I16 => num!(i16, 2),
            Scalar::U16 => num!(u16, 2),
            Scalar::I32 => num!(i32, 4),
            Scalar::U32 => num!(u32, 4),
            Scalar::F32 => num!(f32, 4),
            Scalar::F64 => num!(f64, 8),
        }
    }
}

#[derive(Debug, Clone)]
enum Property {
    Scalar { ty: Scalar, name: String },
    List { count: Scalar, item: Scalar },
}

#[derive(Debug, Clone)]
struct Element {
    name: String,
    count: u64,
    properties: Vec<Property>,
}

impl Element {
    /// Smallest possible binary size of one record (lists counted as empty).
    fn min_record_bytes(&self) -> usize {
        self.properties
            .iter()
            .map(|p| match p {
                Property::Scalar { ty, .. } => ty.size(),
                Property::List { count, .. } => count.size(),
            })
            .sum()
    }
}

struct Header {
    encoding: Encoding,
    elements: Vec<Element>,
    body_start: usize,
}

fn parse_header(bytes: &[u8]) -> Result<Header, String> {
    if !bytes.starts_with(b"ply\n") && !bytes.starts_with(b"ply\r\n") {
        return Err("not a PLY file (does not start with \"ply\")".into());
    }
    let search = &bytes[..bytes.len().min(MAX_HEADER_BYTES)];
    let end = find(search, b"end_header")
        .ok_or_else(|| format!("no \"end_header\" line in the first {MAX_HEADER_BYTES} bytes"))?;
    let newline = bytes[end..]
        .iter()
        .position(|&b| b == b'\n')
        .ok_or("header ends without a newline")?;
    let body_start = end + newline + 1;
    let text = std::str::from_utf8(&bytes[..end]).map_err(|_| "header is not text".to_string())?;
    let mut encoding = None;
    let mut elements: Vec<Element> = Vec::new();
    for (line_no, line) in text.lines().enumerate().skip(1) {
        let words: Vec<&str> = line.split_ascii_whitespace().collect();
        let bad = |what: &str| format!("header line {}: {what}: {line:?}", line_no + 1);
        match words.as_slice() {
            [] | ["comment", ..] | ["obj_info", ..] => {}
            ["format", fmt, _version] => {
                encoding = Some(match *fmt {
                    "ascii" => Encoding::Ascii,
                    "binary_little_endian" => Encoding::BinaryLe,
                    "binary_big_endian" => Encoding::BinaryBe,
                    _ => return Err(bad("unknown format")),
                });
            }
            ["element", name, count] => elements.push(Element {
                name: name.to_string(),
                count: count.parse().map_err(|_| bad("bad element count"))?,
                properties: Vec::new(),
            }),
            ["property", "list", count, item, _name] => {
                let count = Scalar::parse(count).ok_or_else(|| bad("unknown list count type"))?;
                let item = Scalar::parse(item).ok_or_else(|| bad("unknown list item type"))?;
                if matches!(count, Scalar::F32 | Scalar::F64) {
                    return Err(bad("list count type must be an integer"));
                }
                elements
                    .last_mut()
                    .ok_or_else(|| bad("property before any element"))?
                    .properties
                    .push(Property::List { count, item });
            }
            ["property", ty, name] => {
                let ty = Scalar::parse(ty).ok_or_else(|| bad("unknown property type"))?;
                elements
                    .last_mut()
                    .ok_or_else(|| bad("property before any element"))?
                    .properties
                    .push(Property::Scalar {
                        ty,
                        name: name.to_string(),
                    });
            }
            _ => return Err(bad("unrecognised header line")),
        }
    }
    let encoding = encoding.ok_or("header has no \"format\" line")?;
    Ok(Header {
        encoding,
        elements,
        body_start,
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Where each wanted vertex property sits in a record (index into the element's properties).
struct Slots {
    position: [usize; 3],
    normal: Option<[usize; 3]>,
    color: Option<([usize; 3], Scalar)>,
}

fn find_slots(vertex: &Element) -> Result<Slots, String> {
    let index = |names: &[&str]| {
        vertex.properties.iter().position(
            |p| matches!(p, Property::Scalar { name, .. } if names.contains(&name.as_str())),
        )
    };
    let triple = |a: &[&str], b: &[&str], c: &[&str]| Some([index(a)?, index(b)?, index(c)?]);
    let position = triple(&["x"], &["y"], &["z"]).ok_or("vertex element lacks x, y or z")?;
    let normal = triple(&["nx"], &["ny"], &["nz"]);
    let color = triple(
        &["red", "diffuse_red"],
        &["green", "diffuse_green"],
        &["blue", "diffuse_blue"],
    )
    .map(|slots| {
        let ty = match &vertex.properties[slots[0]] {
            Property::Scalar { ty, .. } => *ty,
            Property::List { .. } => unreachable!("index() only matches scalar properties"),
        };
        (slots, ty)
    });
    Ok(Slots {
        position,
        normal,
        color,
    })
}

/// Converts a colour value of type `ty` to 8 bits (floats are taken as 0..1, 16-bit as 0..65535).
fn color_to_u8(v: f64, ty: Scalar) -> u8 {
    let scaled = match ty {
        Scalar::F32 | Scalar::F64 => v * 255.0,
        Scalar::U16 | Scalar::I16 => v / 257.0,
        _ => v,
    };
    scaled.round().clamp(0.0, 255.0) as u8
}

/// Reads the values of one record, calling `keep(property index, value)` for scalars.
trait RecordSource {
    fn record(&mut self, element: &Element, keep: &mut dyn FnMut(usize, f64))
    -> Result<(), String>;
}

struct BinarySource<'a> {
    bytes: &'a [u8],
    pos: usize,
    big_endian: bool,
}

impl BinarySource<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| {
                format!(
                    "data ends early: needed {n} bytes at byte {} of {}",
                    self.pos,
                    self.bytes.len()
                )
            })?;
        let slice = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(slice)
    }
}

impl RecordSource for BinarySource<'_> {
    fn record(
        &mut self,
        element: &Element,
        keep: &mut dyn FnMut(usize, f64),
    ) -> Result<(), String> {
        let big = self.big_endian;
        for (i, prop) in element.properties.iter().enumerate() {
            match prop {
                Property::Scalar { ty, .. } => {
                    let v = ty.decode(self.take(ty.size())?, big);
                    keep(i, v);
                }
                Property::List { count, item } => {
                    let n = count.decode(self.take(count.size())?, big);
                    if !(0.0..=u32::MAX as f64).contains(&n) {
                        return Err(format!(
                            "list length {n} in element {:?} is invalid",
                            element.name
                        ));
                    }
                    let len = (n as usize)
                        .checked_mul(item.size())
                        .ok_or("list too long")?;
                    self.take(len)?;
                }
            }
        }
        Ok(())
    }
}

struct AsciiSource<'a> {
    tokens: std::str::SplitAsciiWhitespace<'a>,
}

impl AsciiSource<'_> {
    fn next_number(&mut self, element: &Element) -> Result<f64, String> {
        let token = self
            .tokens
            .next()
            .ok_or_else(|| format!("data ends early inside element {:?}", element.name))?;
        token
            .parse::<f64>()
            .map_err(|_| format!("{token:?} in element {:?} is not a number", element.name))
    }
}

impl RecordSource for AsciiSource<'_> {
    fn record(
        &mut self,
        element: &Element,
        keep: &mut dyn FnMut(usize, f64),
    ) -> Result<(), String> {
        for (i, prop) in element.properties.iter().enumerate() {
            match prop {
                Property::Scalar { .. } => {
                    let v = self.next_number(element)?;
                    keep(i, v);
                }
                Property::List { .. } => {
                    let n = self.next_number(element)?;
                    if !(0.0..=u32::MAX as f64).contains(&n) || n.fract() != 0.0 {
                        return Err(format!(
                            "list length {n} in element {:?} is invalid",
                            element.name
                        ));
                    }
                    for _ in 0..n as u64 {
                        self.next_number(element)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn parse_ply(bytes: &[u8]) -> Result<PointCloud, String> {
    let header = parse_header(bytes)?;
    let body = &bytes[header.body_start..];
    let vertex_at = header
        .elements
        .iter()
        .position(|e| e.name == "vertex")
        .ok_or("no \"vertex\" element")?;
    let vertex = &header.elements[vertex_at];
    let slots = find_slots(vertex)?;
    // Every record takes at least this many bytes (binary) or two bytes per value (ascii).
    let min_bytes = match header.encoding {
        Encoding::Ascii => 2 * vertex.properties.len(),
        _ => vertex.min_record_bytes(),
    }
    .max(1) as u64;
    if vertex.count.saturating_mul(min_bytes) > body.len() as u64 {
        return Err(format!(
            "header declares {} vertices (at least {} bytes) but only {} bytes of data follow the header",
            vertex.count,
            vertex.count.saturating_mul(min_bytes),
            body.len()
        ));
    }
    let text;
    let mut source: Box<dyn RecordSource> = match header.encoding {
        Encoding::Ascii => {
            text = std::str::from_utf8(body).map_err(|_| "ascii data is not text".to_string())?;
            Box::new(AsciiSource {
                tokens: text.split_ascii_whitespace(),
            })
        }
        enc => Box::new(BinarySource {
            bytes: body,
            pos: 0,
            big_endian: enc == Encoding::BinaryBe,
        }),
    };
    for element in &header.elements[..vertex_at] {
        for _ in 0..element.count {
            source.record(element, &mut |_, _| {})?;
        }
    }
    let n = vertex.count as usize;
    let mut positions = Vec::with_capacity(n);
    let mut normals = slots.normal.map(|_| Vec::with_capacity(n));
    let mut colors = slots.color.map(|_| Vec::with_capacity(n));
    let mut values = vec![0.0f64; vertex.properties.len()];
    for _ in 0..n {
        source.record(vertex, &mut |i, v| values[i] = v)?;
        positions.push(slots.position.map(|i| values[i] as f32));
        if let (Some(out), Some(s)) = (normals.as_mut(), slots.normal) {
            out.push(s.map(|i| values[i] as f32));
        }
        if let (Some(out), Some((s, ty))) = (colors.as_mut(), slots.color) {
            out.push(s.map(|i| color_to_u8(values[i], ty)));
        }
    }
    Ok(PointCloud {
        positions,
        normals,
        colors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(n: usize) -> PointCloud {
        PointCloud {
            positions: (0..n)
                .map(|i| [i as f32 * 0.5, -(i as f32), 1e-3 * i as f32])
                .collect(),
            normals: Some(
                (0..n)
                    .map(|i| [0.0, (i % 2) as f32, 1.0 - (i % 2) as f32])
                    .collect(),
            ),
            colors: Some((0..n).map(|i| [i as u8, 255 - i as u8, 7]).collect()),
        }
    }

    #[test]
    fn round_trip_with_and_without_attributes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("points.ply");
        for cloud in [
            sample(5),
            PointCloud {
                normals: None,
                ..sample(3)
            },
            PointCloud {
                colors: None,
                ..sample(4)
            },
            PointCloud::default(),
        ] {
            write_ply(&path, &cloud).unwrap();
            assert_eq!(read_ply(&path).unwrap(), cloud);
        }
    }

    #[test]
    fn writing_mismatched_lengths_fails_without_creating_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.ply");
        let cloud = PointCloud {
            colors: Some(vec![[0; 3]]),
            ..sample(2)
        };
        let err = write_ply(&path, &cloud).unwrap_err().to_string();
        assert!(
            err.contains("bad.ply") && err.contains("1 colours for 2 points"),
            "{err}"
        );
        assert!(!path.exists());
    }

    /// A file laid out the way mesh tools write it: double positions, float colours, a comment,
    /// an unknown property and a face element with lists.
    #[test]
    fn reads_foreign_binary_file_with_extra_elements() {
        let header = "ply\r\nformat binary_little_endian 1.0\r\ncomment made by hand\r\n\
            element vertex 2\r\nproperty double x\r\nproperty double y\r\nproperty double z\r\n\
            property float quality\r\nproperty float red\r\nproperty float green\r\nproperty float blue\r\n\
            element face 1\r\nproperty list uchar int vertex_indices\r\nend_header\r\n";
        let mut bytes = header.as_bytes().to_vec();
        for (p, q, c) in [
            ([1.0f64, 2.0, 3.0], 0.5f32, [1.0f32, 0.0, 0.5]),
            ([-4.0, 5.5, 6.25], 0.1, [0.2, 0.4, 0.6]),
        ] {
            p.iter().for_each(|v| bytes.extend(v.to_le_bytes()));
            bytes.extend(q.to_le_bytes());
            c.iter().for_each(|v| bytes.extend(v.to_le_bytes()));
        }
        bytes.push(3);
        [0i32, 1, 1]
            .iter()
            .for_each(|v| bytes.extend(v.to_le_bytes()));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("foreign.ply");
        std::fs::write(&path, &bytes).unwrap();
        let cloud = read_ply(&path).unwrap();
        assert_eq!(cloud.positions, vec![[1.0, 2.0, 3.0], [-4.0, 5.5, 6.25]]);
        assert_eq!(cloud.normals, None);
        assert_eq!(cloud.colors, Some(vec![[255, 0, 128], [51, 102, 153]]));
    }

    #[test]
    fn reads_big_endian_after_a_preceding_element() {
        let header = "ply\nformat binary_big_endian 1.0\nelement camera 1\nproperty list uchar float k\n\
            element vertex 1\nproperty short x\nproperty int y\nproperty float z\nproperty uchar red\n\
            property uchar green\nproperty uchar blue\nproperty float nx\nproperty float ny\nproperty float nz\nend_header\n";
        let mut bytes = header.as_bytes().to_vec();
        bytes.push(2);
        bytes.extend(1.5f32.to_be_bytes());
        bytes.extend(2.5f32.to_be_bytes());
        bytes.extend((-7i16).to_be_bytes());
        bytes.extend(70000i32.to_be_bytes());
        bytes.extend(0.25f32.to_be_bytes());
        bytes.extend([9, 8, 7]);
        [0.0f32, 0.6, 0.8]
            .iter()
            .for_each(|v| bytes.extend(v.to_be_bytes()));
        let cloud = parse_ply(&bytes).unwrap();
        assert_eq!(cloud.positions, vec![[-7.0, 70000.0, 0.25]]);
        assert_eq!(cloud.colors, Some(vec![[9, 8, 7]]));
        assert_eq!(cloud.normals, Some(vec![[0.0, 0.6, 0.8]]));
    }

    #[test]
    fn reads_ascii() {
        let text = "ply\nformat ascii 1.0\nelement vertex 2\nproperty float x\nproperty float y\n\
            property float z\nproperty int flags\nend_header\n0 1 2 99\n-1.5 2e-1 3 7\n";
        let cloud = parse_ply(text.as_bytes()).unwrap();
        assert_eq!(cloud.positions, vec![[0.0, 1.0, 2.0], [-1.5, 0.2, 3.0]]);
        assert!(cloud.colors.is_none() && cloud.normals.is_none());
    }

    #[test]
    fn rejects_bad_files_with_clear_errors() {
        let cases: [(&[u8], &str); 6] = [
            (b"PLY\n", "not a PLY file"),
            (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\n", "end_header"),
            (b"ply\nformat binary_little_endian 1.0\nelement vertex 1000000000000\nproperty float x\nproperty float y\nproperty float z\nend_header\n\0\0\0\0", "declares 1000000000000 vertices"),
            (b"ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty float x\nproperty float y\nend_header\n00000000", "lacks x, y or z"),
            (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nproperty float y\nproperty float z\nend_header\n1 2 zz\n", "\"zz\""),
            (b"ply\nformat ascii 1.0\nelement vertex 1\nproperty quaternion x\nend_header\n", "unknown property type"),
        ];
        for (bytes, expected) in cases {
            let err = parse_ply(bytes).unwrap_err();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short.ply");
        let mut bytes = b"ply\nformat binary_little_endian 1.0\nelement vertex 2\nproperty float x\nproperty float y\nproperty float z\nend_header\n".to_vec();
        bytes.extend([0u8; 20]);
        std::fs::write(&path, &bytes).unwrap();
        let err = read_ply(&path).unwrap_err().to_string();
        assert!(
            err.contains("short.ply") && err.contains("declares 2 vertices"),
            "{err}"
        );
    }
}
