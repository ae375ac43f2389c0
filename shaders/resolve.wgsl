// Compute path, last pass: one 16×16 workgroup per tile. Each invocation owns one pixel and keeps
// its K nearest covering points in a sorted private list while the workgroup streams the tile's
// point list through shared memory; then it composites them front to back into the output.

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<storage, read> proj: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> colour: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> tile_count: array<u32>;
@group(0) @binding(4) var<storage, read> tile_offset: array<u32>;
@group(0) @binding(5) var<storage, read> list: array<u32>;
@group(0) @binding(6) var out_tex: texture_storage_2d<OUTPUT_FORMAT, write>;

// Largest supported K.
const KMAX: u32 = 32u;

var<workgroup> batch_proj: array<vec4<f32>, 256>;
var<workgroup> batch_index: array<u32, 256>;

@compute @workgroup_size(16, 16)
fn resolve(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid3: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let tile = wid.y * view.counts.w + wid.x;
    let pixel = wid.xy * TILE + lid3.xy;
    let q = vec2<f32>(pixel);
    let k = min(view.counts.y, KMAX);
    let start = tile_offset[tile];
    let n = tile_count[tile];

    var zs: array<f32, KMAX>;
    var ids: array<u32, KMAX>;
    var d2s: array<f32, KMAX>;
    var filled = 0u;

    for (var base = 0u; base < n; base += 256u) {
        workgroupBarrier();
        if base + lid < n {
            let idx = list[start + base + lid];
            batch_index[lid] = idx;
            batch_proj[lid] = proj[idx];
        }
        workgroupBarrier();
        let m = min(256u, n - base);
        for (var j = 0u; j < m; j++) {
            let p = batch_proj[j];
            let dx = q.x - p.x;
            let dy = q.y - p.y;
            let d2 = dx * dx + dy * dy;
            if d2 >= p.w * p.w {
                continue;
            }
            let z = p.z;
            if filled == k && z >= zs[k - 1u] {
                if z == zs[k - 1u] && batch_index[j] < ids[k - 1u] {
                    ids[k - 1u] = batch_index[j];
                    d2s[k - 1u] = d2;
                }
                continue;
            }
            // First slot whose depth is >= z.
            var pos = 0u;
            while pos < filled && zs[pos] < z {
                pos++;
            }
            if pos < filled && zs[pos] == z {
                if batch_index[j] < ids[pos] {
                    ids[pos] = batch_index[j];
                    d2s[pos] = d2;
                }
                continue;
            }
            var e = min(filled, k - 1u);
            while e > pos {
                zs[e] = zs[e - 1u];
                ids[e] = ids[e - 1u];
                d2s[e] = d2s[e - 1u];
                e--;
            }
            zs[pos] = z;
            ids[pos] = batch_index[j];
            d2s[pos] = d2;
            filled = min(filled + 1u, k);
        }
    }

    if pixel.x >= u32(view.size.x) || pixel.y >= u32(view.size.y) {
        return;
    }
    var c = vec3<f32>(0.0);
    var t = 1.0;
    for (var l = 0u; l < filled; l++) {
        let p = proj[ids[l]];
        let col = colour[ids[l]];
        let alpha = clamp(col.a * (1.0 - d2s[l] / (p.w * p.w)), 0.0, 1.0);
        c += t * alpha * col.rgb;
        t *= 1.0 - alpha;
    }
    let bg = view.background;
    textureStore(out_tex, pixel, vec4<f32>(c + t * bg.rgb * bg.a, 1.0 - t * (1.0 - bg.a)));
}
