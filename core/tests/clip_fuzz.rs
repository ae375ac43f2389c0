//! Damaged `.yk4d` files: the reader must answer `Ok` or `Err`, never panic, and never allocate
//! more than a small multiple of the file size, whatever sizes the damaged header and index claim.

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::Cursor;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use proptest::prelude::*;
use yakumo_core::clip::{
    ClipHeaderParams, ClipReader, ClipWriter, FramePoints, HEADER_LEN, INDEX_ENTRY_LEN,
};

/// Records the largest single allocation made by this test binary.
struct PeakAlloc;

static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for PeakAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LARGEST.fetch_max(new_size, Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: PeakAlloc = PeakAlloc;

/// No allocation may exceed this; the valid files are a few kilobytes.
const ALLOCATION_LIMIT: usize = 8 << 20;

fn frame(n: usize, sh_degree: u32, seed: f32) -> FramePoints {
    let per = FramePoints::sh_rest_per_point(sh_degree);
    let t = |i: usize| seed + i as f32 * 0.37;
    FramePoints {
        positions: (0..n)
            .map(|i| [t(i).sin(), t(i).cos() + 1.0, 0.1 * t(i)])
            .collect(),
        radii: (0..n).map(|i| 0.004 + 0.001 * t(i).sin()).collect(),
        densities: (0..n).map(|i| 0.9 + 0.1 * t(i).cos()).collect(),
        colors: (0..n).map(|i| [0.5, 0.5 + 0.3 * t(i).sin(), 0.2]).collect(),
        sh_rest: (0..n * per)
            .map(|i| 0.05 * (i as f32 * 0.3 + seed).sin())
            .collect(),
    }
}

/// Two valid clips: SH degree 0 with an empty frame, and SH degree 3.
fn valid_files() -> &'static [Vec<u8>; 2] {
    static FILES: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let make = |name: &str, sh_degree: u32, frames: &[FramePoints]| {
            let path = dir.path().join(name);
            let params = ClipHeaderParams::new(30.0, sh_degree, frames.len() as u32);
            let mut w = ClipWriter::create(&path, params).unwrap();
            frames.iter().for_each(|f| w.write_frame(f).unwrap());
            w.finish().unwrap();
            std::fs::read(&path).unwrap()
        };
        [
            make(
                "a.yk4d",
                0,
                &[frame(20, 0, 0.0), FramePoints::default(), frame(7, 0, 1.0)],
            ),
            make("b.yk4d", 3, &[frame(12, 3, 2.0), frame(30, 3, 3.0)]),
        ]
    })
}

#[derive(Debug, Clone)]
enum Damage {
    /// XOR bytes at positions (taken modulo the file length).
    Flip(Vec<(usize, u8)>),
    /// Keep only this many bytes (modulo the file length).
    Truncate(usize),
    /// Write an extreme little-endian value of `width` bytes over a header or index field.
    Field { at: usize, width: usize, value: u64 },
    /// Overwrite a run of bytes anywhere.
    Splat { at: usize, bytes: Vec<u8> },
    /// Raise the header's maximum point count and one frame's point count together, so the
    /// claim passes the index checks and only the chunk itself can refute it.
    ClaimPoints { frame: usize, count: u32 },
}

/// Byte offset and width of every header field and of the fields of the first three entries.
fn fields() -> Vec<(usize, usize)> {
    let mut f = vec![(4, 4), (8, 4), (12, 4), (16, 4), (20, 4), (24, 8)];
    f.extend((32..40).map(|at| (at, 1)));
    f.extend((40..64).step_by(4).map(|at| (at, 4)));
    for e in 0..3 {
        let base = HEADER_LEN + e * INDEX_ENTRY_LEN;
        f.extend([(base, 8), (base + 8, 4), (base + 12, 4)]);
        f.extend((16..40).step_by(4).map(|o| (base + o, 4)));
    }
    f
}

