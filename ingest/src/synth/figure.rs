//! The synthetic subject: a procedural articulated mannequin about 1.7 m tall (pelvis, torso,
//! head, arms, hands, legs, feet as ellipsoids with joint balls) driven by a deterministic
//! dance cycle of forward kinematics. World axes: z up, floor at z = 0, metres.

use super::mesh::{Look, Mesh, ellipsoid};
use super::texture::Material;
use glam::{DAffine3, DVec3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::f64::consts::{PI, TAU};

/// Tessellation of every body part (segments around, rings from top to bottom).
const TESSELLATION: (u32, u32) = (40, 28);

/// The bones the body parts hang from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bone {
    Pelvis,
    Spine,
    Head,
    UpperArm(Side),
    Forearm(Side),
    Hand(Side),
    Thigh(Side),
    Shin(Side),
    Foot(Side),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Left,
    Right,
}

impl Side {
    /// +1 on the right (body +x), −1 on the left.
    fn sign(self) -> f64 {
        match self {
            Side::Left => -1.0,
            Side::Right => 1.0,
        }
    }
    /// Half a cycle of phase between the two sides.
    fn phase(self) -> f64 {
        match self {
            Side::Left => PI,
            Side::Right => 0.0,
        }
    }
}

/// One ellipsoidal body part in its bone's frame.
#[derive(Clone, Copy, Debug)]
pub struct Part {
    bone: Bone,
    /// Centre in the bone frame.
    centre: DVec3,
    /// Semi-axes along the bone frame's x, y, z.
    radii: DVec3,
    material: Material,
    /// Texture repeats around (integer) and along the part.
    tiles: (u32, f64),
}

fn part(
    bone: Bone,
    centre: [f64; 3],
    radii: [f64; 3],
    material: Material,
    tiles: (u32, f64),
) -> Part {
    Part {
        bone,
        centre: DVec3::from(centre),
        radii: DVec3::from(radii),
        material,
        tiles,
    }
}

/// Every part of the body.
fn parts() -> Vec<Part> {
    use Material::*;
    let mut v = vec![
        part(
            Bone::Pelvis,
            [0.0, 0.0, 0.0],
            [0.17, 0.11, 0.12],
            Pants,
            (2, 1.0),
        ),
        part(
            Bone::Spine,
            [0.0, 0.0, 0.15],
            [0.15, 0.10, 0.14],
            Shirt,
            (2, 1.0),
        ),
        part(
            Bone::Spine,
            [0.0, 0.0, 0.37],
            [0.19, 0.12, 0.17],
            Shirt,
            (3, 1.0),
        ),
        part(
            Bone::Spine,
            [0.0, 0.0, 0.53],
            [0.05, 0.05, 0.07],
            Skin,
            (1, 0.5),
        ),
        part(
            Bone::Head,
            [0.0, 0.0, 0.14],
            [0.085, 0.10, 0.115],
            Head,
            (1, 1.0),
        ),
    ];
    for side in [Side::Left, Side::Right] {
        v.extend([
            part(
                Bone::UpperArm(side),
                [0.0, 0.0, 0.0],
                [0.065, 0.065, 0.065],
                Shirt,
                (1, 0.5),
            ),
            part(
                Bone::UpperArm(side),
                [0.0, 0.0, -0.14],
                [0.05, 0.05, 0.17],
                Shirt,
                (1, 1.0),
            ),
            part(
                Bone::Forearm(side),
                [0.0, 0.0, 0.0],
                [0.043, 0.043, 0.043],
                Skin,
                (1, 0.3),
            ),
            part(
                Bone::Forearm(side),
                [0.0, 0.0, -0.125],
                [0.04, 0.04, 0.15],
                Skin,
                (1, 1.0),
            ),
            part(
                Bone::Hand(side),
                [0.0, 0.0, -0.07],
                [0.03, 0.045, 0.075],
                Skin,
                (1, 0.5),
            ),
            part(
                Bone::Thigh(side),
                [0.0, 0.0, -0.20],
                [0.075, 0.075, 0.24],
                Pants,
                (1, 1.0),
            ),
            part(
                Bone::Shin(side),
                [0.0, 0.0, 0.0],
                [0.06, 0.06, 0.06],
                Pants,
                (1, 0.3),
            ),
            part(
                Bone::Shin(side),
                [0.0, 0.0, -0.20],
                [0.055, 0.055, 0.23],
                Pants,
                (1, 1.0),
            ),
            part(
                Bone::Foot(side),
                [0.0, 0.05, -0.05],
                [0.05, 0.12, 0.045],
                Shoes,
                (1, 1.0),
            ),
        ]);
    }
    v
}

