//! Resuming a run continues it bit for bit (`--deterministic`), on burn-wgpu (Mesa lavapipe in
//! CI: `VK_DRIVER_FILES=/usr/share/vulkan/icd.d/lvp_icd.x86_64.json`). A test binary of its own:
//! it compares two runs exactly, so it must not share the process with other trainer tests.

mod common;

use common::{args, dataset};
use yakumo_train::eval::render_view;
use yakumo_train::fit::backend::WgpuTrain;
use yakumo_train::fit::{Trainer, fit};

#[test]
fn resume_continues_bit_for_bit() {
    let (dir, data) = dataset();
    let straight = dir.path().join("straight");
    let split = dir.path().join("split");
    let wgpu = [
        "--backend",
        "wgpu",
        "--preview-every",
        "0",
        "--deterministic",
    ];
    fit(&args(&data, &straight, 40, &wgpu)).unwrap();
    let first = fit(&args(
        &data,
        &split,
        40,
        &[&wgpu[..], &["--stop-after", "20"]].concat(),
    ))
    .unwrap();
    assert!(first.interrupted && first.iteration == 20);
    let second = fit(&args(
        &data,
        &split,
        40,
        &[&wgpu[..], &["--resume"]].concat(),
    ))
    .unwrap();
    assert_eq!(second.iteration, 40);
    assert_eq!(second.session_iterations, 20);

    let mut a = Trainer::<WgpuTrain>::resume(&straight, Default::default()).unwrap();
    let mut b = Trainer::<WgpuTrain>::resume(&split, Default::default()).unwrap();
    assert_eq!(a.state.rng, b.state.rng);
    let pa: Vec<f32> = a.model.positions.frames[1]
        .val()
        .into_data()
        .to_vec()
        .unwrap();
    let pb: Vec<f32> = b.model.positions.frames[1]
        .val()
        .into_data()
        .to_vec()
        .unwrap();
    let worst = pa
        .iter()
        .zip(&pb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert_eq!(worst, 0.0, "positions differ");
    let ra = render_view(&mut a, 1, 1).unwrap();
    let rb = render_view(&mut b, 1, 1).unwrap();
    let worst = ra
        .rgb
        .iter()
        .zip(&rb.rgb)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0f32, f32::max);
    assert!(worst < 1e-3, "renders differ by {worst}");
    // The runs did train: the loss moved away from the untrained model's.
    assert!(second.loss.is_finite() && second.loss < 0.2, "{second:?}");
}
