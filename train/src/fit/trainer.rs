//! The training loop's state and one iteration: sample a frame, a training camera and its
//! blending sources, render, compare with the premultiplied image, step every optimizer.

use std::path::Path;
use std::sync::Arc;

use burn::module::AutodiffModule;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use yakumo_core::Camera;
use yakumo_core::render_ref::ViewF32;
use yakumo_kernels::KnnBackend;

use super::checkpoint::{self, CHECKPOINT_FILE, RngState, TrainState};
use super::config::RunConfig;
use super::loss::{mse, psnr, soft_iou_loss, ssim};
use super::optim::Optimizers;
use crate::data::{ImageCache, TrainDataset, ViewImage, nearest_sources, open_for_training};
use crate::model::{Model, SourceImage, point_colors};
use crate::render::render_points;

/// Backends the trainer runs on: autodiff over a backend with the K-nearest rasteriser.
pub trait TrainBackend: AutodiffBackend<InnerBackend: KnnBackend> + KnnBackend {}

impl<T> TrainBackend for T
where
    T: AutodiffBackend + KnnBackend,
    T::InnerBackend: KnnBackend,
{
}

/// Numbers of one iteration.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    /// Total loss.
    pub loss: f64,
    /// Colour MSE.
    pub mse: f64,
    /// PSNR of that MSE (dB).
    pub psnr: f64,
}

/// The phases of one iteration, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Phase {
    /// Choosing the frame, camera and sources; waiting for their images to be decoded.
    Data,
    /// Uploading those images to the device.
    Upload,
    /// Grid lookup and the geometry head (radius, density).
    Geometry,
    /// Source sampling, blending and the SH residual.
    Colours,
    /// Rasterising the K nearest points and compositing them.
    Render,
    /// Losses and reading them back.
    Loss,
    /// Backpropagation.
    Backward,
    /// Every optimizer's step.
    Optimizer,
}

impl Phase {
    /// Every phase in order.
    pub const ALL: [Phase; 8] = [
        Phase::Data,
        Phase::Upload,
        Phase::Geometry,
        Phase::Colours,
        Phase::Render,
        Phase::Loss,
        Phase::Backward,
        Phase::Optimizer,
    ];
}

/// What one iteration trains on.
struct Pick {
    /// Frame index (into the run's frames).
    frame: usize,
    /// Target camera index.
    target: usize,
    /// Blending source camera indices, ascending.
    sources: Vec<usize>,
}

/// A training run in memory.
pub struct Trainer<B: TrainBackend> {
    /// The run's description.
    pub run: RunConfig,
    /// The dataset.
    pub data: TrainDataset,
    /// Indices (into `data.cameras()`) of training cameras.
    pub train: Vec<usize>,
    /// Indices of held-out cameras.
    pub held_out: Vec<usize>,
    /// The model.
    pub model: Model<B>,
    /// The optimizers.
    pub optim: Optimizers<B>,
    /// Iteration count and timing.
    pub state: TrainState,
    rng: ChaCha8Rng,
    cache: ImageCache,
    device: B::Device,
}

/// Camera indices of `names` in `data`, or an error naming the unknown one.
pub fn camera_indices(data: &TrainDataset, names: &[String]) -> anyhow::Result<Vec<usize>> {
    names
        .iter()
        .map(|n| {
            data.cameras()
                .iter()
                .position(|c| &c.name == n)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "camera {n} of the run is not in dataset {}",
                        data.root().display()
                    )
                })
        })
        .collect()
}

/// Uploads a view's premultiplied colour and its mask as `[H·W, 4]` (the blending sources'
/// table): the 8-bit words of [`ViewImage::packed`] cross the bus and are unpacked on the device
/// (floats took 187 ms for the six 1024² views of an iteration on an H200).
pub fn image_tensor<B: burn::tensor::backend::Backend>(
    view: &ViewImage,
    device: &B::Device,
) -> Tensor<B, 2> {
    let n = (view.width * view.height) as usize;
    let words = Tensor::<B, 1, Int>::from_data(TensorData::new(view.packed.clone(), [n]), device)
        .reshape([n, 1]);
    let channels = (0..4)
        .map(|c| {
            words
                .clone()
                .bitwise_right_shift_scalar((8 * c).elem())
                .bitwise_and_scalar(255.elem())
                .float()
        })
        .collect();
    Tensor::cat(channels, 1).div_scalar(255.0)
}

/// `camera`'s decoded `view` as a blending source on `device`.
fn source_image<B: burn::tensor::backend::Backend>(
    camera: &Camera,
    view: &ViewImage,
    device: &B::Device,
) -> SourceImage<B> {
    SourceImage {
        view: ViewF32::from_camera(camera),
        rgba: image_tensor(view, device),
    }
}

