//! Desktop viewer: a winit window with a wgpu surface, orbit/pan/zoom controls and an egui panel
//! (play/pause, timeline, speed, loop, K, render path, frame-time statistics).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use glam::DVec3;
use winit::application::ApplicationHandler;
use winit::event::{ElementState, MouseButton, MouseScrollDelta, WindowEvent};
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::keyboard::{KeyCode, PhysicalKey};
use winit::window::{Window, WindowId};
use yakumo_core::Camera;

use crate::blit::Blit;
use crate::offscreen::{OFFSCREEN_FORMAT, OffscreenTarget};
use crate::orbit::OrbitCamera;
use crate::playback::Playback;
use crate::render::{MAX_K, PointRenderer, RenderParams, RenderPath, ViewTarget, new_renderer};
use crate::stream::FrameStream;
use crate::{Gpu, GpuFrame};

/// How to start the viewer.
#[derive(Clone, Debug)]
pub struct PlayOptions {
    /// The clip.
    pub clip: PathBuf,
    /// Start at this dataset camera's pose and field of view.
    pub start_camera: Option<Camera>,
    /// World up for orbiting.
    pub up: DVec3,
    /// Initial K.
    pub k: u32,
    /// Initial render path.
    pub path: RenderPath,
}

/// Frames decoded ahead of the play head.
const READ_AHEAD: usize = 8;

/// Opens the window and plays until it is closed.
pub fn run(options: PlayOptions) -> Result<()> {
    let stream = FrameStream::open(&options.clip, READ_AHEAD)?;
    let event_loop = EventLoop::new().context("creating the window event loop")?;
    let mut app = App {
        options,
        stream: Some(stream),
        viewer: None,
        error: None,
    };
    event_loop
        .run_app(&mut app)
        .context("running the window event loop")?;
    match app.error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

struct App {
    options: PlayOptions,
    stream: Option<FrameStream>,
    viewer: Option<Viewer>,
    error: Option<anyhow::Error>,
}

/// Mouse state for camera control.
#[derive(Default)]
struct Mouse {
    rotating: bool,
    panning: bool,
    last: Option<(f64, f64)>,
}

struct Viewer {
    window: Arc<Window>,
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    gpu: Gpu,
    renderers: HashMap<RenderPath, Box<dyn PointRenderer>>,
    path: RenderPath,
    k: u32,
    target: Option<OffscreenTarget>,
    blit: Blit,
    egui_state: egui_winit::State,
    egui_renderer: egui_wgpu::Renderer,
    stream: FrameStream,
    frame: Option<GpuFrame>,
    loaded: Option<usize>,
    playback: Playback,
    orbit: OrbitCamera,
    mouse: Mouse,
    keys: std::collections::HashSet<KeyCode>,
    last_tick: Instant,
    frame_ms: f64,
    skipped: u64,
    status: String,
}

impl ApplicationHandler for App {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.viewer.is_some() {
            return;
        }
        let Some(stream) = self.stream.take() else {
            return;
        };
        match Viewer::new(event_loop, &self.options, stream) {
            Ok(v) => self.viewer = Some(v),
            Err(e) => {
                self.error = Some(e);
                event_loop.exit();
            }
        }
    }

    fn window_event(&mut self, event_loop: &ActiveEventLoop, _id: WindowId, event: WindowEvent) {
        let Some(viewer) = self.viewer.as_mut() else {
            return;
        };
        if let Err(e) = viewer.handle(event_loop, event) {
            self.error = Some(e);
            event_loop.exit();
        }
    }

    fn about_to_wait(&mut self, _event_loop: &ActiveEventLoop) {
        if let Some(v) = &self.viewer {
            v.window.request_redraw();
        }
    }
}

