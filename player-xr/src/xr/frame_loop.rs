//! The frame loop: events and session states, `xrWaitFrame` pacing, input, the clip's play head,
//! and one render per eye with the view located at the predicted display time: the raster path
//! draws into the eye's layer of the swapchain image, the compute path into the eye's canvas
//! ([`EyeCanvases`]), which is then copied there.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use openxr as xr;
use yakumo_core::Camera;

use crate::frame::GpuFrame;
use crate::gpu::Gpu;
use crate::offscreen::OFFSCREEN_FORMAT;
use crate::playback::Playback;
use crate::render::{PointRenderer, RenderPath, ViewTarget, new_renderer};
use crate::stream::FrameStream;
use crate::xr::XrOptions;
use crate::xr::canvas::EyeCanvases;
use crate::xr::dump::{CameraRecord, Dumper, EYE_NAMES, EyeRecord, FrameRecord};
use crate::xr::eye::{EyeFov, Pose, eye_camera};
use crate::xr::grab::Grab;
use crate::xr::mirror::Mirror;
use crate::xr::placement::{ClipAnchor, Placement};
use crate::xr::report::{ExitReason, XrReport};
use crate::xr::runtime::Runtime;
use crate::xr::session::{SessionTracker, Transition};
use crate::xr::setup::{ASSUMED_EYE_HEIGHT, VIEW_CONFIG, XrSession};
use crate::xr::vulkan;
use crate::xr::watchdog::Watchdog;

/// Clip frames decoded ahead of the play head.
const READ_AHEAD: usize = 8;

/// Thumbstick dead zone.
const DEAD_ZONE: f32 = 0.15;

/// Full scrub deflection moves the head this many times faster than real time.
const SCRUB_RATE: f64 = 3.0;

/// Playback speed range reachable with the speed stick (as on the desktop).
const SPEED_RANGE: (f64, f64) = (-2.0, 4.0);

/// Sleep between event polls while the session is not running.
const IDLE_POLL: Duration = Duration::from_millis(10);

/// True for results that mean the session or the runtime is gone.
fn lost(result: xr::sys::Result) -> Option<ExitReason> {
    match result {
        xr::sys::Result::ERROR_SESSION_LOST => Some(ExitReason::SessionLost(result.to_string())),
        xr::sys::Result::ERROR_INSTANCE_LOST | xr::sys::Result::ERROR_RUNTIME_FAILURE => {
            Some(ExitReason::InstanceLost(result.to_string()))
        }
        _ => None,
    }
}

/// The exit reason for an error from the loop.
fn classify(e: &anyhow::Error) -> ExitReason {
    e.chain()
        .filter_map(|c| c.downcast_ref::<xr::sys::Result>())
        .find_map(|r| lost(*r))
        .unwrap_or_else(|| ExitReason::Error(format!("{e:#}")))
}

/// Sets a flag on Ctrl-C (the loop then asks the runtime to end the session).
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let f = Arc::clone(&flag);
    if let Err(e) = ctrlc::set_handler(move || f.store(true, Ordering::Relaxed)) {
        tracing::warn!("Ctrl-C will not end the session cleanly: {e}");
    }
    flag
}

