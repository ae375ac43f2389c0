//! Ground-truth surface points of the posed subject: deterministic area-weighted samples of its
//! triangles (dropping those buried inside another body part), with interpolated normals and the
//! texture colour shaded by the same light as the renderer.

use super::figure::PosedFigure;
use super::mesh::{Vertex, to_d};
use super::scene;
use super::texture::MipImage;
use glam::{DVec2, DVec3};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Surface samples of one frame.
#[derive(Clone, Debug, PartialEq)]
pub struct SurfaceSamples {
    /// World positions in metres.
    pub positions: Vec<[f32; 3]>,
    /// Unit normals.
    pub normals: Vec<[f32; 3]>,
    /// Shaded colours.
    pub colours: Vec<[u8; 3]>,
    /// Visible (non-buried) surface area in m².
    pub area: f64,
}

impl SurfaceSamples {
    /// Disc radius at which the samples' discs overlap: each disc covers about twice the
    /// surface area per sample.
    pub fn disc_radius(&self) -> f64 {
        (2.0 * self.area / (std::f64::consts::PI * self.positions.len().max(1) as f64)).sqrt()
    }
}

/// Draws `count` samples from `posed`, colouring them from `layers` (indexed by the vertices'
/// material layer). The same `seed` gives the same samples.
pub fn sample(posed: &PosedFigure, layers: &[MipImage], count: usize, seed: u64) -> SurfaceSamples {
    let mesh = &posed.mesh;
    let tri = |t: usize| -> [Vertex; 3] {
        [0, 1, 2].map(|k| mesh.vertices[mesh.indices[3 * t + k] as usize])
    };
    let mut cumulative = Vec::with_capacity(mesh.triangle_count());
    let mut total = 0.0;
    for t in 0..mesh.triangle_count() {
        let [a, b, c] = tri(t).map(|v| to_d(v.pos));
        total += 0.5 * (b - a).cross(c - a).length();
        cumulative.push(total);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut out = SurfaceSamples {
        positions: Vec::with_capacity(count),
        normals: Vec::with_capacity(count),
        colours: Vec::with_capacity(count),
        area: 0.0,
    };
    let mut tries = 0u64;
    while out.positions.len() < count && total > 0.0 {
        tries += 1;
        let target = rng.random_range(0.0..total);
        let t = cumulative
            .partition_point(|c| *c <= target)
            .min(cumulative.len() - 1);
        let (r1, r2): (f64, f64) = (rng.random(), rng.random());
        let s = r1.sqrt();
        let w = [1.0 - s, s * (1.0 - r2), s * r2];
        let v = tri(t);
        let p = (0..3).map(|k| to_d(v[k].pos) * w[k]).sum::<DVec3>();
        if posed.inside_other_part(p, posed.triangle_part[t] as usize) {
            continue;
        }
        let n = (0..3)
            .map(|k| to_d(v[k].normal) * w[k])
            .sum::<DVec3>()
            .normalize();
        let uv = (0..3)
            .map(|k| DVec2::new(v[k].uv[0] as f64, v[k].uv[1] as f64) * w[k])
            .sum::<DVec2>();
        let albedo = layers[v[0].layer as usize].sample_repeat(uv.x, uv.y);
        let shade = scene::shade(n);
        out.positions.push([p.x as f32, p.y as f32, p.z as f32]);
        out.normals.push([n.x as f32, n.y as f32, n.z as f32]);
        out.colours
            .push(albedo.map(|c| (c * shade * 255.0).round().clamp(0.0, 255.0) as u8));
    }
    out.area = if tries > 0 {
        total * out.positions.len() as f64 / tries as f64
    } else {
        0.0
    };
    out
}

#[cfg(test)]
mod tests {
    use super::super::figure::Figure;
    use super::super::texture::{LAYER_SIZE, Material, MipImage};
    use super::*;

    fn grey_layers() -> Vec<MipImage> {
        let n = LAYER_SIZE;
        Material::ALL
            .iter()
            .map(|_| MipImage::new(n, n, vec![200; (n * n * 4) as usize]))
            .collect()
    }

    #[test]
    fn samples_lie_on_the_visible_surface_with_lit_colours() {
        let posed = Figure::new(2).pose(0.3);
        let s = sample(&posed, &grey_layers(), 5000, 7);
        assert_eq!(s.positions.len(), 5000);
        // A 1.7 m person has roughly 1.5–2 m² of skin; the mannequin is in that range.
        assert!(s.area > 1.0 && s.area < 2.5, "area {}", s.area);
        for (p, c) in s.positions.iter().zip(&s.colours) {
            let p = DVec3::new(p[0] as f64, p[1] as f64, p[2] as f64);
            assert!(!posed.inside_other_part(p, usize::MAX), "buried sample {p}");
            let expect_min = (200.0 * scene::AMBIENT).floor() as u8;
            assert!(c[0] >= expect_min && c[0] <= 200 && c[0] == c[1]);
        }
        assert!(s.disc_radius() > 0.005 && s.disc_radius() < 0.05);
        assert_eq!(s, sample(&posed, &grey_layers(), 5000, 7));
    }
}
