// Per view: project every point (x, y, z, r_px) and evaluate its view-dependent SH colour.
// A culled point gets z = -1.

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<storage, read> points: array<vec4<f32>>;   // position, radius
@group(0) @binding(2) var<storage, read> base: array<vec4<f32>>;     // base colour, density
@group(0) @binding(3) var<storage, read> sh_rest: array<f32>;        // [point][channel][coef]
@group(0) @binding(4) var<storage, read_write> proj: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read_write> colour: array<vec4<f32>>;

const SH_C1: f32 = 0.4886025119029199;
const SH_C2: vec3<f32> = vec3<f32>(1.0925484305920792, 0.31539156525252005, 0.5462742152960396);
const SH_C3A: vec3<f32> = vec3<f32>(0.5900435899266435, 2.890611442640554, 0.4570457994644658);
const SH_C3B: vec2<f32> = vec2<f32>(0.3731763325901154, 1.445305721320277);

// Real SH basis values 1..=15 (DC excluded) for a unit direction, as yakumo_core::sh::eval_basis.
fn sh_basis(d: vec3<f32>) -> array<f32, 15> {
    var y: array<f32, 15>;
    let x = d.x;
    let yy_ = d.y;
    let z = d.z;
    y[0] = -SH_C1 * yy_;
    y[1] = SH_C1 * z;
    y[2] = -SH_C1 * x;
    let xx = x * x;
    let yy = yy_ * yy_;
    let zz = z * z;
    y[3] = SH_C2.x * x * yy_;
    y[4] = -SH_C2.x * yy_ * z;
    y[5] = SH_C2.y * (2.0 * zz - xx - yy);
    y[6] = -SH_C2.x * x * z;
    y[7] = SH_C2.z * (xx - yy);
    y[8] = -SH_C3A.x * yy_ * (3.0 * xx - yy);
    y[9] = SH_C3A.y * x * yy_ * z;
    y[10] = -SH_C3A.z * yy_ * (4.0 * zz - xx - yy);
    y[11] = SH_C3B.x * z * (2.0 * zz - 3.0 * xx - 3.0 * yy);
    y[12] = -SH_C3A.z * x * (4.0 * zz - xx - yy);
    y[13] = SH_C3B.y * z * (xx - yy);
    y[14] = -SH_C3A.x * x * (xx - 3.0 * yy);
    return y;
}

@compute @workgroup_size(256)
fn prepare(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if i >= view.counts.x {
        return;
    }
    let pr = points[i];
    let p = pr.xyz;
    let xc = view.rot0.x * p.x + view.rot0.y * p.y + view.rot0.z * p.z + view.rot0.w;
    let yc = view.rot1.x * p.x + view.rot1.y * p.y + view.rot1.z * p.z + view.rot1.w;
    let zc = view.rot2.x * p.x + view.rot2.y * p.y + view.rot2.z * p.z + view.rot2.w;
    var out = vec4<f32>(0.0, 0.0, -1.0, 0.0);
    if zc > view.size.z {
        let inv_z = 1.0 / zc;
        let xn = xc * inv_z;
        let yn = yc * inv_z;
        let x = view.intr.x * xn + view.eye.w * yn + view.intr.z;
        let y = view.intr.y * yn + view.intr.w;
        let r = view.intr.y * pr.w * inv_z;
        // Cull points whose disc misses the image (no pixel centre can be covered).
        let inside = x + r > 0.0 && y + r > 0.0 && x - r < view.size.x - 1.0 && y - r < view.size.y - 1.0;
        if r > 0.0 && inside {
            out = vec4<f32>(x, y, zc, r);
        }
    }
    proj[i] = out;

    let b = base[i];
    var c = b.rgb;
    let m = view.counts.z;
    if m > 0u {
        let dir = p - view.eye.xyz;
        let len = sqrt(dot(dir, dir));
        var d = vec3<f32>(0.0);
        if len > 0.0 {
            d = dir / len;
        }
        var y = sh_basis(d);
        let o = i * 3u * m;
        for (var ch = 0u; ch < 3u; ch++) {
            var s = 0.0;
            for (var j = 0u; j < m; j++) {
                s += sh_rest[o + ch * m + j] * y[j];
            }
            c[ch] += s;
        }
    }
    colour[i] = vec4<f32>(clamp(c, vec3<f32>(0.0), vec3<f32>(1.0)), b.a);
}
