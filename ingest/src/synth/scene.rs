//! The static environment (textured floor, brick walls and ceiling of a round room), the fixed
//! world light shared by the GPU shader and the CPU point colours, and the calibration board's
//! meshes (its path is [`super::board_tour`]).

use super::mesh::{Look, Mesh, cylinder_inside, disc, quad};
use super::texture::Material;
use glam::{DVec2, DVec3};

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

/// Lights the printed face of a posed board evenly, as the rig's studio lights do whatever way
/// the board is turned: its normals point at the light, so it shades at full brightness.
pub fn light_board_face(front: &mut Mesh) {
    let l = light_direction();
    for v in &mut front.vertices {
        v.normal = [l.x as f32, l.y as f32, l.z as f32];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shading_is_bounded() {
        assert!((shade(light_direction()) - 1.0).abs() < 1e-12);
        assert!((shade(-light_direction()) - AMBIENT).abs() < 1e-12);
    }
}
