// Multiview entry points of `peel.wgsl` (appended to it where the device has multiview): one
// pass draws both views, view v into texture layer v, from view v's projected points.

@group(0) @binding(4) var<storage, read> proj_1: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> colour_1: array<vec4<f32>>;

@vertex
fn vs_stereo(
    @builtin(vertex_index) vi: u32,
    @builtin(instance_index) i: u32,
    @builtin(view_index) v: u32,
) -> VsOut {
    if v == 0u {
        return peel_vertex(vi, proj_0[i], colour_0[i]);
    }
    return peel_vertex(vi, proj_1[i], colour_1[i]);
}

@fragment
fn fs_stereo(in: VsOut, @builtin(view_index) v: u32) -> FsOut {
    return peel_fragment(in, v);
}
