//! The thread that owns the SQLite connection.
//!
//! A connection runs one statement at a time anyway. Running each call on
//! tokio's blocking pool behind a mutex meant that a burst of requests
//! parked one pool thread per waiting call (the pool grew to its 512) and
//! those threads then fought over the pool's own lock while the async
//! workers spun on it. One thread that owns the connection and takes calls
//! in order from a queue does the same work with no thread per waiter.

use std::panic::{self, AssertUnwindSafe};
use std::sync::mpsc;
use std::thread;

use rusqlite::Connection;

type Call = Box<dyn FnOnce(&Connection) + Send>;

/// The queue to the connection's thread; the thread ends (closing the
/// connection) once the queue is dropped and the calls in it are done.
pub(super) struct Worker {
    queue: mpsc::Sender<Call>,
}

impl Worker {
    /// Starts the thread that owns `conn`.
    pub(super) fn start(conn: Connection) -> std::io::Result<Worker> {
        let (queue, calls) = mpsc::channel::<Call>();
        thread::Builder::new()
            .name("atelier-sqlite".to_owned())
            .spawn(move || {
                for call in calls {
                    // A panicking call cannot leave a half-done statement
                    // behind (rusqlite rolls back on drop): its caller gets
                    // an error and the connection serves the next call.
                    let _ = panic::catch_unwind(AssertUnwindSafe(|| call(&conn)));
                }
            })?;
        Ok(Worker { queue })
    }

    /// Runs `work` on the connection's thread after the calls queued before
    /// it; `None` if it panicked.
    pub(super) async fn run<T, F>(&self, work: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> T + Send + 'static,
    {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let call: Call = Box::new(move |conn| {
            let _ = answer.send(work(conn));
        });
        self.queue.send(call).ok()?;
        answered.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn calls_run_in_order_and_a_panic_spares_the_next_call() {
        let worker = Worker::start(Connection::open_in_memory().unwrap()).unwrap();
        let create = |conn: &Connection| conn.execute("CREATE TABLE t (n INTEGER)", []).unwrap();
        worker.run(create).await.unwrap();
        let inserts: Vec<_> = (0..50)
            .map(|n| {
                worker.run(move |conn: &Connection| {
                    conn.execute("INSERT INTO t VALUES (?1)", [n]).unwrap()
                })
            })
            .collect();
        for insert in inserts {
            assert_eq!(insert.await, Some(1));
        }
        let panicked = worker.run(|_: &Connection| -> usize { panic!("a bad call") });
        assert_eq!(panicked.await, None);
        let order = worker
            .run(|conn: &Connection| {
                let mut stmt = conn.prepare("SELECT n FROM t ORDER BY rowid").unwrap();
                let rows = stmt.query_map([], |row| row.get::<_, i64>(0)).unwrap();
                rows.map(Result::unwrap).collect::<Vec<_>>()
            })
            .await
            .unwrap();
        assert_eq!(order, (0..50).collect::<Vec<_>>());
    }
}