/// Plays `options.clip` in the headset until the session ends; the report says how it went.
/// Errors before the session exists (no Vulkan device, no session) are returned as errors.
pub fn run(rt: &Runtime, options: &XrOptions) -> Result<XrReport> {
    let watchdog = Watchdog::start("the OpenXR session").context("starting the watchdog")?;
    let interrupted = interrupt_flag();
    let started = Instant::now();
    let vk = vulkan::create(rt)?;
    let gpu = vk.gpu.clone();
    tracing::info!("rendering on {}", gpu.describe());
    let renderer = new_renderer(&gpu, options.path);
    let stereo = renderer.stereo_mode(&gpu);
    tracing::info!("{} path, {stereo} stereo", options.path);
    watchdog.beat();
    let stream = FrameStream::open(&options.clip, READ_AHEAD)
        .with_context(|| format!("opening {}", options.clip.display()))?;
    let info = stream.info().clone();
    let dumper = match &options.dump {
        Some((dir, count)) => Some(Dumper::new(dir, *count)?),
        None => None,
    };
    let xs = XrSession::open(rt, &vk)?;
    let canvases =
        (options.path == RenderPath::Compute).then(|| EyeCanvases::new(&gpu, xs.eye_size()));
    let mirror = if options.mirror {
        match Mirror::open(&gpu, xs.eye_size(), xs.swapchain.view_format()) {
            Ok(m) => {
                tracing::info!("desktop mirror window open (--no-mirror turns it off)");
                Some(m)
            }
            Err(e) => {
                tracing::info!("no desktop mirror: {e:#}");
                None
            }
        }
    } else {
        None
    };
    let mut lp = Loop {
        rt,
        options,
        gpu,
        renderer,
        canvases,
        playback: Playback::new(stream.frame_count(), info.fps),
        stream,
        frame: None,
        loaded: None,
        anchor: ClipAnchor::from_bounds(info.bounds_min, info.bounds_max, options.up),
        placement: None,
        floor_y: None,
        grab: Grab::default(),
        tracker: SessionTracker::default(),
        dumper,
        mirror,
        last_time: None,
        exit_requested: false,
        report: XrReport {
            runtime: rt.runtime_name.clone(),
            system: rt.system_name.clone(),
            adapter: vk.gpu.describe(),
            render_path: options.path,
            stereo,
            reference_space: xs.space_name().into(),
            swapchain_format: xs.format_name.clone(),
            eye_resolution: vec![[xs.eye_size().0, xs.eye_size().1]; 2],
            recommended_resolution: xs.recommended.iter().map(|s| [s.0, s.1]).collect(),
            states_reached: Vec::new(),
            frames_waited: 0,
            frames_submitted: 0,
            frames_with_clip: 0,
            mirror_frames: 0,
            dumped_frames: Vec::new(),
            interaction_profiles: Vec::new(),
            ipd_m: None,
            seconds: 0.0,
            exit: ExitReason::Requested,
        },
        ipd_sum: 0.0,
    };
    let mut xs = xs;
    let exit = match lp.run(&mut xs, &watchdog, &interrupted) {
        Ok(exit) => exit,
        Err(e) => classify(&e),
    };
    // Rendering must be finished before the swapchains, then the session, go away.
    if let Err(e) = lp.gpu.wait_idle() {
        tracing::warn!("waiting for the GPU at the end of the session: {e}");
    }
    drop(xs);
    let mut report = lp.report;
    report.states_reached = lp.tracker.reached().to_vec();
    report.mirror_frames = lp.mirror.as_ref().map_or(0, Mirror::shown);
    report.dumped_frames = lp.dumper.map(|d| d.written().to_vec()).unwrap_or_default();
    report.ipd_m =
        (report.frames_submitted > 0).then(|| lp.ipd_sum / report.frames_submitted as f64);
    report.seconds = started.elapsed().as_secs_f64();
    report.exit = exit;
    Ok(report)
}

/// The loop's state.
struct Loop<'a> {
    rt: &'a Runtime,
    options: &'a XrOptions,
    gpu: Gpu,
    renderer: Box<dyn PointRenderer>,
    /// The compute path's per-eye storage images (none on the raster path).
    canvases: Option<EyeCanvases>,
    playback: Playback,
    stream: FrameStream,
    frame: Option<GpuFrame>,
    loaded: Option<usize>,
    anchor: ClipAnchor,
    placement: Option<Placement>,
    floor_y: Option<f64>,
    grab: Grab,
    tracker: SessionTracker,
    dumper: Option<Dumper>,
    mirror: Option<Mirror>,
    last_time: Option<xr::Time>,
    exit_requested: bool,
    report: XrReport,
    ipd_sum: f64,
}

