//! Clip streaming: a tokio task reads and decompresses the frames just ahead of the play head
//! into a bounded ring; the render loop polls without ever blocking.
//!
//! The consumer ([`FrameStream::poll`]) owns the policy: every poll it publishes the play head,
//! takes finished frames from a channel (`try_recv`), drops frames that fell out of the window
//! `head .. head + window` (late frames are skipped, never waited for) and requests the missing
//! ones. The background task serves requests in order and skips any that are no longer wanted by
//! the time it gets to them.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use yakumo_core::clip::{ClipError, ClipInfo, ClipReader, FramePoints};

/// True when frame `i` lies in the window of `window` frames starting at `head`.
pub fn in_window(i: usize, head: usize, window: usize, count: usize, looping: bool) -> bool {
    if count == 0 || i >= count {
        return false;
    }
    if looping {
        (i + count - head % count) % count < window.min(count)
    } else {
        i >= head && i - head < window
    }
}

/// State shared with the background task.
#[derive(Debug)]
struct Shared {
    head: AtomicUsize,
    looping: AtomicBool,
    window: usize,
    count: usize,
}

impl Shared {
    fn wanted(&self, i: usize) -> bool {
        in_window(
            i,
            self.head.load(Ordering::Relaxed),
            self.window,
            self.count,
            self.looping.load(Ordering::Relaxed),
        )
    }
}

/// A decoded frame or the error reading it.
type Loaded = (usize, Result<Arc<FramePoints>, ClipError>);

/// Frames of one clip, read ahead of the play head on a background runtime.
#[derive(Debug)]
pub struct FrameStream {
    info: ClipInfo,
    shared: Arc<Shared>,
    requests: tokio::sync::mpsc::UnboundedSender<usize>,
    results: mpsc::Receiver<Loaded>,
    ring: BTreeMap<usize, Arc<FramePoints>>,
    pending: HashSet<usize>,
    errors: Vec<String>,
    // Dropped last: stops the reader task.
    _runtime: tokio::runtime::Runtime,
}

impl FrameStream {
    /// Opens `path` and starts a reader that keeps up to `window` frames ahead of the head.
    pub fn open(path: &Path, window: usize) -> Result<FrameStream, ClipError> {
        let reader = ClipReader::open(path)?;
        let info = reader.info().clone();
        let shared = Arc::new(Shared {
            head: AtomicUsize::new(0),
            looping: AtomicBool::new(true),
            window: window.max(1),
            count: reader.frame_count(),
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("yakumo-stream")
            .build()
            .map_err(|source| ClipError::Io {
                path: path.to_owned(),
                source,
            })?;
        let (req_tx, req_rx) = tokio::sync::mpsc::unbounded_channel();
        let (res_tx, res_rx) = mpsc::channel();
        runtime.spawn(serve(reader, Arc::clone(&shared), req_rx, res_tx));
        Ok(FrameStream {
            info,
            shared,
            requests: req_tx,
            results: res_rx,
            ring: BTreeMap::new(),
            pending: HashSet::new(),
            errors: Vec::new(),
            _runtime: runtime,
        })
    }

    /// The clip header.
    pub fn info(&self) -> &ClipInfo {
        &self.info
    }

    /// Frames in the clip.
    pub fn frame_count(&self) -> usize {
        self.shared.count
    }

    /// Whether the window wraps from the last frame to the first.
    pub fn set_looping(&self, looping: bool) {
        self.shared.looping.store(looping, Ordering::Relaxed);
    }

    /// Moves the play head to `head`, collects finished reads, schedules missing frames and
    /// returns frame `head` when it is ready. Never blocks.
    pub fn poll(&mut self, head: usize) -> Option<Arc<FramePoints>> {
        let head = head.min(self.shared.count.saturating_sub(1));
        self.shared.head.store(head, Ordering::Relaxed);
        while let Ok((i, result)) = self.results.try_recv() {
            self.pending.remove(&i);
            match result {
                Ok(frame) => {
                    self.ring.insert(i, frame);
                }
                Err(e) => self.errors.push(e.to_string()),
            }
        }
        let shared = Arc::clone(&self.shared);
        self.ring.retain(|i, _| shared.wanted(*i));
        self.pending.retain(|i| shared.wanted(*i));
        let count = self.shared.count;
        for step in 0..self.shared.window.min(count) {
            let i = (head + step) % count.max(1);
            if !self.shared.wanted(i) || self.ring.contains_key(&i) || self.pending.contains(&i) {
                continue;
            }
            if self.requests.send(i).is_ok() {
                self.pending.insert(i);
            }
        }
        self.ring.get(&head).cloned()
    }

    /// Frames currently decoded and waiting in the ring.
    pub fn buffered(&self) -> usize {
        self.ring.len()
    }

    /// Read errors since the last call (the frames concerned are skipped).
    pub fn take_errors(&mut self) -> Vec<String> {
        std::mem::take(&mut self.errors)
    }
}

/// The background reader: serves frame requests in order, skipping those no longer wanted.
async fn serve(
    reader: ClipReader,
    shared: Arc<Shared>,
    mut requests: tokio::sync::mpsc::UnboundedReceiver<usize>,
    results: mpsc::Sender<Loaded>,
) {
    let mut reader = Some(reader);
    while let Some(i) = requests.recv().await {
        if !shared.wanted(i) {
            continue;
        }
        let mut r = reader.take().expect("reader is returned after every read");
        let joined = tokio::task::spawn_blocking(move || {
            let frame = r.read_frame(i);
            (r, frame)
        })
        .await;
        let Ok((r, frame)) = joined else { return };
        reader = Some(r);
        if results.send((i, frame.map(Arc::new))).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::in_window;

    #[test]
    fn window_without_looping() {
        assert!(in_window(5, 5, 3, 10, false));
        assert!(in_window(7, 5, 3, 10, false));
        assert!(!in_window(8, 5, 3, 10, false));
        assert!(!in_window(4, 5, 3, 10, false));
        assert!(!in_window(10, 9, 3, 10, false));
    }

    #[test]
    fn window_wraps_when_looping() {
        assert!(in_window(0, 9, 3, 10, true));
        assert!(in_window(1, 9, 3, 10, true));
        assert!(!in_window(2, 9, 3, 10, true));
        assert!(!in_window(8, 9, 3, 10, true));
        // A window longer than the clip holds every frame once.
        assert!((0..4).all(|i| in_window(i, 2, 10, 4, true)));
        assert!(!in_window(0, 0, 3, 0, true));
    }
}
