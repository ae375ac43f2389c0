// Compute path: bin projected points into 16×16-pixel tiles, then one workgroup per tile keeps
// each pixel's K nearest covering points (strictly increasing depth; equal depths keep the lowest
// index) and composites them front to back.
//
// Passes: count (per point, atomically counts the tiles its disc may touch) -> scan (exclusive
// prefix sum of tile counts, one workgroup) -> scatter (per point, writes its index into each
// tile's list) -> resolve (per tile).

@group(0) @binding(0) var<uniform> view: View;
@group(0) @binding(1) var<storage, read> proj: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> tile_count: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> tile_offset: array<u32>;
@group(0) @binding(4) var<storage, read_write> tile_cursor: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> list: array<u32>;
// [0] = total list entries needed, [1] = capacity of `list`.
@group(0) @binding(6) var<storage, read_write> totals: array<u32, 2>;

struct TileRange {
    lo: vec2<u32>,
    hi: vec2<u32>,
    empty: bool,
}

fn point_index(gid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return gid.x + gid.y * nwg.x * 256u;
}

// Tiles holding pixel centres u with |u − x| < r (same for v), clipped to the image.
fn tile_range(p: vec4<f32>) -> TileRange {
    var t: TileRange;
    t.empty = true;
    if p.z <= 0.0 {
        return t;
    }
    let w = i32(view.size.x);
    let h = i32(view.size.y);
    let u0 = max(i32(floor(p.x - p.w)) + 1, 0);
    let u1 = min(i32(ceil(p.x + p.w)) - 1, w - 1);
    let v0 = max(i32(floor(p.y - p.w)) + 1, 0);
    let v1 = min(i32(ceil(p.y + p.w)) - 1, h - 1);
    if u0 > u1 || v0 > v1 {
        return t;
    }
    t.lo = vec2<u32>(u32(u0), u32(v0)) / TILE;
    t.hi = vec2<u32>(u32(u1), u32(v1)) / TILE;
    t.empty = false;
    return t;
}

@compute @workgroup_size(256)
fn count(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = point_index(gid, nwg);
    if i >= view.counts.x {
        return;
    }
    let t = tile_range(proj[i]);
    if t.empty {
        return;
    }
    for (var ty = t.lo.y; ty <= t.hi.y; ty++) {
        for (var tx = t.lo.x; tx <= t.hi.x; tx++) {
            atomicAdd(&tile_count[ty * view.counts.w + tx], 1u);
        }
    }
}

var<workgroup> partial: array<u32, 256>;

@compute @workgroup_size(256)
fn scan(@builtin(local_invocation_index) lid: u32) {
    let n = arrayLength(&tile_offset);
    let chunk = (n + 255u) / 256u;
    let start = min(lid * chunk, n);
    let end = min(start + chunk, n);
    var sum = 0u;
    for (var i = start; i < end; i++) {
        sum += atomicLoad(&tile_count[i]);
    }
    partial[lid] = sum;
    workgroupBarrier();
    // Hillis–Steele inclusive scan over the 256 partial sums.
    for (var stride = 1u; stride < 256u; stride <<= 1u) {
        var v = 0u;
        if lid >= stride {
            v = partial[lid - stride];
        }
        workgroupBarrier();
        partial[lid] += v;
        workgroupBarrier();
    }
    var running = partial[lid] - sum;
    for (var i = start; i < end; i++) {
        tile_offset[i] = running;
        running += atomicLoad(&tile_count[i]);
    }
    if lid == 255u {
        totals[0] = partial[255];
    }
}

@compute @workgroup_size(256)
fn scatter(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = point_index(gid, nwg);
    if i >= view.counts.x {
        return;
    }
    let t = tile_range(proj[i]);
    if t.empty {
        return;
    }
    let capacity = totals[1];
    for (var ty = t.lo.y; ty <= t.hi.y; ty++) {
        for (var tx = t.lo.x; tx <= t.hi.x; tx++) {
            let tile = ty * view.counts.w + tx;
            let slot = tile_offset[tile] + atomicAdd(&tile_cursor[tile], 1u);
            if slot < capacity {
                list[slot] = i;
            }
        }
    }
}