/// Draws an iteration's frame, target camera and blending sources from `rng`: a random frame and
/// training camera, and `spec.sources` of the training cameras nearest to it (usually without
/// the target itself, see [`super::config::FitSettings::exclude_target`]).
fn draw_pick(run: &RunConfig, cams: &[Camera], train: &[usize], rng: &mut ChaCha8Rng) -> Pick {
    let spec = &run.spec;
    let frame = rng.random_range(0..spec.frames);
    let target = train[rng.random_range(0..train.len())];
    let exclude = rng.random_bool(run.settings.exclude_target);
    let mut sources = nearest_sources(
        cams,
        train,
        cams[target].centre(),
        exclude.then_some(target),
        spec.sources + 1,
    );
    sources.shuffle(rng);
    sources.truncate(spec.sources);
    sources.sort_unstable();
    Pick {
        frame,
        target,
        sources,
    }
}

impl<B: TrainBackend> Trainer<B> {
    /// A fresh run: model from `initial` points (other parameters drawn from the run's seed),
    /// new optimizers, iteration 0.
    pub fn new(
        run: RunConfig,
        initial: &[Vec<[f32; 3]>],
        device: B::Device,
    ) -> anyhow::Result<Trainer<B>> {
        let model = Model::new(&run.spec, initial, run.settings.seed, &device);
        let state = TrainState {
            iteration: 0,
            rng: RngState::capture(&ChaCha8Rng::seed_from_u64(run.settings.seed)),
            seconds: 0.0,
        };
        Self::assemble(run, model, Optimizers::new(), state, device)
    }

    /// Continues the run in `dir` from its checkpoint.
    pub fn resume(dir: &Path, device: B::Device) -> anyhow::Result<Trainer<B>> {
        let run = RunConfig::read(dir)?;
        let ck = checkpoint::load::<B>(&dir.join(CHECKPOINT_FILE), &run.spec, &device)?;
        Self::assemble(run, ck.model, ck.optim, ck.state, device)
    }

    fn assemble(
        run: RunConfig,
        model: Model<B>,
        optim: Optimizers<B>,
        state: TrainState,
        device: B::Device,
    ) -> anyhow::Result<Trainer<B>> {
        let range = (run.frames[0], run.frames[run.frames.len() - 1] + 1);
        let data = open_for_training(&run.dataset, Some(range), run.held_out_cameras.len())?;
        let train = camera_indices(&data, &run.train_cameras)?;
        let held_out = camera_indices(&data, &run.held_out_cameras)?;
        let rng = state.rng.restore().map_err(|e| anyhow::anyhow!(e))?;
        let cache = ImageCache::new(run.settings.image_cache);
        Ok(Trainer {
            run,
            data,
            train,
            held_out,
            model,
            optim,
            state,
            rng,
            cache,
            device,
        })
    }

    /// The device tensors live on.
    pub fn device(&self) -> &B::Device {
        &self.device
    }

    /// Loads (through the cache) the view of camera `cam` at frame index `frame`.
    pub fn view(&mut self, cam: usize, frame: usize) -> anyhow::Result<Arc<ViewImage>> {
        Ok(self.cache.get(&self.data, cam, self.run.frames[frame])?)
    }

    /// Source images for rendering camera `target` at frame index `frame`: the `spec.sources`
    /// training cameras nearest to it, skipping `target` itself.
    pub fn eval_sources<C: burn::tensor::backend::Backend>(
        &mut self,
        target: usize,
        frame: usize,
        device: &C::Device,
    ) -> anyhow::Result<Vec<SourceImage<C>>> {
        let cams = self.data.cameras().to_vec();
        let ids = nearest_sources(
            &cams,
            &self.train,
            cams[target].centre(),
            Some(target),
            self.run.spec.sources,
        );
        self.upload_sources(&ids, frame, device)
    }

    /// Uploads the images of cameras `ids` at frame index `frame`.
    pub fn upload_sources<C: burn::tensor::backend::Backend>(
        &mut self,
        ids: &[usize],
        frame: usize,
        device: &C::Device,
    ) -> anyhow::Result<Vec<SourceImage<C>>> {
        ids.iter()
            .map(|&i| {
                let view = self.view(i, frame)?;
                Ok(source_image(&self.data.cameras()[i], &view, device))
            })
            .collect()
    }

    /// Starts decoding the views `pick` needs in the background.
    fn prefetch(&mut self, pick: &Pick) {
        let cams: Vec<usize> = pick.sources.iter().chain([&pick.target]).copied().collect();
        self.prefetch_views(&cams, pick.frame);
    }

