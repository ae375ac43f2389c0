//! The calibration board's path through the capture volume: what a person waving a board in
//! front of the rig does, compressed into the calibration video's length.
//!
//! The person walks once around the inside of the ring and, at a series of key poses, holds the
//! board with its printed face turned towards an *aim point* on the ring: a camera, or a place
//! between two neighbouring cameras, so that both see the face obliquely at the same instant
//! (what the extrinsics need). Each key pose is placed through the nearest camera's view: at a
//! random depth chosen so that the board fills a random share of the image, and at a random
//! image position (the whole board stays inside the image when the board must be seen entirely,
//! as a chessboard; a ChArUco board may leave it partly, which covers the image corners), then
//! rolled in its plane and tilted by 10–45° about a random axis (what the intrinsics and the
//! lens distortion need). Between key poses the board moves smoothly (eased linear motion and
//! slerp). At the default [`Pace::Sweep`] key poses come one every [`FRAMES_PER_KEY`] frames, so
//! a short sequence still holds a whole calibration session; [`Pace::Hold`] holds the board still
//! at each key pose, as a real person does, which calibrating an unsynchronised rig relies on
//! (views of a still board are the same whatever each camera's time offset). Everything is drawn
//! from the seed.

use glam::{DAffine3, DMat3, DQuat, DVec2, DVec3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::{PI, TAU};
use yakumo_core::Camera;

/// Video frames between two key poses at [`Pace::Sweep`].
pub const FRAMES_PER_KEY: usize = 2;

/// How the board goes from one key pose to the next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Pace {
    /// Always moving, a key pose every [`FRAMES_PER_KEY`] frames.
    Sweep,
    /// Held still at each key pose for `hold` seconds, then moved to the next in `travel` seconds.
    Hold {
        /// Seconds held still.
        hold: f64,
        /// Seconds of moving.
        travel: f64,
    },
}

/// Smallest share of the image's shorter side that the board's longer side covers.
const MIN_FILL: f64 = 0.3;
/// Largest share when the board may leave the image in part (ChArUco).
const MAX_FILL_PARTIAL: f64 = 0.9;
/// Largest share when the whole board must stay inside the image (chessboard).
const MAX_FILL_WHOLE: f64 = 0.7;
/// Smallest square side in pixels that a key pose aims for (finer boards are not detectable).
const MIN_SQUARE_PX: f64 = 16.0;
/// Tilt of the board away from facing the aim point, radians.
const TILT: (f64, f64) = (20.0 * PI / 180.0, 55.0 * PI / 180.0);
/// Roll of the board in its plane, radians either way.
const ROLL: f64 = PI / 2.0;
/// Where a person can hold the board: heights in metres, and the largest distance from the
/// ring's axis as a share of the cameras' mean distance.
const HEIGHTS: (f64, f64) = (0.3, 2.2);
const REACH: f64 = 0.8;

/// The board's board→world transforms over a calibration sequence.
pub struct BoardTour {
    /// Board rotation and world position of the board's grid centre at each key pose.
    keys: Vec<(DQuat, DVec3)>,
    /// Seconds the board stays at a key pose before it moves on.
    hold: f64,
    /// Seconds it takes to move to the next key pose.
    travel: f64,
    /// Board point (metres) that the key positions place.
    centre: DVec2,
}

/// What the tour needs to know about the board.
#[derive(Clone, Copy, Debug)]
pub struct TourBoard {
    /// Width and height of the square grid in metres.
    pub size: DVec2,
    /// Side of one square in metres.
    pub square: f64,
    /// Whether the detector needs the whole board in view (a chessboard).
    pub whole: bool,
}

