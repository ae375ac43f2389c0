// Front-to-back compositing of peeled layers. The accumulator holds (C.rgb, T): premultiplied
// colour so far and the remaining transmittance. `accumulate` adds one layer; `finish` writes
// C + T·background with alpha 1 − T into the output target. The inputs are arrays with a layer
// per view: these entry points read layer 0, `composite_stereo.wgsl`'s read the pass's view.

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var accum: texture_2d_array<f32>;
@group(0) @binding(2) var layer: texture_2d_array<f32>;

@vertex
fn vs(@builtin(vertex_index) vi: u32) -> @builtin(position) vec4<f32> {
    // One triangle covering the whole target.
    let uv = vec2<f32>(f32((vi << 1u) & 2u), f32(vi & 2u));
    return vec4<f32>(uv * 2.0 - 1.0, 0.0, 1.0);
}

// The accumulator at `pos` of texture layer `l` with that layer's peeled layer added.
fn accumulated(pos: vec4<f32>, l: u32) -> vec4<f32> {
    let xy = vec2<i32>(pos.xy);
    let acc = textureLoad(accum, xy, l, 0);
    let p = textureLoad(layer, xy, l, 0);
    return vec4<f32>(acc.rgb + acc.a * p.rgb, acc.a * (1.0 - p.a));
}

// The output colour of accumulator `acc` (the last layer added) over the background.
fn finished(acc: vec4<f32>) -> vec4<f32> {
    return vec4<f32>(acc.rgb + acc.a * view.background.rgb * view.background.a, 1.0 - acc.a * (1.0 - view.background.a));
}

@fragment
fn accumulate(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return accumulated(pos, 0u);
}

@fragment
fn finish(@builtin(position) pos: vec4<f32>) -> @location(0) vec4<f32> {
    return finished(accumulated(pos, 0u));
}