impl Viewer {
    fn new(
        event_loop: &ActiveEventLoop,
        options: &PlayOptions,
        stream: FrameStream,
    ) -> Result<Viewer> {
        let info = stream.info().clone();
        let (w, h) = options
            .start_camera
            .as_ref()
            .map_or((1280, 720), |c| (c.width, c.height));
        let attrs = Window::default_attributes()
            .with_title(format!("Yakumo — {}", options.clip.display()))
            .with_inner_size(winit::dpi::PhysicalSize::new(w, h));
        let window = Arc::new(
            event_loop
                .create_window(attrs)
                .context("creating the window")?,
        );
        let instance =
            wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let surface = instance
            .create_surface(Arc::clone(&window))
            .context("creating the window surface")?;
        let gpu = Gpu::with_instance(instance, Some(&surface))?;
        let caps = surface.get_capabilities(&gpu.adapter);
        let format = caps
            .formats
            .iter()
            .copied()
            .find(|f| !f.is_srgb())
            .or(caps.formats.first().copied())
            .context("the surface supports no format")?;
        let size = window.inner_size();
        let mut config = surface
            .get_default_config(&gpu.adapter, size.width.max(1), size.height.max(1))
            .context("the surface is not supported by the adapter")?;
        config.format = format;
        surface.configure(&gpu.device, &config);
        let egui_ctx = egui::Context::default();
        let egui_state = egui_winit::State::new(
            egui_ctx,
            egui::ViewportId::ROOT,
            &window,
            Some(window.scale_factor() as f32),
            None,
            None,
        );
        let egui_renderer =
            egui_wgpu::Renderer::new(&gpu.device, format, egui_wgpu::RendererOptions::default());
        let orbit = match &options.start_camera {
            Some(cam) => {
                let centre = (DVec3::from_array(info.bounds_min.map(f64::from))
                    + DVec3::from_array(info.bounds_max.map(f64::from)))
                    * 0.5;
                let forward = cam.r.transpose() * DVec3::Z;
                let depth = (centre - cam.centre()).dot(forward).max(0.1);
                OrbitCamera::from_camera(cam, depth, options.up)
            }
            None => OrbitCamera::framing(info.bounds_min, info.bounds_max, options.up),
        };
        let mut renderers = HashMap::new();
        renderers.insert(options.path, new_renderer(&gpu, options.path));
        Ok(Viewer {
            blit: Blit::new(&gpu.device, format),
            window,
            surface,
            config,
            renderers,
            path: options.path,
            k: options.k,
            target: None,
            egui_state,
            egui_renderer,
            playback: Playback::new(stream.frame_count(), info.fps),
            stream,
            frame: None,
            loaded: None,
            orbit,
            mouse: Mouse::default(),
            keys: Default::default(),
            last_tick: Instant::now(),
            frame_ms: 0.0,
            skipped: 0,
            status: String::new(),
            gpu,
        })
    }

