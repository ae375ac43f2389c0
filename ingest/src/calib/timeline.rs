//! Board views of cameras that did not record frame-synchronously, put on one timeline.
//!
//! Each camera's frames are paired with the nearest instant of a common timeline (frames of the
//! common rate counted from the earliest camera's start, so that `frame` of every view is a
//! common instant). Frames of a camera whose offset is not a whole number of frames lie up to
//! half a frame away from those instants: a board that moves meanwhile is seen at different
//! places by the cameras, so such views may only be combined with other cameras' views (the
//! extrinsics) when the board stands still in them; every view still serves the intrinsics.

use std::collections::HashMap;

use super::intrinsics::MIN_CORNERS;
use super::views::View;

/// Largest corner motion in pixels between a view and the same camera's neighbouring frames for
/// the board to count as still.
pub const STILL_PX: f64 = 0.5;
/// Largest distance in seconds of a camera's frames from the common instants for its views to
/// count as simultaneous with the other cameras' even while the board moves.
pub const SIMULTANEOUS_S: f64 = 0.0005;

/// Renumbers one camera's `views` (frames of its own video, ascending, every `step`-th frame
/// decoded) to the common instants and marks which are simultaneous with the other cameras'.
/// The camera started `offset_s` later than the reference camera and `earliest_s` is the
/// earliest offset of all cameras; `fps` is the common frame rate. Returns how many views show
/// the board still.
pub fn place_on_timeline(
    views: &mut [View],
    offset_s: f64,
    earliest_s: f64,
    fps: f64,
    step: usize,
) -> usize {
    let exact = (offset_s - earliest_s) * fps;
    let shift = exact.round().max(0.0) as usize;
    let synchronous = ((exact - shift as f64) / fps).abs() <= SIMULTANEOUS_S;
    let by_frame: HashMap<usize, usize> = views
        .iter()
        .enumerate()
        .map(|(i, v)| (v.frame, i))
        .collect();
    let still: Vec<bool> = views
        .iter()
        .map(|v| {
            let neighbour = |frame: Option<usize>| {
                frame
                    .and_then(|f| by_frame.get(&f))
                    .and_then(|&i| largest_motion(v, &views[i]))
                    .is_some_and(|m| m < STILL_PX)
            };
            neighbour(v.frame.checked_sub(step)) && neighbour(v.frame.checked_add(step))
        })
        .collect();
    for (v, &s) in views.iter_mut().zip(&still) {
        v.frame += shift;
        v.simultaneous = synchronous || s;
    }
    still.iter().filter(|&&s| s).count()
}

/// The largest displacement in pixels of a corner seen in both views, or `None` when they share
/// too few corners to tell.
fn largest_motion(a: &View, b: &View) -> Option<f64> {
    let other: HashMap<u32, glam::DVec2> = b.corners.iter().copied().collect();
    let moves: Vec<f64> = a
        .corners
        .iter()
        .filter_map(|(id, p)| other.get(id).map(|q| p.distance(*q)))
        .collect();
    (moves.len() >= MIN_CORNERS).then(|| moves.iter().copied().fold(0.0, f64::max))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glam::DVec2;

    fn view(frame: usize, dx: f64) -> View {
        View {
            frame,
            corners: (0..10)
                .map(|i| (i, DVec2::new(10.0 * i as f64 + dx, 5.0)))
                .collect(),
            simultaneous: true,
        }
    }

    #[test]
    fn still_views_are_the_ones_whose_neighbours_agree() {
        // Frames 0–3 held, then the board moves 2 px a frame; frame 6 is missing.
        let mut views: Vec<View> = [0.0, 0.1, 0.2, 0.1, 2.0, 4.0]
            .iter()
            .enumerate()
            .map(|(f, &dx)| view(f, dx))
            .collect();
        views.push(view(7, 4.0));
        // 30 fps, 21 ms late against an earliest start of −13 ms: 34 ms ≈ 1.02 frames.
        let still = place_on_timeline(&mut views, 0.021, -0.013, 30.0, 1);
        let marks: Vec<(usize, bool)> = views.iter().map(|v| (v.frame, v.simultaneous)).collect();
        assert_eq!(
            marks,
            [
                (1, false),
                (2, true),
                (3, true),
                (4, false),
                (5, false),
                (6, false),
                (8, false)
            ]
        );
        assert_eq!(still, 2);
    }

    #[test]
    fn frames_on_the_common_instants_are_simultaneous_even_when_moving() {
        let mut views: Vec<View> = (0..4).map(|f| view(f, 3.0 * f as f64)).collect();
        // Exactly two frames late at 25 fps.
        assert_eq!(place_on_timeline(&mut views, 0.08, 0.0, 25.0, 1), 0);
        assert!(views.iter().all(|v| v.simultaneous));
        assert_eq!(views[0].frame, 2);
    }
}
