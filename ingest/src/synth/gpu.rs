//! Offscreen wgpu renderer of textured triangle meshes: one pipeline (Lambert + ambient from a
//! fixed world light, trilinear texture-array sampling), a depth buffer, and two colour
//! targets read back to the CPU: the image (RGBA8) and the subject mask (0/255).

use super::error::SynthError;
use super::mesh::{Mesh, Vertex};
use super::scene;
use super::texture::MipImage;
use glam::{DMat4, DVec4};
use wgpu::util::DeviceExt;
use yakumo_core::Camera;

const SHADER: &str = r#"
struct Globals {
    view_proj: mat4x4<f32>,
    light_dir: vec4<f32>,
    light: vec4<f32>,
};
@group(0) @binding(0) var<uniform> globals: Globals;
@group(1) @binding(0) var albedo: texture_2d_array<f32>;
@group(1) @binding(1) var albedo_sampler: sampler;

struct VertexIn {
    @location(0) pos: vec3<f32>,
    @location(1) normal: vec3<f32>,
    @location(2) uv: vec2<f32>,
    @location(3) layer_subject: vec2<u32>,
};
struct VertexOut {
    @builtin(position) clip: vec4<f32>,
    @location(0) normal: vec3<f32>,
    @location(1) uv: vec2<f32>,
    @location(2) @interpolate(flat) layer_subject: vec2<u32>,
};
struct FragmentOut {
    @location(0) colour: vec4<f32>,
    @location(1) mask: vec4<f32>,
};

@vertex
fn vs_main(v: VertexIn) -> VertexOut {
    var out: VertexOut;
    out.clip = globals.view_proj * vec4<f32>(v.pos, 1.0);
    out.normal = v.normal;
    out.uv = v.uv;
    out.layer_subject = v.layer_subject;
    return out;
}

@fragment
fn fs_main(f: VertexOut) -> FragmentOut {
    let base = textureSample(albedo, albedo_sampler, f.uv, f.layer_subject.x).rgb;
    let lambert = max(dot(normalize(f.normal), globals.light_dir.xyz), 0.0);
    let shade = globals.light.x + globals.light.y * lambert;
    var out: FragmentOut;
    out.colour = vec4<f32>(base * shade, 1.0);
    out.mask = vec4<f32>(f32(f.layer_subject.y), 0.0, 0.0, 1.0);
    return out;
}
"#;

const COLOUR_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Rgba8Unorm;
const MASK_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::R8Unorm;
const DEPTH_FORMAT: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
/// Near and far clipping distances in metres.
const NEAR: f64 = 0.05;
const FAR: f64 = 50.0;

/// The GPU device and the one render pipeline.
pub struct Renderer {
    device: wgpu::Device,
    queue: wgpu::Queue,
    pipeline: wgpu::RenderPipeline,
    texture_layout: wgpu::BindGroupLayout,
    globals_buffer: wgpu::Buffer,
    globals_group: wgpu::BindGroup,
    adapter: String,
}

/// A texture array (all layers the same size, full mip chains) bound with its sampler.
pub struct GpuTextures {
    group: wgpu::BindGroup,
}

/// A mesh in GPU buffers.
pub struct GpuMesh {
    vertices: wgpu::Buffer,
    indices: wgpu::Buffer,
    index_count: u32,
}

/// One mesh drawn with one texture array.
#[derive(Clone, Copy)]
pub struct Draw<'a> {
    /// The geometry.
    pub mesh: &'a GpuMesh,
    /// The textures its vertices' layers index.
    pub textures: &'a GpuTextures,
}

/// Render targets and readback buffers of one image size.
pub struct Target {
    width: u32,
    height: u32,
    colour: wgpu::Texture,
    mask: wgpu::Texture,
    depth: wgpu::Texture,
    colour_readback: wgpu::Buffer,
    mask_readback: wgpu::Buffer,
}

