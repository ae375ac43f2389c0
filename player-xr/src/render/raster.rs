//! Raster path: hardware depth peeling. Pass k draws every point as an instanced square, keeps
//! fragments inside the disc and strictly behind layer k−1's depth, and the depth test picks the
//! nearest; a full-screen pass then composites layer k under the accumulated colour.
//!
//! A stereo pair whose images are the two layers of one texture is drawn in the same passes
//! through multiview where the device has it and passes [`multiview::works`]: the intermediate
//! textures get a layer per eye and every draw is broadcast to both (`shaders/peel_stereo.wgsl`,
//! `shaders/composite_stereo.wgsl`).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::OnceLock;

use crate::frame::GpuFrame;
use crate::gpu::Gpu;
use crate::render::multiview::{self, STEREO_MASK};
use crate::render::prepare::ViewSlot;
use crate::render::{
    PointRenderer, Prepare, RenderError, RenderParams, RenderPath, StereoMode, ViewTarget,
    bind_group, check_inputs, fullscreen_pipeline, shader,
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
    mono: Pipelines,
    /// Whether the device's multiview works (self-tested on the first stereo question).
    multiview: OnceLock<bool>,
    /// The multiview pipelines, made on the first stereo render of a device whose multiview works.
    stereo: Option<Pipelines>,
    /// Intermediate textures of each view drawn on its own.
    targets: Vec<Option<Targets>>,
    /// Intermediate textures (a layer per eye) of the multiview stereo pair.
    stereo_targets: Option<Targets>,
}

/// The compiled pipelines of one view count (finish pipelines per output format, made on first
/// use).
#[derive(Debug)]
struct Pipelines {
    /// `None` for one view, [`STEREO_MASK`] for a multiview pair.
    mask: Option<NonZeroU32>,
    peel: wgpu::RenderPipeline,
    accumulate: wgpu::RenderPipeline,
    finish: HashMap<wgpu::TextureFormat, wgpu::RenderPipeline>,
    composite_module: wgpu::ShaderModule,
}

/// Intermediate textures for one view size, a texture layer per view drawn in the same passes.
#[derive(Debug)]
struct Targets {
    size: (u32, u32),
    layer: wgpu::TextureView,
    depth_value: [wgpu::TextureView; 2],
    depth_test: wgpu::TextureView,
    accum: [wgpu::TextureView; 2],
}

impl Targets {
    fn new(device: &wgpu::Device, size: (u32, u32), layers: u32) -> Self {
        let tex = |label: &str, format| {
            device
                .create_texture(&wgpu::TextureDescriptor {
                    label: Some(label),
                    size: wgpu::Extent3d {
                        width: size.0,
                        height: size.1,
                        depth_or_array_layers: layers,
                    },
                    mip_level_count: 1,
                    sample_count: 1,
                    dimension: wgpu::TextureDimension::D2,
                    format,
                    usage: wgpu::TextureUsages::RENDER_ATTACHMENT
                        | wgpu::TextureUsages::TEXTURE_BINDING,
                    view_formats: &[],
                })
                .create_view(&wgpu::TextureViewDescriptor {
                    dimension: Some(wgpu::TextureViewDimension::D2Array),
                    ..Default::default()
                })
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

impl RasterRenderer {
    /// Compiles the peeling and compositing pipelines. Stereo pairs use multiview where the
    /// device passes [`multiview::works`] (tested on the first stereo render).
    pub fn new(gpu: &Gpu) -> Self {
        RasterRenderer {
            prepare: Prepare::new(gpu),
            mono: Pipelines::new(&gpu.device, None),
            multiview: OnceLock::new(),
            stereo: None,
            targets: Vec::new(),
            stereo_targets: None,
        }
    }

    /// As [`RasterRenderer::new`], with multiview for stereo pairs on or off without the
    /// self-test (to check the self-test's verdict, or to compare the two stereo modes).
    /// `true` needs a device with [`multiview::advertised`].
    pub fn with_multiview(gpu: &Gpu, multiview: bool) -> Self {
        let renderer = RasterRenderer::new(gpu);
        renderer
            .multiview
            .set(multiview && multiview::advertised(gpu))
            .expect("a new renderer has not decided yet");
        renderer
    }
}

impl Pipelines {
    /// The pipelines for one view (`mask` `None`) or for a multiview pair ([`STEREO_MASK`]).
    fn new(device: &wgpu::Device, mask: Option<NonZeroU32>) -> Self {
        let peel_source = include_str!("../../../shaders/peel.wgsl");
        let composite_source = include_str!("../../../shaders/composite.wgsl");
        let (peel_module, composite_module, suffix) = match mask {
            None => (
                shader(device, "peel", peel_source),
                shader(device, "composite", composite_source),
                "",
            ),
            Some(_) => (
                shader(
                    device,
                    "peel stereo",
                    &format!(
                        "{peel_source}\n{}",
                        include_str!("../../../shaders/peel_stereo.wgsl")
                    ),
                ),
                shader(
                    device,
                    "composite stereo",
                    &format!(
                        "{composite_source}\n{}",
                        include_str!("../../../shaders/composite_stereo.wgsl")
                    ),
                ),
                "_stereo",
            ),
        };
        let peel = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("peel"),
            layout: None,
            vertex: wgpu::VertexState {
                module: &peel_module,
                entry_point: Some(&format!("vs{suffix}")),
                compilation_options: Default::default(),
                buffers: &[],
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
                entry_point: Some(&format!("fs{suffix}")),
                compilation_options: Default::default(),
                targets: &[Some(LAYER.into()), Some(DEPTH_VALUE.into())],
            }),
            multiview_mask: mask,
            cache: None,
        });
        let accumulate = fullscreen_pipeline(
            device,
            &composite_module,
            &format!("accumulate{suffix}"),
            ACCUM,
            mask,
        );
        Pipelines {
            mask,
            peel,
            accumulate,
            finish: HashMap::new(),
            composite_module,
        }
    }

