//! Checkpoints: model parameters, optimizer states, RNG state and iteration in one file, written
//! atomically so a crash never leaves a torn checkpoint. Resuming from one continues the run
//! exactly where it stopped.
//!
//! Layout: magic `YKCK`, u32 version, u64 header length, a JSON [`CheckpointHeader`], then the
//! blobs it lists (each with its length and FNV-1a hash, checked before anything is decoded).

use std::io::Write;
use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::record::{BinBytesRecorder, FullPrecisionSettings, Recorder};
use burn::tensor::backend::AutodiffBackend;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use yakumo_core::fsutil::write_atomic_with;

use super::optim::Optimizers;
use crate::model::{Model, ModelSpec};

/// File name of the checkpoint inside a run directory.
pub const CHECKPOINT_FILE: &str = "checkpoint.bin";
const MAGIC: [u8; 4] = *b"YKCK";
const VERSION: u32 = 1;
/// Largest header accepted when reading.
const MAX_HEADER: u64 = 1 << 20;

/// Errors of checkpoint reading and writing; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The checkpoint.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is damaged or not a checkpoint of this model.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The checkpoint.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// The RNG's position in its stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RngState {
    /// ChaCha seed.
    pub seed: [u8; 32],
    /// Stream number.
    pub stream: u64,
    /// Word position (as a decimal string: JSON numbers cannot hold a u128).
    pub word_pos: String,
}

impl RngState {
    /// Captures `rng`.
    pub fn capture(rng: &ChaCha8Rng) -> RngState {
        RngState {
            seed: rng.get_seed(),
            stream: rng.get_stream(),
            word_pos: rng.get_word_pos().to_string(),
        }
    }

    /// Rebuilds the RNG.
    pub fn restore(&self) -> Result<ChaCha8Rng, String> {
        use rand::SeedableRng;
        let pos: u128 = self
            .word_pos
            .parse()
            .map_err(|_| format!("bad RNG position {}", self.word_pos))?;
        let mut rng = ChaCha8Rng::from_seed(self.seed);
        rng.set_stream(self.stream);
        rng.set_word_pos(pos);
        Ok(rng)
    }
}

/// Everything besides the tensors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainState {
    /// Iterations done.
    pub iteration: u64,
    /// The sampling RNG.
    pub rng: RngState,
    /// Training seconds so far (over all sessions).
    pub seconds: f64,
}

#[derive(Debug, Serialize, Deserialize)]
struct BlobInfo {
    name: String,
    len: u64,
    fnv: u64,
}

/// The JSON header of a checkpoint file.
#[derive(Debug, Serialize, Deserialize)]
struct CheckpointHeader {
    state: TrainState,
    blobs: Vec<BlobInfo>,
}

const BLOB_NAMES: [&str; 6] = [
    "model",
    "adam.positions",
    "adam.grid",
    "adam.geometry",
    "adam.blend",
    "adam.sh",
];

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// Writes the checkpoint of `model`, `optim` and `state` to `path` atomically.
pub fn save<B: AutodiffBackend>(
    path: &Path,
    model: &Model<B>,
    optim: &Optimizers<B>,
    state: &TrainState,
) -> Result<(), CheckpointError> {
    let invalid = |message: String| CheckpointError::Invalid {
        path: path.to_owned(),
        message,
    };
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let model_bytes = Recorder::<B>::record(&recorder, model.clone().into_record(), ())
        .map_err(|e| invalid(e.to_string()))?;
    let mut blobs = vec![model_bytes];
    blobs.extend(optim.to_bytes().map_err(invalid)?);
    let header = CheckpointHeader {
        state: state.clone(),
        blobs: blobs
            .iter()
            .zip(BLOB_NAMES)
            .map(|(b, name)| BlobInfo {
                name: name.into(),
                len: b.len() as u64,
                fnv: fnv1a(b),
            })
            .collect(),
    };
    let json = serde_json::to_vec(&header).map_err(|e| invalid(e.to_string()))?;
    write_atomic_with(path, |w| {
        w.write_all(&MAGIC)?;
        w.write_all(&VERSION.to_le_bytes())?;
        w.write_all(&(json.len() as u64).to_le_bytes())?;
        w.write_all(&json)?;
        for b in &blobs {
            w.write_all(b)?;
        }
        Ok(())
    })
    .map_err(|source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    })
}

/// A loaded checkpoint.
pub struct Checkpoint<B: AutodiffBackend> {
    /// The model.
    pub model: Model<B>,
    /// The optimizers.
    pub optim: Optimizers<B>,
    /// Iteration, RNG and time.
    pub state: TrainState,
}

/// Reads the checkpoint at `path` for a model described by `spec`.
pub fn load<B: AutodiffBackend>(
    path: &Path,
    spec: &ModelSpec,
    device: &B::Device,
) -> Result<Checkpoint<B>, CheckpointError> {
    let invalid = |message: String| CheckpointError::Invalid {
        path: path.to_owned(),
        message,
    };
    let bytes = std::fs::read(path).map_err(|source| CheckpointError::Io {
        path: path.to_owned(),
        source,
    })?;
    if bytes.len() < 16 || bytes[..4] != MAGIC {
        return Err(invalid("not a Yakumo checkpoint (bad magic)".into()));
    }
    let version = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(invalid(format!(
            "checkpoint version {version}, expected {VERSION}"
        )));
    }
    let header_len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    if header_len > MAX_HEADER || 16 + header_len > bytes.len() as u64 {
        return Err(invalid(format!(
            "header length {header_len} does not fit the file"
        )));
    }
    let end = 16 + header_len as usize;
    let header: CheckpointHeader =
        serde_json::from_slice(&bytes[16..end]).map_err(|e| invalid(format!("bad header: {e}")))?;
    if header.blobs.len() != BLOB_NAMES.len() {
        return Err(invalid(format!(
            "{} blobs, expected {}",
            header.blobs.len(),
            BLOB_NAMES.len()
        )));
    }
    let mut offset = end;
    let mut blobs = Vec::new();
    for info in &header.blobs {
        let stop = (offset as u64)
            .checked_add(info.len)
            .filter(|&s| s <= bytes.len() as u64);
        let Some(stop) = stop else {
            return Err(invalid(format!(
                "blob {} runs past the end of the file",
                info.name
            )));
        };
        let blob = &bytes[offset..stop as usize];
        if fnv1a(blob) != info.fnv {
            return Err(invalid(format!(
                "blob {} is damaged (checksum mismatch)",
                info.name
            )));
        }
        blobs.push(blob.to_vec());
        offset = stop as usize;
    }
    let zeros = vec![vec![[0.0f32; 3]; spec.points]; spec.frames];
    let recorder = BinBytesRecorder::<FullPrecisionSettings>::default();
    let record = Recorder::<B>::load(&recorder, blobs[0].clone(), device)
        .map_err(|e| invalid(format!("model: {e}")))?;
    let model = Model::<B>::new(spec, &zeros, 0, device).load_record(record);
    let optim = Optimizers::from_bytes(&blobs[1..], device).map_err(invalid)?;
    Ok(Checkpoint {
        model,
        optim,
        state: header.state,
    })
}