impl BoardTour {
    /// The tour for `frames` frames at `fps` in front of `cameras` (on a ring around the
    /// vertical axis) at `pace`, drawn from `seed`.
    pub fn new(
        cameras: &[Camera],
        board: TourBoard,
        (frames, fps): (usize, f64),
        pace: Pace,
        seed: u64,
    ) -> BoardTour {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xB0A2_D70E);
        let (hold, travel) = match pace {
            Pace::Sweep => (0.0, FRAMES_PER_KEY as f64 / fps),
            Pace::Hold { hold, travel } => (hold.max(0.0), travel.max(1e-3)),
        };
        let count = match pace {
            Pace::Sweep => frames.div_ceil(FRAMES_PER_KEY),
            Pace::Hold { .. } => (frames as f64 / fps / (hold + travel)).ceil() as usize,
        } + 1;
        let ring = Ring::new(cameras);
        let mut regions = vec![Regions::new(&mut rng); cameras.len()];
        let keys = (0..count)
            .map(|k| {
                // The aim walks once around the ring, a little irregularly.
                let along = (k as f64 + rng.random_range(-0.3..0.3)) / count as f64;
                let along = along * cameras.len() as f64;
                let c = (along.round().max(0.0) as usize) % cameras.len();
                let region = regions[c].next(&mut rng);
                key_pose(&cameras[c], &ring, board, along, region, &mut rng)
            })
            .collect();
        BoardTour {
            keys,
            hold,
            travel,
            centre: board.size / 2.0,
        }
    }

    /// The board→world transform at scene time `t` (seconds from the sequence's start): at key
    /// pose `i` from `i · (hold + travel)` for `hold` seconds, then moving to key `i + 1`.
    pub fn pose(&self, t: f64) -> DAffine3 {
        let last = self.keys.len() - 1;
        let interval = self.hold + self.travel;
        let s = (t / interval).clamp(0.0, last as f64);
        let i = (s.floor() as usize).min(last.saturating_sub(1));
        let into_move = (s - i as f64) * interval - self.hold;
        let f = (into_move / self.travel).clamp(0.0, 1.0);
        let ease = f * f * (3.0 - 2.0 * f);
        let (qa, pa) = self.keys[i];
        let (qb, pb) = self.keys[(i + 1).min(last)];
        let q = qa.slerp(qb, ease);
        let p = pa.lerp(pb, ease);
        DAffine3::from_rotation_translation(q, p)
            * DAffine3::from_translation(-self.centre.extend(0.0))
    }
}

/// The cameras' placement on the ring: azimuths, distances from the axis and heights.
struct Ring {
    /// `(azimuth, radius, height)` per camera, in camera order.
    places: Vec<(f64, f64, f64)>,
    mean_radius: f64,
}

impl Ring {
    fn new(cameras: &[Camera]) -> Ring {
        let places: Vec<(f64, f64, f64)> = cameras
            .iter()
            .map(|c| {
                let p = c.centre();
                (p.y.atan2(p.x), p.truncate().length(), p.z)
            })
            .collect();
        let mean_radius = places.iter().map(|p| p.1).sum::<f64>() / places.len().max(1) as f64;
        Ring {
            places,
            mean_radius,
        }
    }

    /// The point on the ring `along` cameras from camera 0 (fractions lie between neighbours).
    fn point(&self, along: f64) -> DVec3 {
        let n = self.places.len();
        let i = along.floor().rem_euclid(n as f64) as usize;
        let f = along - along.floor();
        let (a0, r0, h0) = self.places[i];
        let (mut a1, r1, h1) = self.places[(i + 1) % n];
        if n == 1 {
            a1 = a0 + TAU;
        }
        // Shortest way round from a0 to a1, counting up (the ring's order).
        let span = (a1 - a0).rem_euclid(TAU);
        let span = if span == 0.0 { TAU } else { span };
        let a = a0 + f * span;
        let (r, h) = (r0 + f * (r1 - r0), h0 + f * (h1 - h0));
        DVec3::new(r * a.cos(), r * a.sin(), h)
    }
}

/// The image regions (a 3 × 3 grid) in which one camera's key poses put the board, each
/// visited once in a shuffled order before any is visited again, so that every camera sees the
/// board near its image corners and edges as well as in the middle.
#[derive(Clone)]
struct Regions {
    order: [u8; 9],
    next: usize,
}

impl Regions {
    fn new(rng: &mut ChaCha8Rng) -> Regions {
        let mut r = Regions {
            order: [0, 1, 2, 3, 4, 5, 6, 7, 8],
            next: 0,
        };
        r.shuffle(rng);
        r
    }

