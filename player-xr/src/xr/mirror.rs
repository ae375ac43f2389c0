//! The desktop mirror of an OpenXR session: a window on the session's own GPU device showing
//! what the left eye sees. No display means no mirror (said once in the log); closing the window
//! closes only the mirror, the headset keeps playing.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use winit::application::ApplicationHandler;
use winit::dpi::PhysicalSize;
use winit::event::WindowEvent;
use winit::event_loop::{ActiveEventLoop, EventLoop};
use winit::platform::pump_events::EventLoopExtPumpEvents;
use winit::window::{Window, WindowId};

use crate::blit::Blit;
use crate::gpu::Gpu;

/// Longest edge of the mirror window when it opens (pixels); it keeps the eye's aspect ratio.
const MAX_EDGE: u32 = 960;

/// The window's event handling: it is created on the first pump and only ever closed.
#[derive(Default)]
struct Handler {
    size: (u32, u32),
    window: Option<Arc<Window>>,
    error: Option<String>,
    closed: bool,
    resized: bool,
}

impl ApplicationHandler for Handler {
    fn resumed(&mut self, event_loop: &ActiveEventLoop) {
        if self.window.is_some() || self.closed {
            return;
        }
        let attributes = Window::default_attributes()
            .with_title("Yakumo — headset mirror (left eye)")
            .with_inner_size(PhysicalSize::new(self.size.0, self.size.1));
        match event_loop.create_window(attributes) {
            Ok(w) => self.window = Some(Arc::new(w)),
            Err(e) => self.error = Some(e.to_string()),
        }
    }

    fn window_event(&mut self, _: &ActiveEventLoop, _: WindowId, event: WindowEvent) {
        match event {
            WindowEvent::CloseRequested | WindowEvent::Destroyed => self.closed = true,
            WindowEvent::Resized(_) => self.resized = true,
            _ => {}
        }
    }
}

/// The window's surface and what copies the eye onto it.
struct Output {
    surface: wgpu::Surface<'static>,
    config: wgpu::SurfaceConfiguration,
    blit: Blit,
    /// The eye image copied out of the swapchain (its images cannot be sampled).
    copy: wgpu::Texture,
    copy_view: wgpu::TextureView,
}

/// An open mirror window.
pub struct Mirror {
    event_loop: EventLoop<()>,
    handler: Handler,
    output: Option<Output>,
    shown: u64,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("open", &self.is_open())
            .field("shown", &self.shown)
            .finish_non_exhaustive()
    }
}

/// The window size for an eye of `eye` pixels: its aspect ratio, at most [`MAX_EDGE`] across.
fn window_size(eye: (u32, u32)) -> (u32, u32) {
    let scale = (MAX_EDGE as f64 / eye.0.max(eye.1).max(1) as f64).min(1.0);
    let side = |v: u32| ((v as f64 * scale).round() as u32).max(1);
    (side(eye.0), side(eye.1))
}