    /// Makes the finish pipeline for output `format` if it does not exist yet.
    fn prepare_finish(&mut self, device: &wgpu::Device, format: wgpu::TextureFormat) {
        if !self.finish.contains_key(&format) {
            let entry = if self.mask.is_some() {
                "finish_stereo"
            } else {
                "finish"
            };
            let p = fullscreen_pipeline(device, &self.composite_module, entry, format, self.mask);
            self.finish.insert(format, p);
        }
    }

    /// Records the peeling and compositing of the views in `slots` (one, or a multiview pair)
    /// into `output` (of `format`; a layer per view).
    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        gpu: &Gpu,
        enc: &mut wgpu::CommandEncoder,
        slots: &[&ViewSlot],
        targets: &Targets,
        frame: &GpuFrame,
        output: (&wgpu::TextureView, wgpu::TextureFormat),
        params: &RenderParams,
        timer: Option<&GpuTimer>,
    ) {
        let device = &gpu.device;
        let finish = &self.finish[&output.1];
        let peel_bg: Vec<wgpu::BindGroup> = (0..2)
            .map(|i| {
                let mut resources = vec![
                    (0, slots[0].uniform.as_entire_binding()),
                    (
                        1,
                        wgpu::BindingResource::TextureView(&targets.depth_value[i]),
                    ),
                ];
                for (v, slot) in slots.iter().enumerate() {
                    let binding = 2 + 2 * v as u32;
                    resources.push((binding, slot.proj.as_entire_binding()));
                    resources.push((binding + 1, slot.colour.as_entire_binding()));
                }
                bind_group(device, &self.peel.get_bind_group_layout(0), &resources)
            })
            .collect();
        // `accumulate` does not read the view uniform (binding 0); `finish` does.
        let composite_bg = |pipeline: &wgpu::RenderPipeline, i: usize, with_view: bool| {
            let mut resources = vec![
                (1, wgpu::BindingResource::TextureView(&targets.accum[i])),
                (2, wgpu::BindingResource::TextureView(&targets.layer)),
            ];
            if with_view {
                resources.push((0, slots[0].uniform.as_entire_binding()));
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
            multiview_mask: self.mask,
            ..Default::default()
        });
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
                    multiview_mask: self.mask,
                    ..Default::default()
                });
                if !frame.is_empty() {
                    pass.set_pipeline(&self.peel);
                    pass.set_bind_group(0, &peel_bg[read], &[]);
                    pass.draw(0..4, 0..frame.len());
                }
            }
            let last = layer + 1 == k;
            let (target, pipeline, bg) = if last {
                (output.0, finish, &finish_bg[read])
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
                multiview_mask: self.mask,
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
            self.mono.prepare_finish(&gpu.device, v.format);
        }
        while self.targets.len() < views.len() {
            self.targets.push(None);
        }
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        for (i, view) in views.iter().enumerate() {
            if self.targets[i].as_ref().is_none_or(|t| t.size != view.size) {
                self.targets[i] = Some(Targets::new(&gpu.device, view.size, 1));
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
            self.mono.record(
                gpu,
                &mut enc,
                &[slot],
                targets,
                frame,
                (view.target, view.format),
                params,
                end_timer,
            );
        }
        if let Some(t) = timer {
            t.resolve(&mut enc);
        }
        gpu.queue.submit([enc.finish()]);
        Ok(())
    }

    fn render_stereo(
        &mut self,
        gpu: &Gpu,
        frame: &GpuFrame,
        views: &[ViewTarget<'_>; 2],
        layers: &wgpu::TextureView,
        params: &RenderParams,
        timer: Option<&GpuTimer>,
    ) -> Result<(), RenderError> {
        let alike = views[0].size == views[1].size && views[0].format == views[1].format;
        if !alike || self.stereo_mode(gpu) != StereoMode::Multiview {
            return self.render(gpu, frame, views, params, timer);
        }
        check_inputs(views, params)?;
        let (size, format) = (views[0].size, views[0].format);
        let pipes = self
            .stereo
            .get_or_insert_with(|| Pipelines::new(&gpu.device, Some(STEREO_MASK)));
        pipes.prepare_finish(&gpu.device, format);
        if self.stereo_targets.as_ref().is_none_or(|t| t.size != size) {
            self.stereo_targets = Some(Targets::new(&gpu.device, size, 2));
        }
        let mut enc = gpu.device.create_command_encoder(&Default::default());
        for (i, view) in views.iter().enumerate() {
            let start = if i == 0 {
                timer.map(GpuTimer::start_compute)
            } else {
                None
            };
            self.prepare
                .record(gpu, &mut enc, frame, i, view, params, start);
        }
        let slots = [self.prepare.slot(0), self.prepare.slot(1)];
        let targets = self.stereo_targets.as_ref().expect("created above");
        pipes.record(
            gpu,
            &mut enc,
            &slots,
            targets,
            frame,
            (layers, format),
            params,
            timer,
        );
        if let Some(t) = timer {
            t.resolve(&mut enc);
        }
        gpu.queue.submit([enc.finish()]);
        Ok(())
    }

    fn stereo_mode(&self, gpu: &Gpu) -> StereoMode {
        if *self.multiview.get_or_init(|| multiview::works(gpu)) {
            StereoMode::Multiview
        } else {
            StereoMode::PerView
        }
    }

    fn path(&self) -> RenderPath {
        RenderPath::Raster
    }
}