impl Loop<'_> {
    /// Runs until the session ends.
    fn run(
        &mut self,
        xs: &mut XrSession,
        watchdog: &Watchdog,
        interrupted: &AtomicBool,
    ) -> Result<ExitReason> {
        let mut events = xr::EventDataBuffer::new();
        loop {
            watchdog.beat();
            if interrupted.load(Ordering::Relaxed) && !self.exit_requested {
                tracing::info!("interrupted: ending the session");
                if !self.tracker.running() {
                    return Ok(ExitReason::Requested);
                }
                self.request_exit(xs)?;
            }
            while let Some(event) = self.rt.instance.poll_event(&mut events)? {
                if let Some(exit) = self.on_event(xs, event)? {
                    return Ok(exit);
                }
            }
            if !self.tracker.running() {
                std::thread::sleep(IDLE_POLL);
                continue;
            }
            self.frame(xs)?;
        }
    }

    fn request_exit(&mut self, xs: &XrSession) -> Result<()> {
        xs.session.request_exit().context("xrRequestExitSession")?;
        self.exit_requested = true;
        Ok(())
    }

    /// Handles one event; `Some` ends the loop.
    fn on_event(&mut self, xs: &XrSession, event: xr::Event<'_>) -> Result<Option<ExitReason>> {
        match event {
            xr::Event::SessionStateChanged(e) => match self.tracker.on_state(e.state()) {
                Transition::Begin => {
                    xs.session.begin(VIEW_CONFIG).context("xrBeginSession")?;
                    self.tracker.set_running(true);
                }
                Transition::End => {
                    xs.session.end().context("xrEndSession")?;
                    self.tracker.set_running(false);
                }
                Transition::Exit => {
                    return Ok(Some(if self.exit_requested {
                        ExitReason::Requested
                    } else {
                        ExitReason::RuntimeExit
                    }));
                }
                Transition::Lost => {
                    return Ok(Some(ExitReason::SessionLost(
                        "the runtime reported LOSS_PENDING".into(),
                    )));
                }
                Transition::Stay => {}
            },
            xr::Event::InstanceLossPending(_) => {
                return Ok(Some(ExitReason::InstanceLost(
                    "the runtime is shutting down (instance loss pending)".into(),
                )));
            }
            xr::Event::EventsLost(e) => {
                tracing::warn!("the runtime dropped {} events", e.lost_event_count());
            }
            xr::Event::InteractionProfileChanged(_) => {
                for hand in ["/user/hand/left", "/user/hand/right"] {
                    let path = self.rt.instance.string_to_path(hand)?;
                    let profile = xs.session.current_interaction_profile(path)?;
                    if profile == xr::Path::NULL {
                        continue;
                    }
                    let name = self.rt.instance.path_to_string(profile)?;
                    tracing::info!("{hand}: {name}");
                    if !self.report.interaction_profiles.contains(&name) {
                        self.report.interaction_profiles.push(name);
                    }
                }
            }
            xr::Event::ReferenceSpaceChangePending(_) => {
                tracing::info!("the reference space is changing: recentring the clip");
                self.placement = None;
            }
            _ => {}
        }
        Ok(None)
    }

    /// One paced frame: wait, begin, update, render both eyes, end.
    fn frame(&mut self, xs: &mut XrSession) -> Result<()> {
        let state = xs.waiter.wait().context("xrWaitFrame")?;
        xs.frames.begin().context("xrBeginFrame")?;
        self.report.frames_waited += 1;
        let time = state.predicted_display_time;
        let dt = self.last_time.map_or(0.0, |t| {
            ((time.as_nanos() - t.as_nanos()) as f64 * 1e-9).clamp(0.0, 0.25)
        });
        self.last_time = Some(time);
        let done = self
            .options
            .max_frames
            .is_some_and(|n| self.report.frames_submitted >= n);
        if !state.should_render || done {
            xs.frames.end(time, xs.blend, &[]).context("xrEndFrame")?;
            return Ok(());
        }
        self.update(xs, time, dt)?;
        let (flags, views) = xs
            .session
            .locate_views(VIEW_CONFIG, time, &xs.space)
            .context("xrLocateViews")?;
        let tracked = flags
            .contains(xr::ViewStateFlags::ORIENTATION_VALID | xr::ViewStateFlags::POSITION_VALID);
        let Some(placement) = self.placement.filter(|_| tracked && views.len() == 2) else {
            xs.frames.end(time, xs.blend, &[]).context("xrEndFrame")?;
            return Ok(());
        };
        let transform = placement.transform(&self.anchor);
        let poses = [0, 1].map(|i| Pose::from_xr(&views[i].pose));
        let fovs = [0, 1].map(|i| EyeFov::from_xr(&views[i].fov));
        let cams: Vec<Camera> = (0..2)
            .map(|i| eye_camera(EYE_NAMES[i], xs.eye_size(), &fovs[i], &poses[i], &transform))
            .collect::<Result<_, _>>()?;

        let index = xs.swapchain.acquire()?;
        {
            // The compute path draws into the canvases, the raster path into the swapchain.
            let targets: Vec<ViewTarget<'_>> = (0..2)
                .map(|i| {
                    let (target, format) = match &self.canvases {
                        Some(c) => (&c.eye(i).view, OFFSCREEN_FORMAT),
                        None => (xs.swapchain.eye_view(index, i), xs.swapchain.view_format()),
                    };
                    ViewTarget {
                        camera: &cams[i],
                        target,
                        format,
                        size: xs.eye_size(),
                    }
                })
                .collect();
            // Eyes drawn into the swapchain itself are the two layers of one image, so they may
            // go in one multiview pass; the compute path's canvases are separate textures.
            match (&self.frame, &self.canvases) {
                (Some(f), Some(_)) => {
                    self.renderer
                        .render(&self.gpu, f, &targets, &self.options.params, None)?
                }
                (Some(f), None) => {
                    let eyes = targets.as_slice().try_into().expect("two eyes");
                    self.renderer.render_stereo(
                        &self.gpu,
                        f,
                        eyes,
                        xs.swapchain.layers_view(index),
                        &self.options.params,
                        None,
                    )?
                }
                (None, _) => clear(&self.gpu, &targets, self.options.params.background),
            }
            if let Some(canvases) = &self.canvases {
                canvases.copy_to(&self.gpu, xs.swapchain.texture(index));
            }
        }
        let submitted = self.report.frames_submitted;
        if let (Some(dumper), Some(clip_frame)) = (self.dumper.as_mut(), self.loaded)
            && dumper.wants()
        {
            let stem = Dumper::stem(submitted);
            let record = FrameRecord {
                frame: submitted,
                clip_frame,
                display_time_ns: time.as_nanos(),
                anchor: self.anchor,
                placement,
                clip_to_space: transform,
                eyes: (0..2)
                    .map(|i| EyeRecord {
                        eye: EYE_NAMES[i].into(),
                        image: format!("{stem}_{}.png", EYE_NAMES[i]),
                        pose: poses[i],
                        fov: fovs[i],
                        camera: CameraRecord::of(&cams[i]),
                    })
                    .collect(),
            };
            dumper.write(&self.gpu, &xs.swapchain, index, &record)?;
        }
        if let Some(mirror) = self.mirror.as_mut().filter(|m| m.is_open()) {
            // Layer 0 of the image: the left eye.
            mirror.show(&self.gpu, xs.swapchain.texture(index));
        }
        xs.swapchain.release()?;
        let rect = xr::Rect2Di {
            offset: xr::Offset2Di { x: 0, y: 0 },
            extent: xr::Extent2Di {
                width: xs.eye_size().0 as i32,
                height: xs.eye_size().1 as i32,
            },
        };
        let projection_views = [0, 1].map(|i| {
            xr::CompositionLayerProjectionView::new()
                .pose(views[i].pose)
                .fov(views[i].fov)
                .sub_image(
                    xr::SwapchainSubImage::new()
                        .swapchain(xs.swapchain.handle())
                        .image_array_index(i as u32)
                        .image_rect(rect),
                )
        });
        let layer = xr::CompositionLayerProjection::new()
            .space(&xs.space)
            .views(&projection_views);
        xs.frames
            .end(time, xs.blend, &[&layer])
            .context("xrEndFrame")?;
        self.report.frames_submitted += 1;
        if self.loaded.is_some() {
            self.report.frames_with_clip += 1;
        }
        self.ipd_sum += (poses[1].position - poses[0].position).length();
        if self.options.max_frames == Some(self.report.frames_submitted) && !self.exit_requested {
            tracing::info!(
                "{} frames submitted (--max-frames): ending the session",
                self.report.frames_submitted
            );
            self.request_exit(xs)?;
        }
        Ok(())
    }

    /// Input, placement and the play head for a frame displayed at `time`, `dt` seconds after
    /// the previous one.
    fn update(&mut self, xs: &XrSession, time: xr::Time, dt: f64) -> Result<()> {
        let controls = if self.tracker.focused() {
            Some(
                xs.controls
                    .poll(&xs.session, &xs.space, time)
                    .context("reading the controllers")?,
            )
        } else {
            None
        };
        if self.placement.is_none() || controls.is_some_and(|c| c.recentre) {
            let head = xs
                .head
                .locate(&xs.space, time)
                .context("locating the head")?;
            let valid =
                xr::SpaceLocationFlags::POSITION_VALID | xr::SpaceLocationFlags::ORIENTATION_VALID;
            if head.location_flags.contains(valid) {
                let head = Pose::from_xr(&head.pose);
                let floor = *self.floor_y.get_or_insert(if xs.stage {
                    0.0
                } else {
                    head.position.y - ASSUMED_EYE_HEIGHT
                });
                let scale = self
                    .placement
                    .map_or_else(|| self.anchor.natural_scale(), |p| p.scale);
                let p = Placement::in_front_of(&head, floor, &self.anchor, scale);
                tracing::info!(
                    "clip placed at ({:.2}, {:.2}, {:.2}) m, scale {:.3}, yaw {:.1}°",
                    p.position.x,
                    p.position.y,
                    p.position.z,
                    p.scale,
                    p.yaw.to_degrees()
                );
                self.placement = Some(p);
            }
        }
        if let Some(c) = controls {
            if c.play_pause {
                self.playback.playing = !self.playback.playing;
                tracing::info!(
                    "{} at frame {}",
                    if self.playback.playing {
                        "playing"
                    } else {
                        "paused"
                    },
                    self.playback.frame()
                );
            }
            if c.scrub.abs() > DEAD_ZONE {
                let fps = self.stream.info().fps.max(1.0);
                self.playback.scrub(c.scrub as f64 * dt * fps * SCRUB_RATE);
            }
            if c.speed.abs() > DEAD_ZONE {
                self.playback.speed =
                    (self.playback.speed + c.speed as f64 * dt).clamp(SPEED_RANGE.0, SPEED_RANGE.1);
            }
            if let Some(p) = self.placement {
                self.placement = Some(self.grab.update(&c.hands, p));
            }
        }
        self.playback.advance(dt);
        let head = self.playback.frame();
        if let Some(points) = self.stream.poll(head)
            && self.loaded != Some(head)
        {
            match &mut self.frame {
                Some(f) => f.upload(&self.gpu.device, &self.gpu.queue, &points)?,
                None => {
                    self.frame = Some(GpuFrame::new(&self.gpu.device, &self.gpu.queue, &points)?)
                }
            }
            self.loaded = Some(head);
        }
        for e in self.stream.take_errors() {
            tracing::warn!("clip read error (frame skipped): {e}");
        }
        Ok(())
    }
}

/// Fills every target with `background` (before the first clip frame has streamed in).
fn clear(gpu: &Gpu, targets: &[ViewTarget<'_>], background: [f32; 4]) {
    let mut enc = gpu.device.create_command_encoder(&Default::default());
    let [r, g, b, a] = background.map(f64::from);
    for t in targets {
        drop(enc.begin_render_pass(&wgpu::RenderPassDescriptor {
            label: Some("clear eye"),
            color_attachments: &[Some(wgpu::RenderPassColorAttachment {
                view: t.target,
                depth_slice: None,
                resolve_target: None,
                ops: wgpu::Operations {
                    load: wgpu::LoadOp::Clear(wgpu::Color { r, g, b, a }),
                    store: wgpu::StoreOp::Store,
                },
            })],
            ..Default::default()
        }));
    }
    gpu.queue.submit([enc.finish()]);
}