fn damage() -> impl Strategy<Value = Damage> {
    let extreme = prop_oneof![
        Just(u64::MAX),
        Just(u32::MAX as u64),
        Just(1u64 << 31),
        Just(16_000_000),
        Just(1_000_000),
        Just(0),
        Just(1),
        any::<u64>(),
    ];
    let fields = fields();
    prop_oneof![
        prop::collection::vec((any::<usize>(), 1u8..), 1..8).prop_map(Damage::Flip),
        any::<usize>().prop_map(Damage::Truncate),
        (prop::sample::select(fields), extreme).prop_map(|((at, width), value)| Damage::Field {
            at,
            width,
            value
        }),
        (
            0usize..3,
            prop_oneof![Just(16_000_000u32), Just(1_000_000), 1u32..16_000_000]
        )
            .prop_map(|(frame, count)| Damage::ClaimPoints { frame, count }),
        (any::<usize>(), prop::collection::vec(any::<u8>(), 1..32))
            .prop_map(|(at, bytes)| Damage::Splat { at, bytes }),
    ]
}

fn apply(damage: &Damage, file: &[u8]) -> Vec<u8> {
    let mut b = file.to_vec();
    let len = b.len();
    if len < HEADER_LEN + INDEX_ENTRY_LEN {
        return b; // an earlier truncation already broke it; nothing to aim at
    }
    match damage {
        Damage::Flip(flips) => flips.iter().for_each(|(at, mask)| b[at % len] ^= mask),
        Damage::Truncate(keep) => b.truncate(keep % len),
        Damage::Field { at, width, value } => {
            let at = (*at).min(len - width);
            b[at..at + width].copy_from_slice(&value.to_le_bytes()[..*width]);
        }
        Damage::Splat { at, bytes } => {
            let at = at % len;
            let n = bytes.len().min(len - at);
            b[at..at + n].copy_from_slice(&bytes[..n]);
        }
        Damage::ClaimPoints { frame, count } => {
            b[20..24].copy_from_slice(&count.to_le_bytes());
            let at = (HEADER_LEN + frame * INDEX_ENTRY_LEN + 12).min(len - 4);
            b[at..at + 4].copy_from_slice(&count.to_le_bytes());
        }
    }
    b
}

/// Opens the damaged bytes and reads every frame; whatever decodes must be self-consistent.
fn read_everything(bytes: Vec<u8>) -> Result<(), String> {
    let Ok(mut reader) = ClipReader::from_source(Cursor::new(bytes), "fuzz.yk4d") else {
        return Ok(());
    };
    let sh_degree = reader.info().sh_degree;
    for i in 0..reader.frame_count() {
        let expected = reader.frames()[i].point_count as usize;
        match reader.read_frame(i) {
            Ok(f) if f.len() != expected => {
                return Err(format!(
                    "frame {i} has {} points, index says {expected}",
                    f.len()
                ));
            }
            Ok(f) => f
                .validate(sh_degree)
                .map_err(|e| format!("frame {i}: {e}"))?,
            Err(e) => assert!(e.to_string().starts_with("fuzz.yk4d: "), "{e}"),
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_clips_never_panic_or_overallocate(
        which in 0usize..2,
        damages in prop::collection::vec(damage(), 1..4),
    ) {
        let bytes = damages.iter().fold(valid_files()[which].clone(), |b, d| apply(d, &b));
        read_everything(bytes).map_err(TestCaseError::fail)?;
        let largest = LARGEST.load(Ordering::Relaxed);
        prop_assert!(largest < ALLOCATION_LIMIT, "an allocation of {} bytes was made", largest);
    }
}

#[test]
fn undamaged_files_read_back() {
    for file in valid_files() {
        let mut reader = ClipReader::from_source(Cursor::new(file.clone()), "ok.yk4d").unwrap();
        for i in 0..reader.frame_count() {
            reader.read_frame(i).unwrap();
        }
    }
}
