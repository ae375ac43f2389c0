//! Which cameras train and which are held out for evaluation, and which training cameras serve as
//! blending sources for a view.

use std::str::FromStr;

use glam::DVec3;
use serde::{Deserialize, Serialize};
use yakumo_core::Camera;

/// How held-out cameras are chosen: a count spread evenly over the sorted cameras, or names.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Holdout {
    /// This many cameras, evenly spaced through the name order.
    Count(usize),
    /// These cameras.
    Cameras(Vec<String>),
}

impl Holdout {
    /// Number of held-out cameras.
    pub fn len(&self) -> usize {
        match self {
            Holdout::Count(n) => *n,
            Holdout::Cameras(names) => names.len(),
        }
    }

    /// True when no camera is held out.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl FromStr for Holdout {
    type Err = String;

    /// `N` (a count, written without leading zeros) or `CAM[,CAM…]` (camera names; a single
    /// numeric name needs its leading zeros, e.g. `01`, as datasets name cameras).
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if let Ok(n) = t.parse::<usize>()
            && (t == "0" || !t.starts_with('0'))
        {
            return Ok(Holdout::Count(n));
        }
        let names: Vec<String> = s
            .split(',')
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .collect();
        if names.is_empty() {
            return Err(format!(
                "`{s}` is neither a count nor a list of camera names"
            ));
        }
        Ok(Holdout::Cameras(names))
    }
}

/// Training and held-out camera indices (into the dataset's sorted cameras).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Split {
    /// Cameras whose images are targets and blending sources.
    pub train: Vec<usize>,
    /// Cameras used only for evaluation.
    pub held_out: Vec<usize>,
}

impl Split {
    /// Splits `cameras` according to `holdout`; errors name unknown cameras.
    pub fn new(cameras: &[Camera], holdout: &Holdout) -> Result<Split, String> {
        let n = cameras.len();
        let held_out: Vec<usize> = match holdout {
            Holdout::Count(k) => {
                if *k >= n {
                    return Err(format!("cannot hold out {k} of {n} cameras"));
                }
                (0..*k).map(|j| ((2 * j + 1) * n) / (2 * k)).collect()
            }
            Holdout::Cameras(names) => names
                .iter()
                .map(|name| {
                    cameras.iter().position(|c| &c.name == name).ok_or_else(|| {
                        let known: Vec<&str> = cameras.iter().map(|c| c.name.as_str()).collect();
                        format!(
                            "held-out camera {name} is not in the dataset ({})",
                            known.join(", ")
                        )
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        let train = (0..n).filter(|i| !held_out.contains(i)).collect();
        Ok(Split { train, held_out })
    }
}

/// The `count` cameras among `candidates` whose centres are nearest to `eye`, nearest first,
/// skipping `exclude`.
pub fn nearest_sources(
    cameras: &[Camera],
    candidates: &[usize],
    eye: DVec3,
    exclude: Option<usize>,
    count: usize,
) -> Vec<usize> {
    let mut order: Vec<(f64, usize)> = candidates
        .iter()
        .filter(|&&i| Some(i) != exclude)
        .map(|&i| (cameras[i].centre().distance_squared(eye), i))
        .collect();
    order.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
    order.into_iter().take(count).map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(n: usize) -> Vec<Camera> {
        (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                Camera::look_at(
                    format!("{i:02}"),
                    (8, 8),
                    (8.0, 8.0),
                    (3.5, 3.5),
                    DVec3::new(a.cos() * 2.0, a.sin() * 2.0, 1.0),
                    DVec3::ZERO,
                    DVec3::Z,
                )
            })
            .collect()
    }

    #[test]
    fn counts_spread_and_names_resolve() {
        let cams = ring(8);
        let s = Split::new(&cams, &Holdout::Count(2)).unwrap();
        assert_eq!(s.held_out, vec![2, 6]);
        assert_eq!(s.train, vec![0, 1, 3, 4, 5, 7]);
        let s = Split::new(&cams, &"03,05".parse().unwrap()).unwrap();
        assert_eq!(s.held_out, vec![3, 5]);
        let e = Split::new(&cams, &"09".parse().unwrap()).unwrap_err();
        assert!(e.contains("09") && e.contains("not in the dataset"), "{e}");
        assert!(Split::new(&cams, &Holdout::Count(8)).is_err());
    }

    #[test]
    fn sources_are_nearest_first_without_the_excluded() {
        let cams = ring(8);
        let all: Vec<usize> = (0..8).collect();
        let near = nearest_sources(&cams, &all, cams[2].centre(), Some(2), 3);
        assert_eq!(
            near[0..2]
                .iter()
                .copied()
                .collect::<std::collections::BTreeSet<_>>(),
            [1, 3].into()
        );
        assert!(near[2] == 0 || near[2] == 4);
        assert_eq!(
            nearest_sources(&cams, &all, cams[2].centre(), None, 1),
            vec![2]
        );
    }
}
