//! One writer per upload at a time: PATCH, termination and recovery of the
//! same upload are serialised in-process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::OwnedMutexGuard;

/// Per-upload async locks, forgotten when nobody holds them.
#[derive(Debug, Default)]
pub struct Locks {
    map: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Locks {
    /// Waits up to `wait` for the upload's lock; `None` when still held
    /// (a previous request of a client that reconnected is still finishing).
    pub async fn acquire(&self, id: &str, wait: Duration) -> Option<OwnedMutexGuard<()>> {
        let lock = {
            let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
            map.retain(|_, l| Arc::strong_count(l) > 1);
            Arc::clone(map.entry(id.to_owned()).or_default())
        };
        tokio::time::timeout(wait, lock.lock_owned()).await.ok()
    }
}
