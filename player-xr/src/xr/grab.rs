//! Grabbing the clip with the controllers: one hand moves it and turns it about the vertical,
//! two hands also scale it (by the change in their distance) and turn it (by the change in the
//! direction between them). The clip stays upright.

use glam::{DQuat, DVec3};

use crate::xr::eye::Pose;
use crate::xr::placement::{Placement, yaw_of};

/// Smallest and largest scale a grab can reach.
pub const SCALE_RANGE: (f64, f64) = (0.05, 20.0);

/// Which hands hold the grab button, with their grip poses.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Hands {
    /// Left grip pose while the left grab is held.
    pub left: Option<Pose>,
    /// Right grip pose while the right grab is held.
    pub right: Option<Pose>,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Held {
    One {
        hand: Pose,
        start: Placement,
    },
    Two {
        mid: DVec3,
        span: DVec3,
        start: Placement,
    },
}

/// The grab in progress, if any.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Grab {
    held: Option<(Held, (bool, bool))>,
}

fn horizontal(v: DVec3) -> DVec3 {
    DVec3::new(v.x, 0.0, v.z)
}

impl Grab {
    /// True while at least one hand holds the clip.
    pub fn active(&self) -> bool {
        self.held.is_some()
    }

    /// Updates the grab with this frame's `hands` and returns the clip's new placement
    /// (`current` when nothing is held). A change in which hands hold restarts the grab from
    /// the current placement, so nothing jumps.
    pub fn update(&mut self, hands: &Hands, current: Placement) -> Placement {
        let which = (hands.left.is_some(), hands.right.is_some());
        if self.held.is_none_or(|(_, w)| w != which) {
            self.held = match (hands.left, hands.right) {
                (Some(l), Some(r)) => Some((
                    Held::Two {
                        mid: (l.position + r.position) * 0.5,
                        span: horizontal(r.position - l.position),
                        start: current,
                    },
                    which,
                )),
                (Some(h), None) | (None, Some(h)) => Some((
                    Held::One {
                        hand: h,
                        start: current,
                    },
                    which,
                )),
                (None, None) => None,
            };
            return current;
        }
        let Some((held, _)) = self.held else {
            return current;
        };
        match (held, hands.left, hands.right) {
            (Held::One { hand, start }, l, r) => {
                let now = l.or(r).expect("one hand holds");
                let turn = yaw_of(now.forward()) - yaw_of(hand.forward());
                let rot = DQuat::from_rotation_y(turn);
                Placement {
                    position: now.position + rot * (start.position - hand.position),
                    yaw: start.yaw + turn,
                    scale: start.scale,
                }
            }
            (Held::Two { mid, span, start }, Some(l), Some(r)) => {
                let mid_now = (l.position + r.position) * 0.5;
                let span_now = horizontal(r.position - l.position);
                let (d0, d1) = (span.length(), span_now.length());
                let ratio = if d0 > 1e-3 && d1 > 1e-3 { d1 / d0 } else { 1.0 };
                let scale = (start.scale * ratio).clamp(SCALE_RANGE.0, SCALE_RANGE.1);
                let k = scale / start.scale;
                // Signed angle about +y from the old span to the new one.
                let turn = if d0 > 1e-3 && d1 > 1e-3 {
                    span.cross(span_now).y.atan2(span.dot(span_now))
                } else {
                    0.0
                };
                let rot = DQuat::from_rotation_y(turn);
                Placement {
                    position: mid_now + rot * (start.position - mid) * k,
                    yaw: start.yaw + turn,
                    scale,
                }
            }
            (Held::Two { .. }, _, _) => current,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: f64, y: f64, z: f64) -> Pose {
        Pose {
            position: DVec3::new(x, y, z),
            orientation: DQuat::IDENTITY,
        }
    }

    const START: Placement = Placement {
        position: DVec3::new(0.0, 0.0, -2.0),
        yaw: 0.0,
        scale: 1.0,
    };

    #[test]
    fn one_hand_carries_and_turns_the_clip() {
        let mut g = Grab::default();
        let p = g.update(
            &Hands {
                left: None,
                right: Some(at(0.3, 1.0, -0.5)),
            },
            START,
        );
        assert_eq!(p, START);
        let p = g.update(
            &Hands {
                left: None,
                right: Some(at(0.5, 1.2, -0.5)),
            },
            p,
        );
        assert!((p.position - DVec3::new(0.2, 0.2, -2.0)).length() < 1e-9);
        let mut turned = at(0.5, 1.2, -0.5);
        turned.orientation = DQuat::from_rotation_y(0.5);
        let q = g.update(
            &Hands {
                left: None,
                right: Some(turned),
            },
            p,
        );
        assert!((q.yaw - 0.5).abs() < 1e-9);
        // The hand-to-clip offset turned with the hand.
        let offset = q.position - turned.position;
        assert!((offset.length() - DVec3::new(-0.3, -1.0, -1.5).length()).abs() < 1e-9);
        let released = g.update(&Hands::default(), q);
        assert_eq!(released, q);
        assert!(!g.active());
    }

    #[test]
    fn two_hands_scale_and_turn_about_their_midpoint() {
        let mut g = Grab::default();
        let hands = Hands {
            left: Some(at(-0.2, 1.0, -1.0)),
            right: Some(at(0.2, 1.0, -1.0)),
        };
        let p = g.update(&hands, START);
        // Hands twice as far apart: the clip doubles and moves away from the midpoint.
        let wide = Hands {
            left: Some(at(-0.4, 1.0, -1.0)),
            right: Some(at(0.4, 1.0, -1.0)),
        };
        let p2 = g.update(&wide, p);
        assert!((p2.scale - 2.0).abs() < 1e-9);
        assert!((p2.position - DVec3::new(0.0, -1.0, -3.0)).length() < 1e-9);
        // Turning the pair of hands by 90° about the vertical turns the clip the same way.
        let turned = Hands {
            left: Some(at(0.0, 1.0, -0.6)),
            right: Some(at(0.0, 1.0, -1.4)),
        };
        let p3 = g.update(&turned, p2);
        assert!(
            (p3.yaw - std::f64::consts::FRAC_PI_2).abs() < 1e-9,
            "{}",
            p3.yaw
        );
        // The right hand moved from +x to −z (away from the viewer): so did the clip's x axis.
        let r = DQuat::from_rotation_y(p3.yaw) * DVec3::X;
        assert!((r - DVec3::NEG_Z).length() < 1e-9, "{r}");
        assert!((p3.scale - 2.0).abs() < 1e-9);
    }
}
