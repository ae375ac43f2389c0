// Front-to-back compositing of peeled layers. The accumulator holds (C.rgb, T): premultiplied
// colour so far and the remaining transmittance. `accumulate` adds one layer; `finish` writes
// C + T·background with alpha 1 − T into the output target.

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var accum: texture_2d<f32>;
@group(0) @binding(2) var layer: texture_2d<f32>;

@vertex
fn vs(@builtin(vertex_index) vi: u32) -> @builtin(position) vec4<f32> {
    // One triangle covering the whole target.
    let uv = vec2<f32>(f32((vi << 1u) & 2u), f32(vi & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

@fragment
fn accumulate(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let xy = vec2<i32>(pos.xy);
    let acc = textureLoad(accum, xy, 0);
    let l = textureLoad(layer, xy, 0);
    return vec4<f32>(acc.rgb + acc.a * l.rgb, acc.a * (1.0 - l.a));
}

@fragment
fn finish(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    let xy = vec2<i32>(pos.xy);
    let acc = textureLoad(accum, xy, 0);
    let l = textureLoad(layer, xy, 0);
    let c = acc.rgb + acc.a * l.rgb;
    let t = acc.a * (1.0 - l.a);
    return vec4<f32>(c + t * view.background.rgb * view.background.a, 1.0 - t * (1.0 - view.background.a));
}
