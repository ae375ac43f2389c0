//! Triangle meshes in the layout the synthetic renderer draws: position, normal, texture
//! coordinates, material layer and a subject flag, plus the primitive shapes the scene is built
//! from (ellipsoids, quads, the inside of a cylinder, discs).

use bytemuck::{Pod, Zeroable};
use glam::{DAffine3, DVec2, DVec3};
use std::f64::consts::TAU;

/// One vertex as uploaded to the GPU (40 bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Pod, Zeroable)]
pub struct Vertex {
    /// World position in metres.
    pub pos: [f32; 3],
    /// Unit world normal.
    pub normal: [f32; 3],
    /// Texture coordinates (repeating).
    pub uv: [f32; 2],
    /// Texture-array layer of the material.
    pub layer: u32,
    /// 1 for the subject (drawn into the mask), 0 for the environment.
    pub subject: u32,
}

/// An indexed triangle list.
#[derive(Clone, Debug, Default)]
pub struct Mesh {
    /// Vertices.
    pub vertices: Vec<Vertex>,
    /// Three indices per triangle.
    pub indices: Vec<u32>,
}

impl Mesh {
    /// Appends `other`, re-basing its indices.
    pub fn append(&mut self, other: &Mesh) {
        let base = self.vertices.len() as u32;
        self.vertices.extend_from_slice(&other.vertices);
        self.indices.extend(other.indices.iter().map(|i| i + base));
    }

    /// Number of triangles.
    pub fn triangle_count(&self) -> usize {
        self.indices.len() / 3
    }

    /// Applies a rigid transform to positions and normals.
    pub fn transform(&mut self, m: &DAffine3) {
        for v in &mut self.vertices {
            let p = m.transform_point3(to_d(v.pos));
            let n = m.transform_vector3(to_d(v.normal)).normalize();
            v.pos = to_f(p);
            v.normal = to_f(n);
        }
    }
}

/// Surface look shared by every vertex of a primitive.
#[derive(Clone, Copy, Debug)]
pub struct Look {
    /// Texture-array layer.
    pub layer: u32,
    /// Subject flag written to the mask.
    pub subject: bool,
}

pub(crate) fn to_d(v: [f32; 3]) -> DVec3 {
    DVec3::new(v[0] as f64, v[1] as f64, v[2] as f64)
}

pub(crate) fn to_f(v: DVec3) -> [f32; 3] {
    [v.x as f32, v.y as f32, v.z as f32]
}

fn vertex(p: DVec3, n: DVec3, uv: DVec2, look: Look) -> Vertex {
    Vertex {
        pos: to_f(p),
        normal: to_f(n.normalize()),
        uv: [uv.x as f32, uv.y as f32],
        layer: look.layer,
        subject: look.subject as u32,
    }
}

/// Triangulates a `(cols + 1) × (rows + 1)` vertex grid given row-major.
fn grid_indices(cols: u32, rows: u32, flip: bool) -> Vec<u32> {
    let mut idx = Vec::with_capacity((cols * rows * 6) as usize);
    for r in 0..rows {
        for c in 0..cols {
            let a = r * (cols + 1) + c;
            let (b, d, e) = (a + 1, a + cols + 1, a + cols + 2);
            if flip {
                idx.extend_from_slice(&[a, b, d, b, e, d]);
            } else {
                idx.extend_from_slice(&[a, d, b, b, d, e]);
            }
        }
    }
    idx
}

/// An ellipsoid with semi-axes `radii` centred at `centre`, tessellated as a UV sphere with
/// `segments` around z and `rings` from +z to −z. Texture u wraps `tile_u` times around the
/// body (an integer keeps the seam continuous); v runs `0..tile_v` from top to bottom.
pub fn ellipsoid(
    centre: DVec3,
    radii: DVec3,
    (segments, rings): (u32, u32),
    (tile_u, tile_v): (u32, f64),
    look: Look,
) -> Mesh {
    let mut vertices = Vec::with_capacity(((segments + 1) * (rings + 1)) as usize);
    for r in 0..=rings {
        let theta = std::f64::consts::PI * r as f64 / rings as f64;
        for s in 0..=segments {
            let phi = TAU * s as f64 / segments as f64;
            let unit = DVec3::new(
                theta.sin() * phi.cos(),
                theta.sin() * phi.sin(),
                theta.cos(),
            );
            let p = unit * radii;
            let n = p / (radii * radii);
            let n = if n.length_squared() > 0.0 {
                n
            } else {
                DVec3::Z
            };
            let uv = DVec2::new(
                s as f64 / segments as f64 * tile_u as f64,
                r as f64 / rings as f64 * tile_v,
            );
            vertices.push(vertex(centre + p, n, uv, look));
        }
    }
    Mesh {
        vertices,
        indices: grid_indices(segments, rings, false),
    }
}

