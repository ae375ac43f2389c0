//! Copies a rendered image onto a surface or swapchain texture of any colour format.

/// A full-screen copy pipeline for one target format.
#[derive(Debug)]
pub struct Blit {
    pipeline: wgpu::RenderPipeline,
    /// The bilinear sampler of a scaled blit.
    sampler: Option<wgpu::Sampler>,
}

impl Blit {
    /// A pixel-for-pixel blit (source and target of one size) into `format`; sRGB formats get the
    /// inverse transfer applied first so the stored bytes equal the source's.
    pub fn new(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        Self::build(device, format, false)
    }

    /// A blit into `format` that scales the source to the target with bilinear filtering (the
    /// source must be a filterable texture).
    pub fn scaled(device: &wgpu::Device, format: wgpu::TextureFormat) -> Self {
        Self::build(device, format, true)
    }

    fn build(device: &wgpu::Device, format: wgpu::TextureFormat, scaled: bool) -> Self {
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("blit"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/blit.wgsl").into()),
        });
        let (vertex, fragment) = match (scaled, format.is_srgb()) {
            (false, false) => ("vs", "fs_copy"),
            (false, true) => ("vs", "fs_decode"),
            (true, false) => ("vs_scaled", "fs_scaled_copy"),
            (true, true) => ("vs_scaled", "fs_scaled_decode"),
        };
        let pipeline = device.create_render_pipeline(&wgpu::RenderPipelineDescriptor {
            label: Some("blit"),
            layout: None,
            vertex: wgpu::VertexState {
                module: &module,
                entry_point: Some(vertex),
                compilation_options: Default::default(),
                buffers: &[],
            },
            primitive: Default::default(),
            depth_stencil: None,
            multisample: Default::default(),
            fragment: Some(wgpu::FragmentState {
                module: &module,
                entry_point: Some(fragment),
                compilation_options: Default::default(),
                targets: &[Some(format.into())],
            }),
            multiview_mask: None,
            cache: None,
        });
        let sampler = scaled.then(|| {
            device.create_sampler(&wgpu::SamplerDescriptor {
                label: Some("blit"),
                mag_filter: wgpu::FilterMode::Linear,
                min_filter: wgpu::FilterMode::Linear,
                ..Default::default()
            })
        });
        Blit { pipeline, sampler }
    }

    /// Records a pass copying `source` onto `target` (same size unless [`Blit::scaled`]).
    pub fn record(
        &self,
        device: &wgpu::Device,
        enc: &mut wgpu::CommandEncoder,
        source: &wgpu::TextureView,
        target: &wgpu::TextureView,
    ) {
        let mut entries = vec![wgpu::BindGroupEntry {
            binding: 0,
            resource: wgpu::BindingResource::TextureView(source),
        }];
        if let Some(sampler) = &self.sampler {
            entries.push(wgpu::BindGroupEntry {
                binding: 1,
                resource: wgpu::BindingResource::Sampler(sampler),
            });
        }
        let bg = device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("blit"),
            layout: &self.pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut pass = enc.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("blit"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color::BLACK),
                    store: wgpu::StoreOp::Store,
                },
            })],
            ..Default::default()
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bg, &[]);
        pass.draw(0..3, 0..1);
    }
}
