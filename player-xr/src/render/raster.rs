//! Raster path: hardware depth peeling. Pass k draws every point as an instanced square, keeps
//! fragments inside the disc and strictly behind layer k−1's depth, and the depth test picks the
//! nearest; a full-screen pass then composites layer k under the accumulated colour.

use std::collections::HashMap;

use crate::frame::GpuFrame;
use crate::gpu::Gpu;
use crate::render::prepare::ViewSlot;
use crate::render::{
    PointRenderer, Prepare, RenderError, RenderParams, RenderPath, ViewTarget, bind_group,
    check_inputs, shader,
};
use crate::timer::GpuTimer;

const LAYER: wgpu::TextureFormat = wgpu::TextureFormat::Rgba16Float;
const DEPTH_VALUE: wgpu::TextureFormat = wgpu::TextureFormat::R32Float;
const DEPTH_TEST: wgpu::TextureFormat = wgpu::TextureFormat::Depth32Float;
const ACCUM: wgpu::TextureFormat = wgpu::TextureFormat::Rgba32Float;
/// Depth written where a layer is empty: everything later is in front of it and is discarded.
const FAR: f64 = 3.0e38;

/// Hardware depth-peeling renderer.
#[derive(Debug)]
pub struct RasterRenderer {
    prepare: Prepare,
    pipes: Pipelines,
    targets: Vec<Option<Targets>>,
}

/// The compiled pipelines (finish pipelines per output format, made on first use).
#[derive(Debug)]
struct Pipelines {
    peel: wgpu::RenderPipeline,
    accumulate: wgpu::RenderPipeline,
    finish: HashMap<wgpu::TextureFormat, wgpu::RenderPipeline>,
    composite_module: wgpu::ShaderModule,
}

/// Intermediate textures for one view size.
#[derive(Debug)]
struct Targets {
    size: (u32, u32),
    layer: wgpu::TextureView,
    depth_value: [wgpu::TextureView; 2],
    depth_test: wgpu::TextureView,
    accum: [wgpu::TextureView; 2],
}

impl Targets {
    fn new(device: &wgpu::Device, size: (u32, u32)) -> Self {
        let tex = |label: &str, format| {
            device
                .create_texture(&wgpu::TextureDescriptor {
                    label: Some(label),
                    size: wgpu::Extent3d {
                        width: size.0,
                        height: size.1,
                        depth_or_array_layers: 1,
                    },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format,
                    usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                        | wgpu::TextureUsages::TEXTURE_BINDING,
                    view_formats: &[],
                })
                .create_view(&Default::default())
        };
        Targets {
            size,
            layer: tex("layer", LAYER),
            depth_value: [
                tex("layer depth a", DEPTH_VALUE),
                tex("layer depth b", DEPTH_VALUE),
            ],
            depth_test: tex("depth test", DEPTH_TEST),
            accum: [tex("accum a", ACCUM), tex("accum b", ACCUM)],
        }
    }
}

fn colour_attachment(
    view: &wgpu::TextureView,
    clear: Option<wgpu::Color>,
) -> Option<wgpu::RenderPassColorAttachment<'_>> {
    Some(wgpu::RenderPassColorAttachment {
        view,
        depth_slice: None,
        resolve_target: None,
        ops: wgpu::Operations {
            load: clear.map_or(wgpu::LoadOp::Load, wgpu::LoadOp::Clear),
            store: wgpu::StoreOp::Store,
        },
    })
}

fn fullscreen_pipeline(
    device: &wgpu::Device,
    module: &wgpu::ShaderModule,
    entry: &str,
    format: wgpu::TextureFormat,
) -> wgpu::RenderPipeline {
    device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
        label: Some(entry),
        layout: None,
        vertex: wgpu::VertexState {
            module,
            entry_point: Some("vs"),
            compilation_options: Default::default(),
            buffers: &[],
        },
        primitive: wgpu::PrimitiveState::default(),
        depth_stencil: None,
        multisample: wgpu::MultisampleState::default(),
        fragment: Some(wgpu::FragmentState {
            module,
            entry_point: Some(entry),
            compilation_options: Default::default(),
            targets: &[Some(format.into())],
        }),
        multiview_mask: None,
        cache: None,
    })
}

