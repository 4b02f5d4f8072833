//! One reading of `/proc` shared by every stop that is waiting for one.
//!
//! A stop must see the processes as they are after its own kills, so it
//! cannot use a reading that began before it asked. Any reading that began
//! after it asked will do, though, so callers queue behind the one reading
//! in progress and take the next: however many sessions stop at once, the
//! server reads `/proc` about once per pass, not once per session.

use std::sync::Arc;
use std::time::Instant;

use atelier_os::process::ProcessTable;
use tokio::sync::Mutex;

use super::SESSION_MARKER;

/// The last reading of `/proc` and when it began.
#[derive(Debug, Default)]
pub(crate) struct Census {
    last: Mutex<Option<Reading>>,
}

#[derive(Debug)]
struct Reading {
    began: Instant,
    table: Arc<ProcessTable>,
}

impl Census {
    /// A table of every process, read after this call began.
    pub(crate) async fn fresh(&self) -> Arc<ProcessTable> {
        let asked = Instant::now();
        let mut last = self.last.lock().await;
        if let Some(reading) = last.as_ref().filter(|r| r.began >= asked) {
            return Arc::clone(&reading.table);
        }
        let began = Instant::now();
        let read = tokio::task::spawn_blocking(|| ProcessTable::read(SESSION_MARKER));
        // Only a runtime shutting down fails the blocking task; the stop
        // must still know what is left, so it then reads here.
        let table = Arc::new(match read.await {
            Ok(table) => table,
            Err(_) => ProcessTable::read(SESSION_MARKER),
        });
        *last = Some(Reading {
            began,
            table: Arc::clone(&table),
        });
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    #[tokio::test]
    async fn a_reading_never_predates_the_request() {
        let census = Census::default();
        let first = census.fresh().await;
        let mut child = Command::new("/bin/sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        assert!(first.get(pid).is_none(), "started after the first reading");
        let second = census.fresh().await;
        assert!(
            second.get(pid).is_some(),
            "a request made after the child started sees it"
        );
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(census.fresh().await.get(pid).is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_waiting_together_share_one_reading() {
        let census = Arc::new(Census::default());
        // Hold the lock so that every request below queues behind it.
        let guard = census.last.lock().await;
        let waiting: Vec<_> = (0..20)
            .map(|_| {
                let census = Arc::clone(&census);
                tokio::spawn(async move { census.fresh().await })
            })
            .collect();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(guard);
        let mut tables = Vec::new();
        for task in waiting {
            tables.push(task.await.unwrap());
        }
        let first = &tables[0];
        let shared = tables.iter().filter(|t| Arc::ptr_eq(t, first)).count();
        assert_eq!(shared, 20, "every request asked before the reading began");
    }
}