/// Amplitudes, frequency and phases of the dance, drawn from the seed.
#[derive(Clone, Debug)]
pub struct Figure {
    freq: f64,
    turn_rate: f64,
    phase: [f64; 6],
    amp: [f64; 8],
    parts: Vec<Part>,
}

/// The figure posed at one instant: each part with its part→world transform, and the mesh.
#[derive(Clone, Debug)]
pub struct PosedFigure {
    /// Parts with their part→world transforms.
    pub parts: Vec<(Part, DAffine3)>,
    /// The posed triangle mesh (subject flag set).
    pub mesh: Mesh,
    /// For each triangle, the index into `parts` it belongs to.
    pub triangle_part: Vec<u32>,
    /// World→part transforms, the inverses of those in `parts`.
    to_local: Vec<DAffine3>,
}

impl PosedFigure {
    /// True when world point `p` lies strictly inside any part other than `except` (shrunk by a
    /// small margin so points on touching surfaces are kept).
    pub fn inside_other_part(&self, p: DVec3, except: usize) -> bool {
        self.parts
            .iter()
            .zip(&self.to_local)
            .enumerate()
            .any(|(i, ((part, _), to_local))| {
                if i == except {
                    return false;
                }
                let local = to_local.transform_point3(p) - part.centre;
                (local / part.radii).length_squared() < 0.97
            })
    }
}

fn rot_x(a: f64) -> DAffine3 {
    DAffine3::from_rotation_x(a)
}
fn rot_y(a: f64) -> DAffine3 {
    DAffine3::from_rotation_y(a)
}
fn rot_z(a: f64) -> DAffine3 {
    DAffine3::from_rotation_z(a)
}
fn tr(x: f64, y: f64, z: f64) -> DAffine3 {
    DAffine3::from_translation(DVec3::new(x, y, z))
}

