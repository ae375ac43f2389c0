//! A watchdog for calls into the runtime: if the frame loop makes no progress for
//! [`STALL_LIMIT`] (a runtime that died without telling us, a wait that never returns), the
//! process says so and exits instead of hanging.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long the loop may go without a heartbeat.
pub const STALL_LIMIT: Duration = Duration::from_secs(30);

/// Exit status when the watchdog fires.
pub const STALL_EXIT_CODE: i32 = 3;

/// Heartbeat shared with the watchdog thread; dropping it stops the thread.
#[derive(Debug)]
pub struct Watchdog {
    start: Instant,
    last_ms: Arc<AtomicU64>,
    done: Arc<AtomicBool>,
}

impl Watchdog {
    /// Starts watching; `what` names the activity in the message.
    pub fn start(what: &'static str) -> std::io::Result<Watchdog> {
        let start = Instant::now();
        let last_ms = Arc::new(AtomicU64::new(0));
        let done = Arc::new(AtomicBool::new(false));
        let (last, stop) = (Arc::clone(&last_ms), Arc::clone(&done));
        std::thread::Builder::new()
            .name("yakumo-xr-watchdog".into())
            .spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(250));
                    let now = start.elapsed().as_millis() as u64;
                    if now.saturating_sub(last.load(Ordering::Relaxed))
                        > STALL_LIMIT.as_millis() as u64
                        && !stop.load(Ordering::Relaxed)
                    {
                        eprintln!(
                            "yakumo-player: {what} made no progress for {} s (the OpenXR runtime stopped responding); exiting",
                            STALL_LIMIT.as_secs()
                        );
                        std::process::exit(STALL_EXIT_CODE);
                    }
                }
            })?;
        Ok(Watchdog {
            start,
            last_ms,
            done,
        })
    }

    /// Records progress.
    pub fn beat(&self) {
        self.last_ms
            .store(self.start.elapsed().as_millis() as u64, Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
    }
}
