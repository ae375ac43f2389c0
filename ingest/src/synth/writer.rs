//! A small pool of background threads that encode and write files while the GPU renders the
//! next frame. The queue is bounded, so rendering never runs far ahead of the disk.

use super::error::SynthError;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

type Job = Box<dyn FnOnce() -> Result<(), SynthError> + Send>;

/// Handle to queue work on the writer threads of [`with_writers`].
pub struct Writers {
    queue: SyncSender<Job>,
    failure: Arc<Mutex<Option<SynthError>>>,
}

impl Writers {
    /// Queues `job`; returns the first failure of an earlier job instead, if any.
    pub fn spawn(
        &self,
        job: impl FnOnce() -> Result<(), SynthError> + Send + 'static,
    ) -> Result<(), SynthError> {
        if let Some(e) = self.failure.lock().expect("writer failure lock").take() {
            return Err(e);
        }
        self.queue
            .send(Box::new(job))
            .map_err(|_| SynthError::WriterStopped)
    }
}

/// Runs `body` with `threads` writer threads, waits for every queued job, and returns the
/// body's error or else the first job error.
pub fn with_writers<R>(
    threads: usize,
    body: impl FnOnce(&Writers) -> Result<R, SynthError>,
) -> Result<R, SynthError> {
    let (queue, jobs) = sync_channel::<Job>(threads * 4);
    let jobs = Arc::new(Mutex::new(jobs));
    let failure = Arc::new(Mutex::new(None));
    let result = std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            let (jobs, failure) = (jobs.clone(), failure.clone());
            scope.spawn(move || work(&jobs, &failure));
        }
        let writers = Writers {
            queue,
            failure: failure.clone(),
        };
        let result = body(&writers);
        drop(writers); // closes the queue: the threads finish the backlog and exit
        result
    });
    let late = failure.lock().expect("writer failure lock").take();
    match (result, late) {
        (Err(e), _) => Err(e),
        (Ok(_), Some(e)) => Err(e),
        (Ok(r), None) => Ok(r),
    }
}

fn work(jobs: &Mutex<Receiver<Job>>, failure: &Mutex<Option<SynthError>>) {
    loop {
        let job = match jobs.lock().expect("writer queue lock").recv() {
            Ok(job) => job,
            Err(_) => return,
        };
        if let Err(e) = job() {
            failure
                .lock()
                .expect("writer failure lock")
                .get_or_insert(e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn runs_every_job_and_reports_the_first_failure() {
        let done = Arc::new(AtomicUsize::new(0));
        let d = done.clone();
        let ok = with_writers(2, move |w| {
            for _ in 0..50 {
                let d = d.clone();
                w.spawn(move || {
                    d.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                })?;
            }
            Ok(7)
        });
        assert_eq!(ok.unwrap(), 7);
        assert_eq!(done.load(Ordering::SeqCst), 50);
        let err = with_writers(2, |w| {
            w.spawn(|| Err(SynthError::Config("disk full".into())))
        });
        assert!(err.unwrap_err().to_string().contains("disk full"));
    }
}