impl Mirror {
    /// Opens the mirror window for eyes of `eye` pixels on `gpu`, the session's device, whose
    /// images hold image-encoded colour in `eye_format` (the eyes' view format); an error says why
    /// there is none (no display, a surface the device cannot present to).
    pub fn open(gpu: &Gpu, eye: (u32, u32), eye_format: wgpu::TextureFormat) -> Result<Mirror> {
        let event_loop = EventLoop::new().context("no window system (no display)")?;
        let mut mirror = Mirror {
            event_loop,
            handler: Handler {
                size: window_size(eye),
                ..Handler::default()
            },
            output: None,
            shown: 0,
        };
        mirror.pump();
        if let Some(e) = mirror.handler.error.take() {
            anyhow::bail!("cannot open a window: {e}");
        }
        let window = mirror
            .handler
            .window
            .clone()
            .context("the window system opened no window")?;
        let surface = gpu
            .instance
            .create_surface(window.clone())
            .context("cannot make a surface for the window")?;
        let size = window.inner_size();
        let caps = surface.get_capabilities(&gpu.adapter);
        let format = caps
            .formats
            .first()
            .copied()
            .context("the headset's GPU cannot present to this window")?;
        let config = wgpu::SurfaceConfiguration {
            usage: wgpu::TextureUsages::RENDER_ATTACHMENT,
            format,
            width: size.width.max(1),
            height: size.height.max(1),
            // Never wait for the desktop's refresh: the headset paces the loop.
            present_mode: if caps.present_modes.contains(&wgpu::PresentMode::Mailbox) {
                wgpu::PresentMode::Mailbox
            } else if caps.present_modes.contains(&wgpu::PresentMode::Immediate) {
                wgpu::PresentMode::Immediate
            } else {
                wgpu::PresentMode::Fifo
            },
            desired_maximum_frame_latency: 1,
            alpha_mode: caps.alpha_modes[0],
            view_formats: vec![],
        };
        surface.configure(&gpu.device, &config);
        let copy = gpu.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("mirror eye"),
            size: wgpu::Extent3d {
                width: eye.0,
                height: eye.1,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: eye_format,
            usage: wgpu::TextureUsages::COPY_DST | wgpu::TextureUsages::TEXTURE_BINDING,
            view_formats: &[],
        });
        mirror.output = Some(Output {
            surface,
            config,
            blit: Blit::scaled(&gpu.device, format),
            copy_view: copy.create_view(&Default::default()),
            copy,
        });
        Ok(mirror)
    }

    /// Whether the window is still open.
    pub fn is_open(&self) -> bool {
        self.output.is_some()
    }

    /// Frames shown so far.
    pub fn shown(&self) -> u64 {
        self.shown
    }

    fn pump(&mut self) {
        let _ = self
            .event_loop
            .pump_app_events(Some(Duration::ZERO), &mut self.handler);
    }

    /// Handles the window's events and shows layer 0 of `eyes` (a swapchain image of the size
    /// and format the mirror was opened for, that allows copies) in it. A closed window ends the
    /// mirror; a surface that is not ready skips the frame.
    pub fn show(&mut self, gpu: &Gpu, eyes: &wgpu::Texture) {
        self.pump();
        if self.handler.closed {
            if self.output.take().is_some() {
                tracing::info!("mirror window closed; the headset keeps playing");
            }
            self.handler.window = None;
            return;
        }
        let Some(out) = self.output.as_mut() else {
            return;
        };
        if std::mem::take(&mut self.handler.resized)
            && let Some(window) = &self.handler.window
        {
            let size = window.inner_size();
            out.config.width = size.width.max(1);
            out.config.height = size.height.max(1);
            out.surface.configure(&gpu.device, &out.config);
        }
        let frame = match out.surface.get_current_texture() {
            wgpu::CurrentSurfaceTexture::Success(t)
            | wgpu::CurrentSurfaceTexture::Suboptimal(t) => t,
            wgpu::CurrentSurfaceTexture::Outdated | wgpu::CurrentSurfaceTexture::Lost => {
                out.surface.configure(&gpu.device, &out.config);
                return;
            }
            // Timeouts and occlusion: skip this frame of the mirror.
            _ => return,
        };
        let target = frame.texture.create_view(&Default::default());
        let mut enc = gpu
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("mirror"),
            });
        enc.copy_texture_to_texture(
            eyes.as_image_copy(),
            out.copy.as_image_copy(),
            out.copy.size(),
        );
        out.blit
            .record(&gpu.device, &mut enc, &out.copy_view, &target);
        gpu.queue.submit([enc.finish()]);
        frame.present();
        self.shown += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_keeps_the_eye_aspect_and_fits_the_screen() {
        assert_eq!(window_size((2064, 2208)), (897, 960));
        assert_eq!(window_size((640, 480)), (640, 480));
        assert_eq!(window_size((3000, 1000)), (960, 320));
    }
}