    fn shuffle(&mut self, rng: &mut ChaCha8Rng) {
        for i in (1..self.order.len()).rev() {
            self.order.swap(i, rng.random_range(0..=i));
        }
    }

    /// The next region as (column, row), each 0..3.
    fn next(&mut self, rng: &mut ChaCha8Rng) -> (u8, u8) {
        if self.next == self.order.len() {
            self.shuffle(rng);
            self.next = 0;
        }
        let cell = self.order[self.next];
        self.next += 1;
        (cell % 3, cell / 3)
    }
}

/// One key pose placed through `cam`'s view with the board centre in image `region` (column,
/// row of a 3 × 3 grid): the board's rotation and the world position of its grid centre.
fn key_pose(
    cam: &Camera,
    ring: &Ring,
    board: TourBoard,
    along: f64,
    region: (u8, u8),
    rng: &mut ChaCha8Rng,
) -> (DQuat, DVec3) {
    let aim = ring.point(along);
    // Depth from the share of the image the board fills.
    let short = cam.width.min(cam.height) as f64;
    let longest = board.size.x.max(board.size.y);
    let focal = cam.fx().min(cam.fy());
    let square_fill = MIN_SQUARE_PX * longest / board.square / short;
    let max_fill = if board.whole {
        MAX_FILL_WHOLE
    } else {
        MAX_FILL_PARTIAL
    };
    let min_fill = MIN_FILL.max(square_fill).min(max_fill);
    let fill = rng.random_range(min_fill..=max_fill);
    let depth = longest * focal / (fill * short);
    // Image position of the board centre: a whole board keeps its circumcircle inside.
    let radius_px = board.size.length() / 2.0 * focal / depth;
    let margin = if board.whole {
        radius_px
    } else {
        0.3 * radius_px
    };
    let pick = |rng: &mut ChaCha8Rng, len: u32, third: u8| {
        let len = len as f64 - 1.0;
        let (lo, hi) = (margin.min(len / 2.0), (len - margin).max(len / 2.0));
        let step = (hi - lo) / 3.0;
        let start = lo + step * third as f64;
        rng.random_range(start..=start + step)
    };
    let px = DVec2::new(
        pick(rng, cam.width, region.0),
        pick(rng, cam.height, region.1),
    );
    let mut position = cam.unproject(px, depth);
    // Where a person standing inside the ring can hold it.
    let reach = REACH * ring.mean_radius;
    let xy = position.truncate();
    if xy.length() > reach {
        position = (xy * (reach / xy.length())).extend(position.z);
    }
    position.z = position.z.clamp(HEIGHTS.0, HEIGHTS.1);
    // Printed face (board −z) towards the aim point, print upright, then roll and tilt.
    let face = (aim - position).normalize();
    let up = (DVec3::Z - face * face.z).normalize_or(DVec3::X);
    let z = -face;
    let y = -up;
    let rest = DMat3::from_cols(y.cross(z), y, z);
    let roll = DMat3::from_axis_angle(face, rng.random_range(-ROLL..=ROLL));
    let axis_angle = rng.random_range(0.0..TAU);
    let axis = up * axis_angle.cos() + face.cross(up) * axis_angle.sin();
    let tilt = DMat3::from_axis_angle(axis, rng.random_range(TILT.0..=TILT.1));
    (DQuat::from_mat3(&(tilt * roll * rest)), position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::rig;

    const A1: TourBoard = TourBoard {
        size: DVec2::new(0.6, 0.84),
        square: 0.12,
        whole: false,
    };

    /// Whether `cam` sees the printed face of the board posed by `pose` with most of the board
    /// inside its image.
    fn sees_front(cam: &Camera, pose: &DAffine3, board: TourBoard) -> bool {
        let centre = pose.transform_point3((board.size / 2.0).extend(0.0));
        let normal = pose.transform_vector3(-DVec3::Z);
        let towards = (cam.centre() - centre).normalize();
        if normal.dot(towards) < 0.3 {
            return false;
        }
        let corners = [
            DVec2::ZERO,
            DVec2::X * board.size.x,
            board.size,
            DVec2::Y * board.size.y,
        ];
        let inside = corners
            .iter()
            .filter(|c| {
                cam.project(pose.transform_point3(c.extend(0.0)))
                    .is_some_and(|px| cam.in_image(px))
            })
            .count();
        inside >= 2
    }

    #[test]
    fn every_camera_sees_the_front_often_and_with_its_neighbours() {
        for (count, frames, seed) in [
            (2, 40, 1),
            (4, 40, 2),
            (5, 60, 3),
            (12, 120, 4),
            (60, 300, 5),
        ] {
            let cams = rig::cameras(count, (640, 480), seed, false);
            let tour = BoardTour::new(&cams, A1, (frames, 30.0), Pace::Sweep, seed);
            let poses: Vec<DAffine3> = (0..frames).map(|j| tour.pose(j as f64 / 30.0)).collect();
            for (c, cam) in cams.iter().enumerate() {
                let seen: Vec<usize> = (0..frames)
                    .filter(|&j| sees_front(cam, &poses[j], A1))
                    .collect();
                // A one-sided board faces about half the ring at a time.
                assert!(
                    seen.len() * count * 3 >= frames * 2 || seen.len() * 4 >= frames,
                    "{count} cameras: camera {c} sees the face in {} of {frames} frames",
                    seen.len()
                );
                if count > 2 {
                    let next = &cams[(c + 1) % count];
                    let shared = seen
                        .iter()
                        .filter(|&&j| sees_front(next, &poses[j], A1))
                        .count();
                    assert!(
                        shared >= 2,
                        "{count} cameras: cameras {c} and its neighbour share {shared} frames"
                    );
                }
            }
        }
    }

    #[test]
    fn board_stays_where_a_person_can_hold_it_and_moves_continuously() {
        let cams = rig::cameras(6, (320, 240), 9, true);
        let tour = BoardTour::new(&cams, A1, (50, 30.0), Pace::Sweep, 9);
        let centre = |t: f64| tour.pose(t).transform_point3((A1.size / 2.0).extend(0.0));
        for j in 0..=250 {
            let t = j as f64 / 150.0;
            let p = centre(t);
            assert!(p.truncate().length() <= REACH * rig::RING_RADIUS * 1.04);
            assert!(p.z > HEIGHTS.0 - 1e-9 && p.z < HEIGHTS.1 + 1e-9, "{p}");
            // No jumps: a microsecond later the board has hardly moved.
            assert!((centre(t + 1e-6) - p).length() < 1e-3, "jump at {t} s");
        }
    }

    #[test]
    fn a_holding_tour_keeps_the_board_still_then_moves_it() {
        let cams = rig::cameras(4, (640, 480), 3, false);
        let pace = Pace::Hold {
            hold: 0.3,
            travel: 0.2,
        };
        let tour = BoardTour::new(&cams, A1, (60, 30.0), pace, 3);
        for key in 0..3 {
            let start = key as f64 * 0.5;
            let held = tour.pose(start);
            // Still for the whole hold...
            for t in [0.05, 0.15, 0.29] {
                assert_eq!(tour.pose(start + t), held, "key {key} at +{t} s");
            }
            // ...then on its way to the next key pose, arriving there at the next hold.
            assert_ne!(tour.pose(start + 0.4), held);
            assert_eq!(tour.pose(start + 0.5), tour.pose(start + 0.55));
        }
    }

    #[test]
    fn same_seed_same_tour() {
        let cams = rig::cameras(4, (640, 480), 1, false);
        let a = BoardTour::new(&cams, A1, (30, 30.0), Pace::Sweep, 7);
        let b = BoardTour::new(&cams, A1, (30, 30.0), Pace::Sweep, 7);
        let c = BoardTour::new(&cams, A1, (30, 30.0), Pace::Sweep, 8);
        assert_eq!(a.pose(0.4), b.pose(0.4));
        assert_ne!(a.pose(0.4), c.pose(0.4));
    }
}
