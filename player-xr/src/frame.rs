//! One clip frame's point attributes in GPU buffers, uploaded once and drawn from any views.

use thiserror::Error;
use yakumo_core::clip::FramePoints;
use yakumo_core::render_ref::sh_degree;
use yakumo_core::sh;

/// A frame that cannot be uploaded.
#[derive(Debug, Error)]
pub enum FrameError {
    /// Attribute arrays disagree in length.
    #[error("frame attribute arrays disagree: {0}")]
    Inconsistent(String),
    /// More points than the renderer can address in one dispatch.
    #[error("frame has {0} points; the player supports at most {MAX_POINTS}")]
    TooManyPoints(usize),
}

/// Most points per frame (a 2-D dispatch of 256-wide workgroups).
pub const MAX_POINTS: usize = 65_535 * 256 * 16;

/// GPU buffers holding one frame: positions + radii, base colours + densities, SH residuals.
#[derive(Debug)]
pub struct GpuFrame {
    pub(crate) points: wgpu::Buffer,
    pub(crate) base: wgpu::Buffer,
    pub(crate) sh_rest: wgpu::Buffer,
    count: u32,
    sh_coeffs: u32,
    capacity: u64,
    sh_capacity: u64,
}

fn storage(device: &wgpu::Device, label: &str, size: u64) -> wgpu::Buffer {
    device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size: size.max(16),
        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

/// Checks a frame's array lengths and returns its SH degree.
pub fn validate(frame: &FramePoints) -> Result<u32, FrameError> {
    let n = frame.positions.len();
    if frame.radii.len() != n || frame.densities.len() != n || frame.colors.len() != n {
        return Err(FrameError::Inconsistent(format!(
            "{n} positions, {} radii, {} densities, {} colours",
            frame.radii.len(),
            frame.densities.len(),
            frame.colors.len()
        )));
    }
    if n > MAX_POINTS {
        return Err(FrameError::TooManyPoints(n));
    }
    sh_degree(frame).ok_or_else(|| {
        FrameError::Inconsistent(format!(
            "{} SH values for {n} points fit no degree ≤ {}",
            frame.sh_rest.len(),
            sh::MAX_DEGREE
        ))
    })
}

impl GpuFrame {
    /// Uploads `frame` into new buffers.
    pub fn new(
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        frame: &FramePoints,
    ) -> Result<Self, FrameError> {
        let mut f = GpuFrame {
            points: storage(device, "points", 0),
            base: storage(device, "base", 0),
            sh_rest: storage(device, "sh_rest", 0),
            count: 0,
            sh_coeffs: 0,
            capacity: 0,
            sh_capacity: 0,
        };
        f.upload(device, queue, frame)?;
        Ok(f)
    }

    /// Replaces the contents with `frame`, reusing the buffers when they are large enough.
    pub fn upload(
        &mut self,
        device: &wgpu::Device,
        queue: &wgpu::Queue,
        frame: &FramePoints,
    ) -> Result<(), FrameError> {
        let degree = validate(frame)?;
        let n = frame.positions.len();
        let points: Vec<[f32; 4]> = frame
            .positions
            .iter()
            .zip(&frame.radii)
            .map(|(p, r)| [p[0], p[1], p[2], *r])
            .collect();
        let base: Vec<[f32; 4]> = frame
            .colors
            .iter()
            .zip(&frame.densities)
            .map(|(c, d)| [c[0], c[1], c[2], *d])
            .collect();
        let bytes = (n * 16) as u64;
        if bytes > self.capacity {
            let cap = bytes + bytes / 4;
            self.points = storage(device, "points", cap);
            self.base = storage(device, "base", cap);
            self.capacity = cap;
        }
        let sh_bytes = (frame.sh_rest.len() * 4) as u64;
        if sh_bytes > self.sh_capacity {
            let cap = sh_bytes + sh_bytes / 4;
            self.sh_rest = storage(device, "sh_rest", cap);
            self.sh_capacity = cap;
        }
        queue.write_buffer(&self.points, 0, bytemuck::cast_slice(&points));
        queue.write_buffer(&self.base, 0, bytemuck::cast_slice(&base));
        if !frame.sh_rest.is_empty() {
            queue.write_buffer(&self.sh_rest, 0, bytemuck::cast_slice(&frame.sh_rest));
        }
        self.count = n as u32;
        self.sh_coeffs = (sh::coeff_count(degree) - 1) as u32;
        Ok(())
    }

    /// Number of points.
    pub fn len(&self) -> u32 {
        self.count
    }

    /// True when the frame has no points.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// SH coefficients per colour channel, DC excluded (0, 3, 8 or 15).
    pub fn sh_coeffs(&self) -> u32 {
        self.sh_coeffs
    }
}

/// Workgroup counts `(x, y)` covering `n` items with 256-wide workgroups.
pub(crate) fn dispatch_size(n: u32) -> (u32, u32) {
    let groups = n.div_ceil(256).max(1);
    if groups <= 65_535 {
        (groups, 1)
    } else {
        (65_535, groups.div_ceil(65_535))
    }
}
