//! The static environment (textured floor, brick walls and ceiling of a round room), the fixed
//! world light shared by the GPU shader and the CPU point colours, and the calibration board's
//! trajectory through the capture volume.

use super::mesh::{Look, Mesh, cylinder_inside, disc, quad};
use super::texture::Material;
use glam::{DAffine3, DVec2, DVec3};
use std::f64::consts::TAU;

/// Radius of the room's wall in metres.
pub const ROOM_RADIUS: f64 = 6.0;
/// Height of the room's ceiling in metres.
pub const ROOM_HEIGHT: f64 = 5.0;
/// Ambient light factor.
pub const AMBIENT: f64 = 0.35;
/// Diffuse (Lambert) light factor.
pub const DIFFUSE: f64 = 0.65;

/// Unit direction towards the fixed world light.
pub fn light_direction() -> DVec3 {
    DVec3::new(0.35, -0.45, 0.82).normalize()
}

/// Lambert + ambient shading factor for unit normal `n` (0.35..1.0), as in the shader.
pub fn shade(n: DVec3) -> f64 {
    AMBIENT + DIFFUSE * n.dot(light_direction()).max(0.0)
}

fn env(m: Material) -> Look {
    Look {
        layer: m.layer(),
        subject: false,
    }
}

/// The room: floor, wall and ceiling.
pub fn environment() -> Mesh {
    let mut m = disc(ROOM_RADIUS, 0.0, true, 96, 2.0, env(Material::Floor));
    m.append(&cylinder_inside(
        ROOM_RADIUS,
        (0.0, ROOM_HEIGHT),
        192,
        (12, 2.5),
        env(Material::Wall),
    ));
    m.append(&disc(
        ROOM_RADIUS,
        ROOM_HEIGHT,
        false,
        96,
        3.0,
        env(Material::Ceiling),
    ));
    m
}

/// The calibration board as two quads in board coordinates (origin at the grid's top-left
/// corner, x right, y down, z into the board; see [`crate::board`]): the printed front covering
/// `top_left..bottom_right` (texture layer 0 of the board texture, facing −z) and a plain back.
pub fn board_meshes(top_left: DVec2, bottom_right: DVec2) -> (Mesh, Mesh) {
    let size = bottom_right - top_left;
    let mut front = quad(
        top_left.extend(0.0),
        DVec3::X * size.x,
        DVec3::Y * size.y,
        (DVec2::ZERO, DVec2::ONE),
        1,
        Look {
            layer: 0,
            subject: false,
        },
    );
    for v in &mut front.vertices {
        v.normal = [0.0, 0.0, -1.0];
    }
    // The back faces +z, slightly behind the print so depth never fights.
    let back = quad(
        top_left.extend(0.002),
        DVec3::X * size.x,
        DVec3::Y * size.y,
        (DVec2::ZERO, size),
        1,
        env(Material::BoardBack),
    );
    (front, back)
}

/// The board frame → world transform at scene time `t` for a sequence lasting `duration`
/// seconds, for a board whose grid centre is at board point `centre`: the centre wanders through the capture volume while it turns once around
/// the vertical axis (so every camera of the ring sees its face) and tilts in varied ways.
pub fn board_pose(t: f64, duration: f64, centre: DVec2) -> DAffine3 {
    let s = (t / duration.max(1e-6)).clamp(0.0, 1.0);
    let position = DVec3::new(
        0.45 * (TAU * 1.3 * s).sin(),
        0.45 * (TAU * 0.9 * s + 0.7).sin(),
        1.0 + 0.3 * (TAU * 2.1 * s).sin(),
    );
    let yaw = TAU * s;
    let pitch = 0.45 * (TAU * 3.0 * s).sin();
    let roll = 0.35 * (TAU * 2.0 * s + 1.0).sin();
    // Board axes at rest: x along world x, y down (−z world), printed side facing −y world.
    let rest = DAffine3::from_cols(DVec3::X, -DVec3::Z, DVec3::Y, DVec3::ZERO);
    let rotation = DAffine3::from_rotation_z(yaw)
        * DAffine3::from_rotation_x(pitch)
        * DAffine3::from_rotation_y(roll);
    DAffine3::from_translation(position)
        * rotation
        * rest
        * DAffine3::from_translation(-centre.extend(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shading_is_bounded() {
        assert!((shade(light_direction()) - 1.0).abs() < 1e-12);
        assert!((shade(-light_direction()) - AMBIENT).abs() < 1e-12);
    }

    #[test]
    fn board_stays_in_the_capture_volume_and_turns_around() {
        let mut facing = Vec::new();
        for i in 0..=100 {
            let pose = board_pose(i as f64 * 0.04, 4.0, DVec2::new(0.3, 0.225));
            for corner in [DVec3::ZERO, DVec3::new(0.6, 0.45, 0.0)] {
                let w = pose.transform_point3(corner);
                assert!(w.truncate().length() < 1.2 && w.z > 0.2 && w.z < 1.9, "{w}");
            }
            // The printed side faces the board's −z.
            facing.push(pose.transform_vector3(-DVec3::Z));
        }
        // Over the sequence the face points in every horizontal direction.
        for q in 0..4 {
            let dir = DVec3::new(
                (q as f64 * TAU / 4.0).cos(),
                (q as f64 * TAU / 4.0).sin(),
                0.0,
            );
            assert!(facing.iter().any(|f| f.dot(dir) > 0.8), "never faces {dir}");
        }
    }
}