    /// Starts decoding, in the background, the views of cameras `cams` at frame index `frame`.
    pub fn prefetch_views(&mut self, cams: &[usize], frame: usize) {
        let Some(&frame) = self.run.frames.get(frame) else {
            return;
        };
        let keys: Vec<(usize, u32)> = cams.iter().map(|&cam| (cam, frame)).collect();
        self.cache.prefetch(&self.data, &keys);
    }

    /// One training iteration; returns its loss and PSNR. A loss that is not finite is an error
    /// and leaves the parameters untouched.
    pub fn step(&mut self) -> anyhow::Result<StepStats> {
        self.step_timed(&mut |_| {})
    }

    /// [`Trainer::step`], calling `mark` as each [`Phase`] ends (the benchmark synchronises the
    /// device there and reads the clock).
    pub fn step_timed(&mut self, mark: &mut dyn FnMut(Phase)) -> anyhow::Result<StepStats> {
        let spec = self.run.spec.clone();
        let settings = self.run.settings.clone();
        let pick = draw_pick(&self.run, self.data.cameras(), &self.train, &mut self.rng);
        // Decode this iteration's views in parallel and the next one's while the GPU works (the
        // next pick is the one the advanced generator will make).
        self.prefetch(&pick);
        let next = draw_pick(
            &self.run,
            self.data.cameras(),
            &self.train,
            &mut self.rng.clone(),
        );
        self.prefetch(&next);
        let Pick {
            frame,
            target,
            sources: pool,
        } = pick;
        let cams = self.data.cameras().to_vec();

        let device = self.device.clone();
        let source_views = pool
            .iter()
            .map(|&i| self.view(i, frame))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let image = self.view(target, frame)?;
        mark(Phase::Data);
        let sources: Vec<SourceImage<B>> = pool
            .iter()
            .zip(&source_views)
            .map(|(&i, view)| source_image(&cams[i], view, &device))
            .collect();
        let (w, h) = (image.width as usize, image.height as usize);
        let truth = image_tensor::<B>(&image, &device);
        let target_rgb = truth.clone().narrow(1, 0, 3).reshape([h, w, 3]);
        let target_mask = truth.narrow(1, 3, 1).reshape([h, w]);
        mark(Phase::Upload);
        let view = ViewF32::from_camera(&cams[target]);
        let geometry = self.model.geometry(&spec, frame, settings.grad_sum());
        mark(Phase::Geometry);
        let colors = point_colors(&self.model, &spec, &geometry, &sources, &view);
        mark(Phase::Colours);
        let out = render_points(
            geometry.positions,
            geometry.radius,
            geometry.density,
            colors,
            &view,
            settings.k,
        )?;
        mark(Phase::Render);
        let color_mse = mse(out.color.clone(), target_rgb.clone());
        let mut loss = color_mse.clone()
            + soft_iou_loss(out.alpha, target_mask).mul_scalar(settings.mask_weight);
        if settings.ssim_weight > 0.0 {
            loss = loss
                + ssim(out.color, target_rgb)
                    .neg()
                    .add_scalar(1.0)
                    .mul_scalar(settings.ssim_weight);
        }
        let values: Vec<f32> = Tensor::cat(vec![loss.clone().detach(), color_mse.detach()], 0)
            .into_data()
            .convert::<f32>()
            .to_vec()
            .map_err(|e| anyhow::anyhow!("reading the loss back: {e:?}"))?;
        if !values.iter().all(|v| v.is_finite()) {
            anyhow::bail!(
                "the loss is not finite ({}) at iteration {}: training diverged",
                values[0],
                self.state.iteration + 1
            );
        }
        mark(Phase::Loss);
        let grads = loss.backward();
        mark(Phase::Backward);
        let lr = settings.lr.at(self.state.iteration, settings.iters);
        self.model = self.optim.step(self.model.clone(), grads, &lr);
        mark(Phase::Optimizer);
        self.state.iteration += 1;
        self.state.rng = RngState::capture(&self.rng);
        Ok(StepStats {
            loss: values[0] as f64,
            mse: values[1] as f64,
            psnr: psnr(values[1] as f64),
        })
    }

    /// Writes the checkpoint `RUN/checkpoint.bin` atomically.
    pub fn save(&self, dir: &Path) -> anyhow::Result<()> {
        checkpoint::save(
            &dir.join(CHECKPOINT_FILE),
            &self.model,
            &self.optim,
            &self.state,
        )?;
        Ok(())
    }

    /// The model without autodiff, for evaluation.
    pub fn inference_model(&self) -> Model<B::InnerBackend> {
        self.model.valid()
    }
}
