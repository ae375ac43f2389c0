// Raster depth peeling, one pass per layer. Every point is an instanced screen-aligned square
// around its disc; the fragment keeps pixel centres inside the disc that lie strictly behind the
// previous layer's depth, and the depth test keeps the nearest of those. Outputs the layer's
// premultiplied colour and alpha, and its camera-space depth for the next pass.
//
// The intermediate textures are arrays with a layer per view. `vs`/`fs` draw one view (layer 0);
// `peel_stereo.wgsl`, appended where the device has multiview, draws two views in one pass.

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var prev_depth: texture_2d_array<f32>;
// Per point of view 0 (and of view 1 for the stereo entry points): `(x, y, z, r_px)` with
// z = -1 when culled, and the shaded `(r, g, b, density)`.
@group(0) @binding(2) var<storage, read> proj_0: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> colour_0: array<vec4<f32>>;

struct VsOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) @interpolate(flat) centre: vec3<f32>,
    @location(1) @interpolate(flat) r2: f32,
    @location(2) @interpolate(flat) colour: vec4<f32>,
}

// Extra margin (pixels) around each disc's square so rounding never drops a covered centre.
const MARGIN: f32 = 0.015625;

// Corner `vi` (0..4, a triangle strip) of the square around point `p` with colour `c`.
fn peel_vertex(vi: u32, p: vec4<f32>, c: vec4<f32>) -> VsOut {
    var out: VsOut;
    out.centre = p.xyz;
    out.r2 = p.w * p.w;
    out.colour = c;
    if p.z <= 0.0 {
        out.pos = vec4<f32>(2.0, 2.0, 2.0, 1.0); // culled: outside the clip volume
        return out;
    }
    let corner = vec2<f32>(f32(vi & 1u), f32(vi >> 1u)) * 2.0 - 1.0;
    let px = p.xy + corner * (p.w + MARGIN);
    let ndc = vec2<f32>((px.x + 0.5) / view.size.x * 2.0 - 1.0, 1.0 - (px.y + 0.5) / view.size.y * 2.0);
    // Any increasing map of z into (0, 1) works for the depth test.
    out.pos = vec4<f32>(ndc, p.z / (p.z + 1.0), 1.0);
    return out;
}

struct FsOut {
    @location(0) layer: vec4<f32>,
    @location(1) depth: f32,
}

// The fragment of `in` in texture layer `l`; discarded when it is outside its disc or not
// behind the previous layer.
fn peel_fragment(in: VsOut, l: u32) -> FsOut {
    let q = in.pos.xy - vec2<f32>(0.5);
    let dx = q.x - in.centre.x;
    let dy = q.y - in.centre.y;
    let d2 = dx * dx + dy * dy;
    if d2 >= in.r2 {
        discard;
    }
    let prev = textureLoad(prev_depth, vec2<i32>(in.pos.xy), l, 0).r;
    if in.centre.z <= prev {
        discard;
    }
    let alpha = clamp(in.colour.a * (1.0 - d2 / in.r2), 0.0, 1.0);
    var out: FsOut;
    out.layer = vec4<f32>(in.colour.rgb * alpha, alpha);
    out.depth = in.centre.z;
    return out;
}

@vertex
fn vs(@builtin(vertex_index) vi: u32, @builtin(instance_index) i: u32) -> VsOut {
    return peel_vertex(vi, proj_0[i], colour_0[i]);
}

@fragment
fn fs(in: VsOut) -> FsOut {
    return peel_fragment(in, 0u);
}
