// Multiview self-test: one full-screen triangle drawn into both views of a 2-layer target. Every
// pixel of layer l must read (l, l, 0, 1): red from the view index the vertex stage saw, green
// from the one the fragment stage sees. A driver that draws every view into layer 0 (Mesa 22's
// lavapipe) or mixes the indices up fails it.

struct ProbeOut {
    @builtin(position) pos: vec4<f32>,
    @location(0) @interpolate(flat) vertex_view: u32,
}

@vertex
fn vs(@builtin(vertex_index) vi: u32, @builtin(view_index) v: u32) -> ProbeOut {
    var out: ProbeOut;
    let uv = vec2<f32>(f32((vi << 1u) & 2u), f32(vi & 2u));
    out.pos = vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
    out.vertex_view = v;
    return out;
}

@fragment
fn fs(in: ProbeOut, @builtin(view_index) v: u32) -> @location(0) vec4<f32> {
    return vec4<f32>(f32(in.vertex_view), f32(v), 0.0, 1.0);
}