/// A planar rectangle spanned by `u_axis` and `v_axis` from `origin`, subdivided `n × n`, with
/// texture coordinates `uv0..uv1` and normal `u_axis × v_axis`.
pub fn quad(
    origin: DVec3,
    u_axis: DVec3,
    v_axis: DVec3,
    (uv0, uv1): (DVec2, DVec2),
    n: u32,
    look: Look,
) -> Mesh {
    let normal = u_axis.cross(v_axis);
    let mut vertices = Vec::new();
    for j in 0..=n {
        for i in 0..=n {
            let (a, b) = (i as f64 / n as f64, j as f64 / n as f64);
            let uv = DVec2::new(uv0.x + (uv1.x - uv0.x) * a, uv0.y + (uv1.y - uv0.y) * b);
            vertices.push(vertex(origin + u_axis * a + v_axis * b, normal, uv, look));
        }
    }
    Mesh {
        vertices,
        indices: grid_indices(n, n, true),
    }
}

/// The inside wall of a vertical cylinder of `radius` from `z0` to `z1` (normals point inward),
/// with u wrapping `tile_u` times around and v running `0..tile_v` from top to bottom.
pub fn cylinder_inside(
    radius: f64,
    (z0, z1): (f64, f64),
    segments: u32,
    (tile_u, tile_v): (u32, f64),
    look: Look,
) -> Mesh {
    let rows = 4;
    let mut vertices = Vec::new();
    for r in 0..=rows {
        let z = z1 + (z0 - z1) * r as f64 / rows as f64;
        for s in 0..=segments {
            let phi = TAU * s as f64 / segments as f64;
            let dir = DVec3::new(phi.cos(), phi.sin(), 0.0);
            let uv = DVec2::new(
                s as f64 / segments as f64 * tile_u as f64,
                r as f64 / rows as f64 * tile_v,
            );
            vertices.push(vertex(dir * radius + DVec3::Z * z, -dir, uv, look));
        }
    }
    Mesh {
        vertices,
        indices: grid_indices(segments, rows, true),
    }
}

/// A horizontal disc of `radius` at height `z` facing `+z` when `up`, else `−z`; texture
/// coordinates are world x, y divided by `metres_per_tile`.
pub fn disc(
    radius: f64,
    z: f64,
    up: bool,
    segments: u32,
    metres_per_tile: f64,
    look: Look,
) -> Mesh {
    let rings = 8;
    let normal = if up { DVec3::Z } else { -DVec3::Z };
    let mut vertices = Vec::new();
    for r in 0..=rings {
        let rad = radius * r as f64 / rings as f64;
        for s in 0..=segments {
            let phi = TAU * s as f64 / segments as f64;
            let p = DVec3::new(rad * phi.cos(), rad * phi.sin(), z);
            let uv = DVec2::new(p.x, p.y) / metres_per_tile;
            vertices.push(vertex(p, normal, uv, look));
        }
    }
    Mesh {
        vertices,
        indices: grid_indices(segments, rings, !up),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOOK: Look = Look {
        layer: 0,
        subject: true,
    };

    /// Signed area-weighted normal of each triangle must agree with its vertex normals, i.e. the
    /// winding is consistent with the normals (counter-clockwise seen from outside).
    fn assert_winding_matches_normals(m: &Mesh) {
        let mut agree = 0;
        let mut total = 0;
        for t in m.indices.chunks(3) {
            let [a, b, c] = [t[0], t[1], t[2]].map(|i| m.vertices[i as usize]);
            let face = (to_d(b.pos) - to_d(a.pos)).cross(to_d(c.pos) - to_d(a.pos));
            if face.length() < 1e-12 {
                continue;
            }
            total += 1;
            if face.dot(to_d(a.normal) + to_d(b.normal) + to_d(c.normal)) > 0.0 {
                agree += 1;
            }
        }
        assert_eq!(agree, total);
    }

    #[test]
    fn ellipsoid_vertices_lie_on_surface_and_wind_outward() {
        let radii = DVec3::new(0.1, 0.2, 0.3);
        let m = ellipsoid(DVec3::new(1.0, 2.0, 3.0), radii, (16, 8), (2, 1.0), LOOK);
        for v in &m.vertices {
            let q = (to_d(v.pos) - DVec3::new(1.0, 2.0, 3.0)) / radii;
            assert!((q.length() - 1.0).abs() < 1e-6);
        }
        assert_eq!(m.triangle_count(), 16 * 8 * 2);
        assert_winding_matches_normals(&m);
    }

    #[test]
    fn environment_shapes_wind_towards_their_normals() {
        assert_winding_matches_normals(&cylinder_inside(5.0, (0.0, 3.0), 32, (4, 1.0), LOOK));
        assert_winding_matches_normals(&disc(5.0, 0.0, true, 32, 1.0, LOOK));
        assert_winding_matches_normals(&disc(5.0, 3.0, false, 32, 1.0, LOOK));
        let q = quad(
            DVec3::ZERO,
            DVec3::X,
            DVec3::Y,
            (DVec2::ZERO, DVec2::ONE),
            2,
            LOOK,
        );
        assert_winding_matches_normals(&q);
        assert_eq!(q.vertices[0].normal, [0.0, 0.0, 1.0]);
    }
}
