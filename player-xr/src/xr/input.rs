//! Controller actions with suggested bindings for the common interaction profiles.
//!
//! | action | khr/simple | oculus/touch | valve/index |
//! |---|---|---|---|
//! | play / pause | right menu | A | right A |
//! | recentre | left menu | X | left A |
//! | scrub (frames, thumbstick) | — | left stick x | left stick x |
//! | speed (thumbstick) | — | right stick y | right stick y |
//! | grab (move, turn; both hands scale) | select | grip squeeze | grip squeeze |

use openxr as xr;

use crate::xr::eye::Pose;
use crate::xr::grab::Hands;

/// A squeeze past this value holds the clip.
const GRAB_THRESHOLD: f32 = 0.5;

/// What the controllers asked for this frame.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct ControlState {
    /// The play/pause button went down.
    pub play_pause: bool,
    /// The recentre button went down.
    pub recentre: bool,
    /// Scrub thumbstick, −1..1 (0 when unbound).
    pub scrub: f32,
    /// Speed thumbstick, −1..1 (0 when unbound).
    pub speed: f32,
    /// Grip poses of the hands holding grab.
    pub hands: Hands,
}

/// The player's action set, attached to a session.
pub struct Controls {
    set: xr::ActionSet,
    play_pause: xr::Action<bool>,
    recentre: xr::Action<bool>,
    scrub: xr::Action<f32>,
    speed: xr::Action<f32>,
    grab: xr::Action<f32>,
    hand_paths: [xr::Path; 2],
    hand_spaces: [xr::Space; 2],
}

impl std::fmt::Debug for Controls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Controls").finish_non_exhaustive()
    }
}

/// The player's actions, for the binding table.
#[derive(Clone, Copy, Debug)]
enum Act {
    PlayPause,
    Recentre,
    Scrub,
    Speed,
    Grab,
    HandPose,
}