impl RasterRenderer {
    /// Compiles the peeling and compositing pipelines.
    pub fn new(gpu: &Gpu) -> Self {
        let device = &gpu.device;
        let peel_module = shader(device, "peel", include_str!("../../../shaders/peel.wgsl"));
        let composite_module = shader(
            device,
            "composite",
            include_str!("../../../shaders/composite.wgsl"),
        );
        let instance_attr = |loc| wgpu::VertexBufferLayout {
            array_stride: 16,
            step_mode: wgpu::VertexStepMode::Instance,
            attributes: match loc {
                0 => &[wgpu::VertexAttribute {
                    format: wgpu::VertexFormat::Float32x4,
                    offset: 0,
                    shader_location: 0,
                }],
                _ => &[wgpu::VertexAttribute {
                    format: wgpu::VertexFormat::Float32x4,
                    offset: 0,
                    shader_location: 1,
                }],
            },
        };
        let peel = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("peel"),
            layout: None,
            vertex: wgpu::VertexState {
                module: &peel_module,
                entry_point: Some("vs"),
                compilation_options: Default::default(),
                buffers: &[instance_attr(0), instance_attr(1)],
            },
            primitive: wgpu::PrimitiveState {
                topology: wgpu::PrimitiveTopology::TriangleStrip,
                ..Default::default()
            },
            depth_stencil: Some(wgpu::DepthStencilState {
                format: DEPTH_TEST,
                depth_write_enabled: Some(true),
                depth_compare: Some(wgpu::CompareFunction::Less),
                stencil: Default::default(),
                bias: Default::default(),
            }),
            multisample: wgpu::MultisampleState::default(),
            fragment: Some(wgpu::FragmentState {
                module: &peel_module,
                entry_point: Some("fs"),
                compilation_options: Default::default(),
                targets: &[Some(LAYER.into()), Some(DEPTH_VALUE.into())],
            }),
            multiview_mask: None,
            cache: None,
        });
        let accumulate = fullscreen_pipeline(device, &composite_module, "accumulate", ACCUM);
        RasterRenderer {
            prepare: Prepare::new(gpu),
            pipes: Pipelines {
                peel,
                accumulate,
                finish: HashMap::new(),
                composite_module,
            },
            targets: Vec::new(),
        }
    }
}