/// A rendered image read back to the CPU.
#[derive(Clone, Debug, PartialEq)]
pub struct Frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Row-major RGB8 pixels.
    pub rgb: Vec<u8>,
    /// Row-major subject mask, 0 or 255.
    pub mask: Vec<u8>,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct Globals {
    view_proj: [[f32; 4]; 4],
    light_dir: [f32; 4],
    light: [f32; 4],
}

/// Bytes per row padded to wgpu's copy alignment.
fn padded_row(bytes: u32) -> u32 {
    bytes.div_ceil(wgpu::COPY_BYTES_PER_ROW_ALIGNMENT) * wgpu::COPY_BYTES_PER_ROW_ALIGNMENT
}

/// World → clip matrix of `cam` (its pinhole `K`, `R`, `T`; distortion ignored) for wgpu's
/// clip space: pixel centres at integer OpenCV coordinates, depth 0 at the near plane.
pub fn view_projection(cam: &Camera) -> DMat4 {
    let (w, h) = (cam.width as f64, cam.height as f64);
    let (n, f) = (NEAR, FAR);
    let projection = DMat4::from_cols(
        DVec4::new(2.0 * cam.fx() / w, 0.0, 0.0, 0.0),
        DVec4::new(2.0 * cam.skew() / w, -2.0 * cam.fy() / h, 0.0, 0.0),
        DVec4::new(
            2.0 * (cam.cx() + 0.5) / w - 1.0,
            1.0 - 2.0 * (cam.cy() + 0.5) / h,
            f / (f - n),
            1.0,
        ),
        DVec4::new(0.0, 0.0, -f * n / (f - n), 0.0),
    );
    let view = DMat4::from_cols(
        cam.r.x_axis.extend(0.0),
        cam.r.y_axis.extend(0.0),
        cam.r.z_axis.extend(0.0),
        cam.t.extend(1.0),
    );
    projection * view
}