/// One suggested binding: action and input path.
type Suggestion = (Act, &'static str);

/// Suggested bindings per interaction profile.
const PROFILES: [(&str, &[Suggestion]); 3] = [
    (
        "/interaction_profiles/khr/simple_controller",
        &[
            (Act::PlayPause, "/user/hand/right/input/menu/click"),
            (Act::Recentre, "/user/hand/left/input/menu/click"),
            (Act::Grab, "/user/hand/left/input/select/click"),
            (Act::Grab, "/user/hand/right/input/select/click"),
            (Act::HandPose, "/user/hand/left/input/grip/pose"),
            (Act::HandPose, "/user/hand/right/input/grip/pose"),
        ],
    ),
    (
        "/interaction_profiles/oculus/touch_controller",
        &[
            (Act::PlayPause, "/user/hand/right/input/a/click"),
            (Act::Recentre, "/user/hand/left/input/x/click"),
            (Act::Scrub, "/user/hand/left/input/thumbstick/x"),
            (Act::Speed, "/user/hand/right/input/thumbstick/y"),
            (Act::Grab, "/user/hand/left/input/squeeze/value"),
            (Act::Grab, "/user/hand/right/input/squeeze/value"),
            (Act::HandPose, "/user/hand/left/input/grip/pose"),
            (Act::HandPose, "/user/hand/right/input/grip/pose"),
        ],
    ),
    (
        "/interaction_profiles/valve/index_controller",
        &[
            (Act::PlayPause, "/user/hand/right/input/a/click"),
            (Act::Recentre, "/user/hand/left/input/a/click"),
            (Act::Scrub, "/user/hand/left/input/thumbstick/x"),
            (Act::Speed, "/user/hand/right/input/thumbstick/y"),
            (Act::Grab, "/user/hand/left/input/squeeze/value"),
            (Act::Grab, "/user/hand/right/input/squeeze/value"),
            (Act::HandPose, "/user/hand/left/input/grip/pose"),
            (Act::HandPose, "/user/hand/right/input/grip/pose"),
        ],
    ),
];

impl Controls {
    /// Creates the actions, suggests bindings for every profile the runtime knows (a profile it
    /// rejects is skipped with a warning) and attaches the set to `session`.
    pub fn new(
        instance: &xr::Instance,
        session: &xr::Session<xr::Vulkan>,
    ) -> Result<Controls, xr::sys::Result> {
        let set = instance.create_action_set("playback", "Playback", 0)?;
        let hand_paths = [
            instance.string_to_path("/user/hand/left")?,
            instance.string_to_path("/user/hand/right")?,
        ];
        let play_pause = set.create_action::<bool>("play_pause", "Play / pause", &[])?;
        let recentre = set.create_action::<bool>("recentre", "Recentre the clip", &[])?;
        let scrub = set.create_action::<f32>("scrub", "Scrub", &[])?;
        let speed = set.create_action::<f32>("speed", "Playback speed", &[])?;
        let grab = set.create_action::<f32>("grab", "Grab the clip", &hand_paths)?;
        let hand_pose = set.create_action::<xr::Posef>("hand_pose", "Hand pose", &hand_paths)?;
        for (profile, suggestions) in PROFILES {
            let result = (|| {
                let mut bindings = Vec::with_capacity(suggestions.len());
                for (action, path) in suggestions {
                    let path = instance.string_to_path(path)?;
                    bindings.push(match action {
                        Act::PlayPause => xr::Binding::new(&play_pause, path),
                        Act::Recentre => xr::Binding::new(&recentre, path),
                        Act::Scrub => xr::Binding::new(&scrub, path),
                        Act::Speed => xr::Binding::new(&speed, path),
                        Act::Grab => xr::Binding::new(&grab, path),
                        Act::HandPose => xr::Binding::new(&hand_pose, path),
                    });
                }
                instance.suggest_interaction_profile_bindings(
                    instance.string_to_path(profile)?,
                    &bindings,
                )
            })();
            if let Err(e) = result {
                tracing::warn!("the OpenXR runtime rejected bindings for {profile}: {e}");
            }
        }
        session.attach_action_sets(&[&set])?;
        let hand_spaces = [
            hand_pose.create_space(session, hand_paths[0], xr::Posef::IDENTITY)?,
            hand_pose.create_space(session, hand_paths[1], xr::Posef::IDENTITY)?,
        ];
        Ok(Controls {
            set,
            play_pause,
            recentre,
            scrub,
            speed,
            grab,
            hand_paths,
            hand_spaces,
        })
    }

    /// Syncs the actions (only worth calling while FOCUSED) and reads them, with hand poses in
    /// `space` at `time`.
    pub fn poll(
        &self,
        session: &xr::Session<xr::Vulkan>,
        space: &xr::Space,
        time: xr::Time,
    ) -> Result<ControlState, xr::sys::Result> {
        session.sync_actions(&[xr::ActiveActionSet::new(&self.set)])?;
        let pressed = |a: &xr::Action<bool>| -> Result<bool, xr::sys::Result> {
            let s = a.state(session, xr::Path::NULL)?;
            Ok(s.is_active && s.changed_since_last_sync && s.current_state)
        };
        let axis = |a: &xr::Action<f32>| -> Result<f32, xr::sys::Result> {
            let s = a.state(session, xr::Path::NULL)?;
            Ok(if s.is_active { s.current_state } else { 0.0 })
        };
        let mut held = [None, None];
        for (i, slot) in held.iter_mut().enumerate() {
            let g = self.grab.state(session, self.hand_paths[i])?;
            if !(g.is_active && g.current_state > GRAB_THRESHOLD) {
                continue;
            }
            let loc = self.hand_spaces[i].locate(space, time)?;
            let valid =
                xr::SpaceLocationFlags::POSITION_VALID | xr::SpaceLocationFlags::ORIENTATION_VALID;
            if loc.location_flags.contains(valid) {
                *slot = Some(Pose::from_xr(&loc.pose));
            }
        }
        Ok(ControlState {
            play_pause: pressed(&self.play_pause)?,
            recentre: pressed(&self.recentre)?,
            scrub: axis(&self.scrub)?,
            speed: axis(&self.speed)?,
            hands: Hands {
                left: held[0],
                right: held[1],
            },
        })
    }
}
