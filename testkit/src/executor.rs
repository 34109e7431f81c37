//! One glommio executor per test binary, shared by every in-memory test: each new executor locks
//! memory for its rings, and the locked-memory limit (8 MiB on the CI machines) runs out after a
//! handful. Tests hand it a job and block until the job ends; jobs run one at a time, so a test
//! sees no other test's tasks running beside its own, and a job's panic is re-raised in the test
//! that sent it.

use futures_lite::FutureExt;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

type Job = Box<dyn FnOnce() -> Pin<Box<dyn Future<Output = ()>>> + Send>;
type Outcome = Result<(), Box<dyn std::any::Any + Send>>;
/// A job and where its outcome goes.
type Order = (Job, Sender<Outcome>);

static EXECUTOR: OnceLock<Mutex<Sender<Order>>> = OnceLock::new();

fn executor() -> Sender<Order> {
    let sender = EXECUTOR.get_or_init(|| {
        let (tx, rx) = channel::<Order>();
        std::thread::Builder::new()
            .name("ringmcp-testkit".into())
            .spawn(move || {
                let executor = glommio::LocalExecutorBuilder::new(glommio::Placement::Unbound)
                    .name("ringmcp-testkit")
                    .io_memory(64 << 10)
                    .make()
                    .unwrap_or_else(|e| panic!("the test kit's executor did not start: {e}"));
                executor.run(async move {
                    // Between jobs nothing else may run, so blocking on the queue is fine.
                    while let Ok((job, done)) = rx.recv() {
                        let outcome = AssertUnwindSafe(job()).catch_unwind().await;
                        let _ = done.send(outcome);
                    }
                });
            })
            .unwrap_or_else(|e| panic!("the test kit's executor thread did not start: {e}"));
        Mutex::new(tx)
    });
    sender
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone()
}

/// Run the future `make` builds on the shared executor, and wait for it. A panic inside (a failed
/// assertion) fails the calling test with the same message.
pub fn run<F, Fut>(make: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + 'static,
{
    let (done_tx, done_rx) = channel();
    let job: Job = Box::new(move || Box::pin(make()));
    executor()
        .send((job, done_tx))
        .unwrap_or_else(|_| panic!("the test kit's executor is gone"));
    match done_rx.recv() {
        Ok(Ok(())) => {}
        Ok(Err(panic)) => std::panic::resume_unwind(panic),
        Err(_) => panic!("the test kit's executor died"),
    }
}
