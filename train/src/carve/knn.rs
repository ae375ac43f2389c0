//! Neighbour queries on point sets through a uniform hash grid.

use std::collections::HashMap;

use glam::DVec3;

/// Points bucketed into cubic cells of a fixed edge, for nearest-neighbour queries.
#[derive(Clone, Debug)]
pub struct PointGrid<'a> {
    points: &'a [DVec3],
    cell: f64,
    /// Cell key → range in `order`.
    buckets: HashMap<[i64; 3], (usize, usize)>,
    /// Point indices sorted by cell.
    order: Vec<usize>,
}

impl<'a> PointGrid<'a> {
    /// Buckets `points` into cells of edge `cell` metres (positive).
    pub fn new(points: &'a [DVec3], cell: f64) -> PointGrid<'a> {
        assert!(cell > 0.0, "grid cell must be positive");
        let key = |p: DVec3| (p / cell).floor().as_i64vec3().to_array();
        let mut order: Vec<usize> = (0..points.len()).collect();
        order.sort_unstable_by_key(|&i| key(points[i]));
        let mut buckets = HashMap::new();
        let mut start = 0;
        while start < order.len() {
            let k = key(points[order[start]]);
            let mut end = start + 1;
            while end < order.len() && key(points[order[end]]) == k {
                end += 1;
            }
            buckets.insert(k, (start, end));
            start = end;
        }
        PointGrid {
            points,
            cell,
            buckets,
            order,
        }
    }

    fn key(&self, p: DVec3) -> [i64; 3] {
        (p / self.cell).floor().as_i64vec3().to_array()
    }

    /// Calls `f(index, point)` for every point in the cells within `rings` cells (Chebyshev) of
    /// the cell of `p`.
    fn for_each_near(&self, p: DVec3, rings: i64, mut f: impl FnMut(usize, DVec3)) {
        let [kx, ky, kz] = self.key(p);
        for z in kz - rings..=kz + rings {
            for y in ky - rings..=ky + rings {
                for x in kx - rings..=kx + rings {
                    if let Some(&(s, e)) = self.buckets.get(&[x, y, z]) {
                        for &i in &self.order[s..e] {
                            f(i, self.points[i]);
                        }
                    }
                }
            }
        }
    }

    /// The point nearest to `p` within `max_distance`, as (index, distance).
    pub fn nearest(&self, p: DVec3, max_distance: f64) -> Option<(usize, f64)> {
        let max_rings = (max_distance / self.cell).ceil() as i64 + 1;
        let [kx, ky, kz] = self.key(p);
        let mut best: Option<(usize, f64)> = None;
        for ring in 0..=max_rings {
            for z in kz - ring..=kz + ring {
                for y in ky - ring..=ky + ring {
                    for x in kx - ring..=kx + ring {
                        let on_shell =
                            (x - kx).abs().max((y - ky).abs()).max((z - kz).abs()) == ring;
                        if !on_shell {
                            continue;
                        }
                        if let Some(&(s, e)) = self.buckets.get(&[x, y, z]) {
                            for &i in &self.order[s..e] {
                                let d = self.points[i].distance(p);
                                if d <= max_distance && best.is_none_or(|(_, bd)| d < bd) {
                                    best = Some((i, d));
                                }
                            }
                        }
                    }
                }
            }
            // Cells beyond this ring are at least `ring · cell` away.
            if best.is_some_and(|(_, d)| d <= ring as f64 * self.cell) {
                break;
            }
        }
        best
    }

    /// Mean distance from point `i` to its `k` nearest other points, counting neighbours not
    /// found within `radius` as `radius` away.
    pub fn mean_knn_distance(&self, i: usize, k: usize, radius: f64) -> f64 {
        let p = self.points[i];
        let mut d: Vec<f64> = Vec::new();
        self.for_each_near(p, (radius / self.cell).ceil() as i64, |j, q| {
            let dist = q.distance(p);
            if j != i && dist <= radius {
                d.push(dist);
            }
        });
        let found = k.min(d.len());
        if found > 0 {
            d.select_nth_unstable_by(found - 1, f64::total_cmp);
        }
        let sum: f64 = d[..found].iter().sum::<f64>() + (k - found) as f64 * radius;
        sum / k as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_matches_brute_force() {
        let pts: Vec<DVec3> = (0..500)
            .map(|i| {
                let f = i as f64;
                DVec3::new(
                    (f * 0.37).sin(),
                    (f * 0.91).cos() * 0.5,
                    (f * 0.13).sin() * 0.8,
                )
            })
            .collect();
        let grid = PointGrid::new(&pts, 0.07);
        for j in 0..200 {
            let f = j as f64;
            let q = DVec3::new((f * 1.7).cos(), (f * 0.3).sin(), (f * 2.3).cos() * 0.9);
            let brute = pts
                .iter()
                .map(|p| p.distance(q))
                .fold(f64::INFINITY, f64::min);
            match grid.nearest(q, 0.5) {
                Some((i, d)) => {
                    assert!((d - brute).abs() < 1e-12, "query {q}: {d} vs {brute}");
                    assert!((pts[i].distance(q) - d).abs() < 1e-12);
                }
                None => assert!(brute > 0.5),
            }
        }
    }

    #[test]
    fn knn_distance_pads_missing_neighbours() {
        let pts = [DVec3::ZERO, DVec3::X * 0.1, DVec3::X * 0.3, DVec3::X * 5.0];
        let grid = PointGrid::new(&pts, 0.25);
        assert!((grid.mean_knn_distance(0, 2, 1.0) - 0.2).abs() < 1e-12);
        assert!((grid.mean_knn_distance(3, 2, 1.0) - 1.0).abs() < 1e-12);
    }
}
