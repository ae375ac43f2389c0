// Multiview entry points of `composite.wgsl` (appended to it where the device has multiview):
// each view composites its own texture layer.

@fragment
fn accumulate_stereo(@builtin(position) pos: vec4<f32>, @builtin(view_index) v: u32) -> @location(0) vec4<f32> {
    return accumulated(pos, v);
}

@fragment
fn finish_stereo(@builtin(position) pos: vec4<f32>, @builtin(view_index) v: u32) -> @location(0) vec4<f32> {
    return finished(accumulated(pos, v));
}