impl Renderer {
    /// Opens the best available GPU (a real one, else a software Vulkan such as Mesa lavapipe).
    pub fn new() -> Result<Renderer, SynthError> {
        // Vulkan, Metal or DX12 (WGPU_BACKEND overrides); GL needs a display, which this
        // offscreen renderer never has.
        let mut descriptor = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
        descriptor.backends = wgpu::Backends::PRIMARY.with_env();
        let instance = wgpu::Instance::new(descriptor);
        let adapter = pollster::block_on(instance.request_adapter(&wgpu::RequestAdapterOptions {
            power_preference: wgpu::PowerPreference::HighPerformance,
            force_fallback_adapter: false,
            compatible_surface: None,
        }))
        .map_err(|e| SynthError::NoAdapter(e.to_string()))?;
        let info = adapter.get_info();
        let adapter_name = format!("{} ({:?}, {:?})", info.name, info.backend, info.device_type);
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("yakumo synth"),
            required_limits: wgpu::Limits::downlevel_defaults().using_resolution(adapter.limits()),
            ..Default::default()
        }))
        .map_err(|e| SynthError::Gpu(format!("cannot open {adapter_name}: {e}")))?;

        let shader = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("synth shader"),
            source: wgpu::ShaderSource::Wgsl(SHADER.into()),
        });
        let globals_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("globals"),
            entries: &[wgpu::BindGroupLayoutEntry {
                binding: 0,
                visibility: wgpu::ShaderStages::VERTEX_FRAGMENT,
                ty: wgpu::BindingType::Buffer {
                    ty: wgpu::BufferBindingType::Uniform,
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            }],
        });
        let texture_layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("albedo"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Texture {
                        sample_type: wgpu::TextureSampleType::Float { filterable: true },
                        view_dimension: wgpu::TextureViewDimension::D2Array,
                        multisampled: false,
                    },
                    count: None,
                },
                wgpu::BindGroupLayoutEntry {
                    binding: 1,
                    visibility: wgpu::ShaderStages::FRAGMENT,
                    ty: wgpu::BindingType::Sampler(wgpu::SamplerBindingType::Filtering),
                    count: None,
                },
            ],
        });
        let layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("synth layout"),
            bind_group_layouts: &[Some(&globals_layout), Some(&texture_layout)],
            immediate_size: 0,
        });
        let attributes =
            wgpu::vertex_attr_array![0 => Float32x3, 1 => Float32x3, 2 => Float32x2, 3 => Uint32x2];
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("synth pipeline"),
            layout: Some(&layout),
            vertex: wgpu::VertexState {
                module: &shader,
                entry_point: Some("vs_main"),
                compilation_options: Default::default(),
                buffers: &[wgpu::VertexBufferLayout {
                    array_stride: std::mem::size_of::<Vertex>() as u64,
                    step_mode: wgpu::VertexStepMode::Vertex,
                    attributes: &attributes,
                }],
            },
            primitive: wgpu::PrimitiveState {
                cull_mode: None,
                ..Default::default()
            },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_FORMAT,
                depth_write_enabled: Some(true),
                depth_compare: Some(wgpu::CompareFunction::Less),
                stencil: Default::default(),
                bias: Default::default(),
            }),
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module: &shader,
                entry_point: Some("fs_main"),
                compilation_options: Default::default(),
                targets: &[Some(COLOUR_FORMAT.into()), Some(MASK_FORMAT.into())],
            }),
            multiview_mask: None,
            cache: None,
        });
        let globals_buffer = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("globals"),
            size: std::mem::size_of::<Globals>() as u64,
            usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let globals_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("globals"),
            layout: &globals_layout,
            entries: &[wgpu::BindGroupEntry {
                binding: 0,
                resource: globals_buffer.as_entire_binding(),
            }],
        });
        Ok(Renderer {
            device,
            queue,
            pipeline,
            texture_layout,
            globals_buffer,
            globals_group,
            adapter: adapter_name,
        })
    }

    /// Name, backend and type of the adapter in use.
    pub fn adapter(&self) -> &str {
        &self.adapter
    }

    /// Uploads `layers` (all the same size) as a texture array with mip chains; `repeat`
    /// chooses repeating rather than clamped addressing.
    pub fn upload_textures(&self, layers: &[MipImage], repeat: bool) -> GpuTextures {
        let (w, h) = (layers[0].width, layers[0].height);
        let mips = layers[0].levels.len() as u32;
        let texture = self.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("albedo"),
            size: wgpu::Extent3d {
                width: w,
                height: h,
                depth_or_array_layers: layers.len() as u32,
            },
            mip_level_count: mips,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: COLOUR_FORMAT,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        for (layer, image) in layers.iter().enumerate() {
            assert_eq!(
                (image.width, image.height),
                (w, h),
                "texture array layers differ in size"
            );
            for (level, pixels) in image.levels.iter().enumerate() {
                let (lw, lh) = ((w >> level).max(1), (h >> level).max(1));
                self.queue.write_texture(
                    wgpu::TexelCopyTextureInfo {
                        texture: &texture,
                        mip_level: level as u32,
                        origin: wgpu::Origin3d {
                            x: 0,
                            y: 0,
                            z: layer as u32,
                        },
                        aspect: wgpu::TextureAspect::All,
                    },
                    pixels,
                    wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(4 * lw),
                        rows_per_image: Some(lh),
                    },
                    wgpu::Extent3d {
                        width: lw,
                        height: lh,
                        depth_or_array_layers: 1,
                    },
                );
            }
        }
        let view = texture.create_view(&wgpu::TextureViewDescriptor {
            dimension: Some(wgpu::TextureViewDimension::D2Array),
            ..Default::default()
        });
        let address = if repeat {
            wgpu::AddressMode::Repeat
        } else {
            wgpu::AddressMode::ClampToEdge
        };
        let sampler = self.device.create_sampler(&wgpu::SamplerDescriptor {
            label: Some("albedo"),
            address_mode_u: address,
            address_mode_v: address,
            mag_filter: wgpu::FilterMode::Linear,
            min_filter: wgpu::FilterMode::Linear,
            mipmap_filter: wgpu::MipmapFilterMode::Linear,
            ..Default::default()
        });
        let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("albedo"),
            layout: &self.texture_layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::TextureView(&view),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: wgpu::BindingResource::Sampler(&sampler),
                },
            ],
        });
        GpuTextures { group }
    }

    /// Uploads a mesh.
    pub fn upload_mesh(&self, mesh: &Mesh) -> GpuMesh {
        let vertices = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("vertices"),
                contents: bytemuck::cast_slice(&mesh.vertices),
                usage: wgpu::BufferUsages::VERTEX,
            });
        let indices = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("indices"),
                contents: bytemuck::cast_slice(&mesh.indices),
                usage: wgpu::BufferUsages::INDEX,
            });
        GpuMesh {
            vertices,
            indices,
            index_count: mesh.indices.len() as u32,
        }
    }

    /// Render targets for `width × height` images.
    pub fn target(&self, width: u32, height: u32) -> Target {
        let texture = |label, format, usage| {
            self.device.create_texture(&wgpu::TextureDescriptor {
                label: Some(label),
                size: wgpu::Extent3d {
                    width,
                    height,
                    depth_or_array_layers: 1,
                },
                mip_level_count: 1,
                sample_count: 1,
                dimension: wgpu::TextureDimension::D2,
                format,
                usage,
                view_formats: &[],
            })
        };
        let copy_src = wgpu::TextureUsages::RENDER_ATTACHMENT | wgpu::TextureUsages::COPY_SRC;
        let readback = |label, bytes_per_pixel| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: (padded_row(width * bytes_per_pixel) * height) as u64,
                usage: wgpu::BufferUsages::COPY_DST | wgpu::BufferUsages::MAP_READ,
                mapped_at_creation: false,
            })
        };
        Target {
            width,
            height,
            colour: texture("colour", COLOUR_FORMAT, copy_src),
            mask: texture("mask", MASK_FORMAT, copy_src),
            depth: texture(
                "depth",
                DEPTH_FORMAT,
                wgpu::TextureUsages::RENDER_ATTACHMENT,
            ),
            colour_readback: readback("colour readback", 4),
            mask_readback: readback("mask readback", 1),
        }
    }

    /// Renders `draws` as seen by `cam` (pinhole; its size must match `target`) and reads the
    /// image and mask back.
    pub fn render(
        &self,
        target: &Target,
        cam: &Camera,
        draws: &[Draw<'_>],
    ) -> Result<Frame, SynthError> {
        assert_eq!(
            (cam.width, cam.height),
            (target.width, target.height),
            "camera and target sizes differ"
        );
        let light = scene::light_direction();
        let globals = Globals {
            view_proj: view_projection(cam).as_mat4().to_cols_array_2d(),
            light_dir: [light.x as f32, light.y as f32, light.z as f32, 0.0],
            light: [scene::AMBIENT as f32, scene::DIFFUSE as f32, 0.0, 0.0],
        };
        self.queue
            .write_buffer(&self.globals_buffer, 0, bytemuck::bytes_of(&globals));
        let colour_view = target.colour.create_view(&Default::default());
        let mask_view = target.mask.create_view(&Default::default());
        let depth_view = target.depth.create_view(&Default::default());
        let mut encoder = self.device.create_command_encoder(&Default::default());
        {
            let attachment = |view| {
                Some(wgpu::RenderPassColorAttachment {
                    view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                        store: wgpu::StoreOp::Store,
                    },
                })
            };
            let mut pass = encoder.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("synth pass"),
                color_attachments: &[attachment(&colour_view), attachment(&mask_view)],
                depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                    view: &depth_view,
                    depth_ops: Some(wgpu::Operations {
                        load: wgpu::LoadOp::Clear(1.0),
                        store: wgpu::StoreOp::Discard,
                    }),
                    stencil_ops: None,
                }),
                ..Default::default()
            });
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &self.globals_group, &[]);
            for draw in draws {
                pass.set_bind_group(1, &draw.textures.group, &[]);
                pass.set_vertex_buffer(0, draw.mesh.vertices.slice(..));
                pass.set_index_buffer(draw.mesh.indices.slice(..), wgpu::IndexFormat::Uint32);
                pass.draw_indexed(0..draw.mesh.index_count, 0, 0..1);
            }
        }
        let copy = |encoder: &mut wgpu::CommandEncoder,
                    texture: &wgpu::Texture,
                    buffer: &wgpu::Buffer,
                    bpp: u32| {
            encoder.copy_texture_to_buffer(
                texture.as_image_copy(),
                wgpu::TexelCopyBufferInfo {
                    buffer,
                    layout: wgpu::TexelCopyBufferLayout {
                        offset: 0,
                        bytes_per_row: Some(padded_row(target.width * bpp)),
                        rows_per_image: Some(target.height),
                    },
                },
                wgpu::Extent3d {
                    width: target.width,
                    height: target.height,
                    depth_or_array_layers: 1,
                },
            );
        };
        copy(&mut encoder, &target.colour, &target.colour_readback, 4);
        copy(&mut encoder, &target.mask, &target.mask_readback, 1);
        self.queue.submit([encoder.finish()]);

        let rgba = self.read(&target.colour_readback, target.width * 4, target.height)?;
        let mask = self.read(&target.mask_readback, target.width, target.height)?;
        let rgb = rgba
            .chunks_exact(4)
            .flat_map(|p| [p[0], p[1], p[2]])
            .collect();
        let mask = mask
            .into_iter()
            .map(|m| if m >= 128 { 255 } else { 0 })
            .collect();
        Ok(Frame {
            width: target.width,
            height: target.height,
            rgb,
            mask,
        })
    }

    /// Maps `buffer`, waits, and copies out `height` rows of `row_bytes` (dropping the padding).
    fn read(
        &self,
        buffer: &wgpu::Buffer,
        row_bytes: u32,
        height: u32,
    ) -> Result<Vec<u8>, SynthError> {
        let slice = buffer.slice(..);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| SynthError::Gpu(format!("waiting for the GPU: {e}")))?;
        rx.recv()
            .map_err(|e| SynthError::Gpu(format!("readback callback dropped: {e}")))?
            .map_err(|e| SynthError::Gpu(format!("mapping the readback buffer: {e}")))?;
        let padded = padded_row(row_bytes) as usize;
        let mut out = Vec::with_capacity((row_bytes * height) as usize);
        {
            let data = slice.get_mapped_range();
            for row in data.chunks(padded).take(height as usize) {
                out.extend_from_slice(&row[..row_bytes as usize]);
            }
        }
        buffer.unmap();
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec3;

    #[test]
    fn projection_matches_the_camera_model() {
        let cam = Camera::look_at(
            "00",
            (640, 480),
            (500.0, 505.0),
            (320.5, 238.0),
            DVec3::new(3.0, 1.0, 1.2),
            DVec3::new(0.0, 0.0, 0.9),
            DVec3::Z,
        );
        let m = view_projection(&cam);
        for p in [
            DVec3::new(0.1, 0.2, 1.0),
            DVec3::new(-0.5, 0.3, 0.1),
            DVec3::new(0.0, -0.4, 1.7),
        ] {
            let clip = m * p.extend(1.0);
            let ndc = clip.truncate() / clip.w;
            let px = cam.project(p).unwrap();
            let u = (ndc.x + 1.0) / 2.0 * 640.0 - 0.5;
            let v = (1.0 - ndc.y) / 2.0 * 480.0 - 0.5;
            assert!(
                (u - px.x).abs() < 1e-9 && (v - px.y).abs() < 1e-9,
                "{u},{v} vs {px}"
            );
            assert!(ndc.z > 0.0 && ndc.z < 1.0);
        }
    }

    #[test]
    fn rows_are_padded_to_256_bytes() {
        assert_eq!(padded_row(96 * 4), 512);
        assert_eq!(padded_row(256), 256);
        assert_eq!(padded_row(1), 256);
    }
}
