// Shared by every Yakumo player shader: the per-view uniform block.
// Rendering rule: see yakumo_core::render_ref (the CPU reference these shaders must match).

struct View {
    // Rows of the world->camera rotation; w holds the translation component.
    rot0: vec4<f32>,
    rot1: vec4<f32>,
    rot2: vec4<f32>,
    // fx, fy, cx, cy (pixels, OpenCV: pixel centres at integer coordinates).
    intr: vec4<f32>,
    // Eye position (world) in xyz; w = skew K[0][1].
    eye: vec4<f32>,
    // Target width, height (pixels), near plane (metres), unused.
    size: vec4<f32>,
    // Background colour composited under the points (rgb) and its alpha.
    background: vec4<f32>,
    // Point count, K (layers), SH coefficients per channel excluding DC, tiles per row.
    counts: vec4<u32>,
}

const TILE: u32 = 16u;