    fn handle(&mut self, event_loop: &ActiveEventLoop, event: WindowEvent) -> Result<()> {
        let consumed = self
            .egui_state
            .on_window_event(&self.window, &event)
            .consumed;
        match event {
            WindowEvent::CloseRequested => event_loop.exit(),
            WindowEvent::Resized(size) => {
                self.config.width = size.width.max(1);
                self.config.height = size.height.max(1);
                self.surface.configure(&self.gpu.device, &self.config);
            }
            WindowEvent::RedrawRequested => self.redraw()?,
            _ if consumed => {}
            WindowEvent::MouseInput { state, button, .. } => {
                let down = state == ElementState::Pressed;
                match button {
                    MouseButton::Left => self.mouse.rotating = down,
                    MouseButton::Right | MouseButton::Middle => self.mouse.panning = down,
                    _ => {}
                }
            }
            WindowEvent::CursorMoved { position, .. } => {
                if let Some((x, y)) = self.mouse.last {
                    let (dx, dy) = (position.x - x, position.y - y);
                    let h = self.config.height as f64;
                    if self.mouse.rotating {
                        self.orbit.rotate(-dx / h * 3.0, dy / h * 3.0);
                    } else if self.mouse.panning {
                        self.orbit.pan(-dx / h, dy / h);
                    }
                }
                self.mouse.last = Some((position.x, position.y));
            }
            WindowEvent::MouseWheel { delta, .. } => {
                let lines = match delta {
                    MouseScrollDelta::LineDelta(_, y) => y as f64,
                    MouseScrollDelta::PixelDelta(p) => p.y / 40.0,
                };
                self.orbit.zoom(0.9f64.powf(lines));
            }
            WindowEvent::KeyboardInput { event, .. } => {
                if let PhysicalKey::Code(code) = event.physical_key {
                    if event.state == ElementState::Pressed {
                        if code == KeyCode::Space && !event.repeat {
                            self.playback.playing = !self.playback.playing;
                        }
                        self.keys.insert(code);
                    } else {
                        self.keys.remove(&code);
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// WASD: move forward/back, pan left/right; Q/E: down/up. Speed scales with the distance.
    fn apply_keys(&mut self, dt: f64) {
        let step = self.orbit.distance * dt;
        for key in &self.keys {
            match key {
                KeyCode::KeyW => self.orbit.advance(step),
                KeyCode::KeyS => self.orbit.advance(-step),
                KeyCode::KeyA => self.orbit.pan(-dt, 0.0),
                KeyCode::KeyD => self.orbit.pan(dt, 0.0),
                KeyCode::KeyQ => self.orbit.pan(0.0, -dt),
                KeyCode::KeyE => self.orbit.pan(0.0, dt),
                _ => {}
            }
        }
    }

    fn redraw(&mut self) -> Result<()> {
        let now = Instant::now();
        let dt = (now - self.last_tick).as_secs_f64();
        self.last_tick = now;
        self.apply_keys(dt);
        self.playback.advance(dt);
        let head = self.playback.frame();
        // Never block: draw the newest frame we have; a missing one is skipped.
        match self.stream.poll(head) {
            Some(points) if self.loaded != Some(head) => {
                match &mut self.frame {
                    Some(f) => f.upload(&self.gpu.device, &self.gpu.queue, &points)?,
                    None => {
                        self.frame =
                            Some(GpuFrame::new(&self.gpu.device, &self.gpu.queue, &points)?)
                    }
                }
                self.loaded = Some(head);
            }
            None if self.loaded != Some(head) => self.skipped += 1,
            _ => {}
        }
        for e in self.stream.take_errors() {
            self.status = e;
        }

        let size = (self.config.width, self.config.height);
        if self.target.as_ref().is_none_or(|t| t.size() != size) {
            self.target = Some(OffscreenTarget::new(&self.gpu, size));
        }
        let target = self.target.as_ref().expect("created above");
        let started = Instant::now();
        if let Some(frame) = &self.frame {
            let camera = self.orbit.camera(size);
            let view = ViewTarget {
                camera: &camera,
                target: &target.view,
                format: OFFSCREEN_FORMAT,
                size,
            };
            let renderer = self
                .renderers
                .entry(self.path)
                .or_insert_with(|| new_renderer(&self.gpu, self.path));
            renderer.render(
                &self.gpu,
                frame,
                &[view],
                &RenderParams {
                    k: self.k,
                    ..Default::default()
                },
                None,
            )?;
        }

        let surface_texture = match self.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t)
            | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                self.surface.configure(&self.gpu.device, &self.config);
                return Ok(());
            }
            _ => return Ok(()),
        };
        let surface_view = surface_texture.texture.create_view(&Default::default());
        let mut enc = self.gpu.device.create_command_encoder(&Default::default());
        self.blit
            .record(&self.gpu.device, &mut enc, &target.view, &surface_view);
        self.draw_ui(&mut enc, &surface_view);
        self.gpu.queue.submit([enc.finish()]);
        self.window.pre_present_notify();
        surface_texture.present();
        let ms = started.elapsed().as_secs_f64() * 1e3;
        self.frame_ms = if self.frame_ms == 0.0 {
            ms
        } else {
            self.frame_ms * 0.9 + ms * 0.1
        };
        Ok(())
    }

    fn draw_ui(&mut self, enc: &mut wgpu::CommandEncoder, surface_view: &wgpu::TextureView) {
        let input = self.egui_state.take_egui_input(&self.window);
        let ctx = self.egui_state.egui_ctx().clone();
        let count = self.stream.frame_count();
        let output = ctx.run_ui(input, |ui| {
            egui::Window::new("Yakumo")
                .default_width(280.0)
                .show(ui.ctx(), |ui| {
                    ui.horizontal(|ui| {
                        let label = if self.playback.playing {
                            "Pause"
                        } else {
                            "Play"
                        };
                        if ui.button(label).clicked() {
                            self.playback.playing = !self.playback.playing;
                        }
                        ui.checkbox(&mut self.playback.looping, "Loop");
                    });
                    let mut frame = self.playback.frame();
                    if ui
                        .add(
                            egui::Slider::new(&mut frame, 0..=count.saturating_sub(1))
                                .text("frame"),
                        )
                        .changed()
                    {
                        self.playback.seek(frame);
                    }
                    ui.add(egui::Slider::new(&mut self.playback.speed, -2.0..=4.0).text("speed"));
                    ui.add(egui::Slider::new(&mut self.k, 1..=MAX_K).text("K"));
                    ui.horizontal(|ui| {
                        ui.label("path");
                        ui.radio_value(&mut self.path, RenderPath::Raster, "raster");
                        ui.radio_value(&mut self.path, RenderPath::Compute, "compute");
                    });
                    ui.separator();
                    ui.label(format!(
                        "render + present: {:.2} ms ({:.0} fps)",
                        self.frame_ms,
                        1000.0 / self.frame_ms.max(1e-3)
                    ));
                    ui.label(format!(
                        "frame {}/{} · buffered {} · late frames skipped {}",
                        self.loaded.map_or(0, |l| l + 1),
                        count,
                        self.stream.buffered(),
                        self.skipped
                    ));
                    ui.label(format!(
                        "points: {}",
                        self.frame.as_ref().map_or(0, |f| f.len())
                    ));
                    ui.label(self.gpu.describe());
                    if !self.status.is_empty() {
                        ui.colored_label(egui::Color32::LIGHT_RED, &self.status);
                    }
                });
        });
        self.stream.set_looping(self.playback.looping);
        self.egui_state
            .handle_platform_output(&self.window, output.platform_output);
        let jobs = ctx.tessellate(output.shapes, output.pixels_per_point);
        let screen = egui_wgpu::ScreenDescriptor {
            size_in_pixels: [self.config.width, self.config.height],
            pixels_per_point: output.pixels_per_point,
        };
        for (id, delta) in &output.textures_delta.set {
            self.egui_renderer
                .update_texture(&self.gpu.device, &self.gpu.queue, *id, delta);
        }
        let extra = self.egui_renderer.update_buffers(
            &self.gpu.device,
            &self.gpu.queue,
            enc,
            &jobs,
            &screen,
        );
        if !extra.is_empty() {
            self.gpu.queue.submit(extra);
        }
        let mut pass = enc
            .begin_render_pass(&wgpu::RenderPassDescriptor {
                label: Some("egui"),
                color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                    view: surface_view,
                    depth_slice: None,
                    resolve_target: None,
                    ops: wgpu::Operations {
                        load: wgpu::LoadOp::Load,
                        store: wgpu::StoreOp::Store,
                    },
                })],
                ..Default::default()
            })
            .forget_lifetime();
        self.egui_renderer.render(&mut pass, &jobs, &screen);
        drop(pass);
        for id in &output.textures_delta.free {
            self.egui_renderer.free_texture(id);
        }
    }
}