impl Figure {
    /// The figure and its dance for `seed`.
    pub fn new(seed: u64) -> Figure {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_F16E);
        let freq = rng.random_range(0.7..1.0);
        let turn_rate = rng.random_range(0.35..0.6) * if rng.random_bool(0.5) { 1.0 } else { -1.0 };
        let phase = std::array::from_fn(|_| rng.random_range(0.0..TAU));
        let amp = std::array::from_fn(|_| rng.random_range(0.8..1.2));
        Figure {
            freq,
            turn_rate,
            phase,
            amp,
            parts: parts(),
        }
    }

    /// Bone→world transform of every bone at scene time `t` seconds.
    fn bone_transform(&self, bone: Bone, t: f64) -> DAffine3 {
        let w = TAU * self.freq * t;
        let a = &self.amp;
        let p = &self.phase;
        let wander = 0.3 * t + p[0];
        let root =
            tr(0.15 * wander.cos(), 0.15 * wander.sin(), 0.0) * rot_z(self.turn_rate * t + p[1]);
        let bob = 0.015 * (1.0 - (2.0 * w).cos());
        let pelvis = root * tr(0.0, 0.0, 0.93 + bob) * rot_z(0.12 * a[0] * w.sin());
        let spine = pelvis
            * rot_z(0.25 * a[1] * (w + p[2]).sin())
            * rot_y(0.10 * a[2] * (w + 0.5).sin())
            * rot_x(0.08 * (2.0 * w).sin());
        let shoulder = |s: Side| {
            let swing = 0.7 * a[3] * (w + s.phase()).sin();
            let raise = 0.25 + 0.6 * a[4] * (0.5 + 0.5 * (0.5 * w + p[3] + s.phase()).sin());
            spine * tr(s.sign() * 0.19, 0.0, 0.45) * rot_x(swing) * rot_y(-s.sign() * raise)
        };
        let elbow = |s: Side| {
            shoulder(s)
                * tr(0.0, 0.0, -0.28)
                * rot_x(0.5 + 0.5 * a[5] * (0.5 + 0.5 * (w + 1.0 + s.phase()).sin()))
        };
        let hip = |s: Side| {
            let swing = 0.45 * a[6] * (w + s.phase() + PI).sin();
            pelvis * tr(s.sign() * 0.10, 0.0, -0.03) * rot_x(swing) * rot_y(-s.sign() * 0.06)
        };
        let knee = |s: Side| {
            hip(s)
                * tr(0.0, 0.0, -0.40)
                * rot_x(-0.1 - 0.7 * a[7] * (w + s.phase() + PI + 0.6).sin().max(0.0))
        };
        match bone {
            Bone::Pelvis => pelvis,
            Bone::Spine => spine,
            Bone::Head => {
                spine
                    * tr(0.0, 0.0, 0.52)
                    * rot_z(0.35 * (0.5 * w + p[4]).sin())
                    * rot_x(0.12 * (2.0 * w + p[5]).sin())
            }
            Bone::UpperArm(s) => shoulder(s),
            Bone::Forearm(s) => elbow(s),
            Bone::Hand(s) => elbow(s) * tr(0.0, 0.0, -0.25) * rot_x(0.2 * (w + s.phase()).cos()),
            Bone::Thigh(s) => hip(s),
            Bone::Shin(s) => knee(s),
            Bone::Foot(s) => {
                knee(s) * tr(0.0, 0.0, -0.40) * rot_x(0.25 * (w + s.phase() + 1.2).sin())
            }
        }
    }

    /// The posed figure at scene time `t` seconds.
    pub fn pose(&self, t: f64) -> PosedFigure {
        let mut mesh = Mesh::default();
        let mut triangle_part = Vec::new();
        let mut posed = Vec::with_capacity(self.parts.len());
        for (i, part) in self.parts.iter().enumerate() {
            let to_world = self.bone_transform(part.bone, t);
            let look = Look {
                layer: part.material.layer(),
                subject: true,
            };
            let mut m = ellipsoid(part.centre, part.radii, TESSELLATION, part.tiles, look);
            m.transform(&to_world);
            triangle_part.extend(std::iter::repeat_n(i as u32, m.triangle_count()));
            mesh.append(&m);
            posed.push((*part, to_world));
        }
        let to_local = posed.iter().map(|(_, m)| m.inverse()).collect();
        PosedFigure {
            parts: posed,
            mesh,
            triangle_part,
            to_local,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn z_range(m: &Mesh) -> (f64, f64) {
        m.vertices.iter().fold((f64::MAX, f64::MIN), |(lo, hi), v| {
            (lo.min(v.pos[2] as f64), hi.max(v.pos[2] as f64))
        })
    }

    #[test]
    fn figure_is_about_human_sized_and_stays_near_the_centre() {
        let fig = Figure::new(3);
        for i in 0..40 {
            let posed = fig.pose(i as f64 * 0.1);
            let (lo, hi) = z_range(&posed.mesh);
            assert!(hi - lo > 1.55 && hi - lo < 1.85, "height {}", hi - lo);
            assert!(lo > -0.05 && lo < 0.2, "lowest point {lo}");
            for v in &posed.mesh.vertices {
                assert!((v.pos[0].powi(2) + v.pos[1].powi(2)).sqrt() < 1.2);
            }
        }
    }

    #[test]
    fn animation_moves_and_is_deterministic() {
        let (a, b) = (Figure::new(9), Figure::new(9));
        let (p0, p1) = (a.pose(0.5).mesh, b.pose(0.5).mesh);
        assert_eq!(p0.vertices, p1.vertices);
        let moved = a.pose(0.5 + 1.0 / 30.0).mesh;
        let max_move = p0
            .vertices
            .iter()
            .zip(&moved.vertices)
            .map(|(x, y)| {
                (super::super::mesh::to_d(x.pos) - super::super::mesh::to_d(y.pos)).length()
            })
            .fold(0.0, f64::max);
        assert!(max_move > 0.005, "frame-to-frame motion {max_move}");
        assert_ne!(Figure::new(10).pose(0.5).mesh.vertices, p0.vertices);
    }

    #[test]
    fn inside_test_finds_overlaps() {
        let posed = Figure::new(1).pose(0.0);
        // The chest centre is inside the chest part (index 2) and not inside the head (index 4).
        let chest_centre = posed.parts[2].1.transform_point3(posed.parts[2].0.centre);
        assert!(posed.inside_other_part(chest_centre, 4));
        assert!(!posed.inside_other_part(chest_centre, 2));
    }
}