impl Pipelines {
    #[allow(clippy::too_many_arguments)]
    fn record_view(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        slot: &ViewSlot,
        targets: &Targets,
        frame: &GpuFrame,
        view: &ViewTarget<'_>,
        params: &RenderParams,
        timer: Option<&GpuTimer>,
    ) {
        let device = &gpu.device;
        let finish = &self.finish[&view.format];
        let peel_bg: Vec<wgpu::BindGroup> = (0..2)
            .map(|i| {
                bind_group(
                    device,
                    &self.peel.get_bind_group_layout(0),
                    &[
                        (0, slot.uniform.as_entire_binding()),
                        (
                            1,
                            wgpu::BindingResource::TextureView(&targets.depth_value[i]),
                        ),
                    ],
                )
            })
            .collect();
        // `accumulate` does not read the view uniform (binding 0); `finish` does.
        let composite_bg = |pipeline: &wgpu::RenderPipeline, i: usize, with_view: bool| {
            let mut resources = vec![
                (1, wgpu::BindingResource::TextureView(&targets.accum[i])),
                (2, wgpu::BindingResource::TextureView(&targets.layer)),
            ];
            if with_view {
                resources.push((0, slot.uniform.as_entire_binding()));
            }
            bind_group(device, &pipeline.get_bind_group_layout(0), &resources)
        };
        let accumulate_bg = [
            composite_bg(&self.accumulate, 0, false),
            composite_bg(&self.accumulate, 1, false),
        ];
        let finish_bg = [composite_bg(finish, 0, true), composite_bg(finish, 1, true)];

        // Layer −1: nothing peeled yet (depth 0), nothing accumulated (T = 1).
        enc.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("peel init"),
            color_attachments: &[
                colour_attachment(&targets.depth_value[0], Some(wgpu::Color::TRANSPARENT)),
                colour_attachment(
                    &targets.accum[0],
                    Some(wgpu::Color {
                        r: 0.0,
                        g: 0.0,
                        b: 0.0,
                        a: 1.0,
                    }),
                ),
            ],
            ..Default::default()
        });
        let n = frame.len() as u64;
        let k = params.k as usize;
        for layer in 0..k {
            let (read, write) = (layer % 2, (layer + 1) % 2);
            {
                let mut pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
                    label: Some("peel"),
                    color_attachments: &[
                        colour_attachment(&targets.layer, Some(wgpu::Color::TRANSPARENT)),
                        colour_attachment(
                            &targets.depth_value[write],
                            Some(wgpu::Color {
                                r: FAR,
                                g: 0.0,
                                b: 0.0,
                                a: 0.0,
                            }),
                        ),
                    ],
                    depth_stencil_attachment: Some(wgpu::RenderPassDepthStencilAttachment {
                        view: &targets.depth_test,
                        depth_ops: Some(wgpu::Operations {
                            load: wgpu::LoadOp::Clear(1.0),
                            store: wgpu::StoreOp::Discard,
                        }),
                        stencil_ops: None,
                    }),
                    ..Default::default()
                });
                if n > 0 {
                    pass.set_pipeline(&self.peel);
                    pass.set_bind_group(0, &peel_bg[read], &[]);
                    pass.set_vertex_buffer(0, slot.proj.slice(..n * 16));
                    pass.set_vertex_buffer(1, slot.colour.slice(..n * 16));
                    pass.draw(0..4, 0..frame.len());
                }
            }
            let last = layer + 1 == k;
            let (target, pipeline, bg) = if last {
                (view.target, finish, &finish_bg[read])
            } else {
                (
                    &targets.accum[write],
                    &self.accumulate,
                    &accumulate_bg[read],
                )
            };
            let mut pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some(if last { "finish" } else { "accumulate" }),
                color_attachments: &[colour_attachment(
                    target,
                    if last {
                        Some(wgpu::Color::TRANSPARENT)
                    } else {
                        None
                    },
                )],
                timestamp_writes: if last {
                    timer.map(GpuTimer::end_render)
                } else {
                    None
                },
                ..Default::default()
            });
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, bg, &[]);
            pass.draw(0..3, 0..1);
        }
    }
}

impl PointRenderer for RasterRenderer {
    fn render(
        &mut self,
        gpu: &Gpu,
        frame: &GpuFrame,
        views: &[ViewTarget<'_>],
        params: &RenderParams,
        timer: Option<&GpuTimer>,
    ) -> Result<(), RenderError> {
        check_inputs(views, params)?;
        for v in views {
            if !self.pipes.finish.contains_key(&v.format) {
                let p = fullscreen_pipeline(
                    &gpu.device,
                    &self.pipes.composite_module,
                    "finish",
                    v.format,
                );
                self.pipes.finish.insert(v.format, p);
            }
        }
        while self.targets.len() < views.len() {
            self.targets.push(None);
        }
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        for (i, view) in views.iter().enumerate() {
            if self.targets[i].as_ref().is_none_or(|t| t.size != view.size) {
                self.targets[i] = Some(Targets::new(&gpu.device, view.size));
            }
            let start = if i == 0 {
                timer.map(GpuTimer::start_compute)
            } else {
                None
            };
            let end_timer = if i + 1 == views.len() { timer } else { None };
            let slot = self
                .prepare
                .record(gpu, &mut enc, frame, i, view, params, start);
            let targets = self.targets[i].as_ref().expect("created above");
            self.pipes
                .record_view(gpu, &mut enc, slot, targets, frame, view, params, end_timer);
        }
        if let Some(t) = timer {
            t.resolve(&mut enc);
        }
        gpu.queue.submit([enc.finish()]);
        Ok(())
    }

    fn path(&self) -> RenderPath {
        RenderPath::Raster
    }
}
