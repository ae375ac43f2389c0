//! The OpenXR session life cycle: which state the runtime put the session in, what the player
//! must do about it, and the list of states reached (for the log and the summary).

use openxr as xr;

/// What the frame loop must do after a session state change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Nothing: keep going.
    Stay,
    /// READY: call `xrBeginSession` and start the frame loop.
    Begin,
    /// STOPPING: stop the frame loop and call `xrEndSession`.
    End,
    /// EXITING: the session is over; destroy it and leave.
    Exit,
    /// LOSS_PENDING: the runtime is losing the session (device unplugged, runtime quitting).
    Lost,
}

/// The name OpenXR gives a session state (`"FOCUSED"`), or `"UNKNOWN(n)"`.
pub fn state_name(state: xr::SessionState) -> String {
    let name = match state {
        xr::SessionState::IDLE => "IDLE",
        xr::SessionState::READY => "READY",
        xr::SessionState::SYNCHRONIZED => "SYNCHRONIZED",
        xr::SessionState::VISIBLE => "VISIBLE",
        xr::SessionState::FOCUSED => "FOCUSED",
        xr::SessionState::STOPPING => "STOPPING",
        xr::SessionState::LOSS_PENDING => "LOSS_PENDING",
        xr::SessionState::EXITING => "EXITING",
        other => return format!("UNKNOWN({})", other.into_raw()),
    };
    name.to_owned()
}

/// Tracks the session state and the states reached so far.
#[derive(Clone, Debug, Default)]
pub struct SessionTracker {
    reached: Vec<String>,
    current: Option<xr::SessionState>,
    running: bool,
}

impl SessionTracker {
    /// Records a state change and says what to do about it.
    pub fn on_state(&mut self, state: xr::SessionState) -> Transition {
        let name = state_name(state);
        tracing::info!("OpenXR session state: {name}");
        if !self.reached.contains(&name) {
            self.reached.push(name);
        }
        self.current = Some(state);
        match state {
            xr::SessionState::READY => Transition::Begin,
            xr::SessionState::STOPPING => Transition::End,
            xr::SessionState::EXITING => Transition::Exit,
            xr::SessionState::LOSS_PENDING => Transition::Lost,
            _ => Transition::Stay,
        }
    }

    /// Marks the session begun (`xrBeginSession` succeeded) or ended.
    pub fn set_running(&mut self, running: bool) {
        self.running = running;
    }

    /// True between `xrBeginSession` and `xrEndSession`: frames must be waited for and ended.
    pub fn running(&self) -> bool {
        self.running
    }

    /// True in FOCUSED, when input reaches the application.
    pub fn focused(&self) -> bool {
        self.current == Some(xr::SessionState::FOCUSED)
    }

    /// Every distinct state reached, in order of first arrival.
    pub fn reached(&self) -> &[String] {
        &self.reached
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_normal_life_cycle() {
        let mut t = SessionTracker::default();
        use xr::SessionState as S;
        assert_eq!(t.on_state(S::IDLE), Transition::Stay);
        assert_eq!(t.on_state(S::READY), Transition::Begin);
        t.set_running(true);
        for s in [S::SYNCHRONIZED, S::VISIBLE, S::FOCUSED] {
            assert_eq!(t.on_state(s), Transition::Stay);
        }
        assert!(t.focused() && t.running());
        assert_eq!(t.on_state(S::VISIBLE), Transition::Stay);
        assert_eq!(t.on_state(S::STOPPING), Transition::End);
        t.set_running(false);
        assert_eq!(t.on_state(S::IDLE), Transition::Stay);
        assert_eq!(t.on_state(S::EXITING), Transition::Exit);
        assert_eq!(
            t.reached(),
            [
                "IDLE",
                "READY",
                "SYNCHRONIZED",
                "VISIBLE",
                "FOCUSED",
                "STOPPING",
                "EXITING"
            ]
        );
        assert_eq!(t.on_state(S::LOSS_PENDING), Transition::Lost);
        assert_eq!(state_name(S::from_raw(99)), "UNKNOWN(99)");
    }
}
