// Copies the player's image-encoded RGBA texture onto a window surface or swapchain image:
// pixel for pixel (`vs` + `fs_copy`/`fs_decode`, same size) or scaled to the target with bilinear
// filtering (`vs_scaled` + `fs_scaled_copy`/`fs_scaled_decode`). The copies write the values as
// they are (non-sRGB targets); the decodes convert them to linear first so that an sRGB target's
// hardware encoding restores them.

@group(0) @binding(0) var source: texture_2d<f32>;
@group(0) @binding(1) var bilinear: sampler;

@vertex
fn vs(@builtin(vertex_index) vi: u32) -> @builtin(position) vec4<f32> {
    let uv = vec2<f32>(f32((vi << 1u) & 2u), f32(vi & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

@fragment
fn fs_copy(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return textureLoad(source, vec2<i32>(pos.xy), 0);
}

fn srgb_to_linear(c: vec3<f32>) -> vec3<f32> {
    let lo = c / 12.92;
    let hi = pow((c + 0.055) / 1.055, vec3<f32>(2.4));
    return select(hi, lo, c <= vec3<f32>(0.04045));
}

@fragment
fn fs_decode(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let c = textureLoad(source, vec2<i32>(pos.xy), 0);
    return vec4<f32>(srgb_to_linear(c.rgb), c.a);
}

struct Scaled {
    @builtin(position) pos: vec4<f32>,
    @location(0) uv: vec2<f32>,
}

@vertex
fn vs_scaled(@builtin(vertex_index) vi: u32) -> Scaled {
    let uv = vec2<f32>(f32((vi << 1u) & 2u), f32(vi & 2u));
    var out: Scaled;
    out.pos = vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
    // Clip space points up, texture rows go down.
    out.uv = vec2<f32>(uv.x, 1.0 - uv.y);
    return out;
}

@fragment
fn fs_scaled_copy(in: Scaled) -> @location(0) vec4<f32> {
    return textureSampleLevel(source, bilinear, in.uv, 0.0);
}

@fragment
fn fs_scaled_decode(in: Scaled) -> @location(0) vec4<f32> {
    let c = textureSampleLevel(source, bilinear, in.uv, 0.0);
    return vec4<f32>(srgb_to_linear(c.rgb), c.a);
}
