//! The queue's data key and the device token through a real secret store (a
//! directory of files, as the Python and JVM tests use), and what opening says
//! when the key is gone, wrong, or its check damaged, or the store fails.

mod common;

use std::path::Path;
use std::sync::{Arc, Mutex};

use common::file_report;
use postcso_core::secrets::Zeroizing;
use postcso_core::secrets::{
    DATA_KEY, DEVICE_TOKEN, FileSecretStore, SecretStore, SecretStoreError, SecretsError,
};
use postcso_core::sync::{SyncConfig, SyncEngine, SyncError};
use postcso_core::{QueueConfig, QueueError, ReportQueue};

/// A file store that fails on demand, like a Keychain before the first unlock
/// or a Keystore that throws.
struct Flaky {
    inner: FileSecretStore,
    failure: Mutex<Option<SecretStoreError>>,
    /// Accepts writes and keeps nothing (a broken platform store).
    forgetful: bool,
}

impl Flaky {
    fn new(dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            inner: FileSecretStore::new(dir.join("secrets")),
            failure: Mutex::new(None),
            forgetful: false,
        })
    }

    fn fail_with(&self, e: Option<SecretStoreError>) {
        *self.failure.lock().unwrap() = e;
    }

    fn check(&self) -> Result<(), SecretStoreError> {
        match self.failure.lock().unwrap().clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl SecretStore for Flaky {
    fn get(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, SecretStoreError> {
        self.check()?;
        self.inner.get(name)
    }
    fn put(&self, name: &str, value: &[u8]) -> Result<(), SecretStoreError> {
        self.check()?;
        if self.forgetful {
            return Ok(());
        }
        self.inner.put(name, value)
    }
    fn delete(&self, name: &str) -> Result<(), SecretStoreError> {
        self.check()?;
        self.inner.delete(name)
    }
}

fn open(dir: &Path, secrets: Arc<dyn SecretStore>) -> Result<ReportQueue, QueueError> {
    ReportQueue::open(QueueConfig::new(dir), secrets)
}

fn canary_rows(dir: &Path) -> i64 {
    rusqlite::Connection::open(dir.join("queue.db"))
        .unwrap()
        .query_row("SELECT count(*) FROM key_canary", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn the_first_open_makes_a_key_and_its_canary_and_later_opens_accept_it() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileSecretStore::new(dir.path().join("secrets")));
    let queue = open(dir.path(), store.clone()).unwrap();
    let id = file_report(&queue, 1);
    drop(queue);
    let key = store.get(DATA_KEY).unwrap().expect("key stored");
    assert_eq!(key.len(), 32);
    assert_eq!(canary_rows(dir.path()), 1);

    let queue = open(dir.path(), store.clone()).unwrap();
    assert!(queue.get(id).is_ok());
    drop(queue);
    assert_eq!(
        &store.get(DATA_KEY).unwrap().unwrap()[..],
        &key[..],
        "key kept"
    );
    assert_eq!(canary_rows(dir.path()), 1);
    // The key is nowhere in the database.
    let db = std::fs::read(dir.path().join("queue.db")).unwrap();
    assert!(!db.windows(32).any(|w| w == &key[..]));
}

#[test]
fn a_lost_key_a_wrong_key_and_a_damaged_canary_are_told_apart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileSecretStore::new(dir.path().join("secrets")));
    let id = file_report(&open(dir.path(), store.clone()).unwrap(), 2);
    let key = store.get(DATA_KEY).unwrap().unwrap();

    store.delete(DATA_KEY).unwrap();
    let err = open(dir.path(), store.clone()).unwrap_err();
    assert!(
        matches!(err, QueueError::Secrets(SecretsError::KeyLost)),
        "{err:?}"
    );
    assert!(store.get(DATA_KEY).unwrap().is_none(), "no new key made");

    store.put(DATA_KEY, &[9u8; 32]).unwrap();
    let err = open(dir.path(), store.clone()).unwrap_err();
    assert!(
        matches!(err, QueueError::Secrets(SecretsError::KeyWrong)),
        "{err:?}"
    );
    store.put(DATA_KEY, &key[..16]).unwrap();
    let err = open(dir.path(), store.clone()).unwrap_err();
    assert!(
        matches!(err, QueueError::Secrets(SecretsError::KeyWrong)),
        "{err:?}"
    );

    // The right key again: nothing was lost or rewritten on the way.
    store.put(DATA_KEY, &key).unwrap();
    assert!(open(dir.path(), store.clone()).unwrap().get(id).is_ok());

    // One flipped bit in the canary is damage, whatever the key.
    let conn = rusqlite::Connection::open(dir.path().join("queue.db")).unwrap();
    let mut sealed: Vec<u8> = conn
        .query_row("SELECT sealed FROM key_canary", [], |r| r.get(0))
        .unwrap();
    sealed[30] ^= 0x01;
    conn.execute("UPDATE key_canary SET sealed = ?1", [sealed])
        .unwrap();
    drop(conn);
    let err = open(dir.path(), store.clone()).unwrap_err();
    assert!(
        matches!(err, QueueError::Secrets(SecretsError::KeyCheckDamaged(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("damaged"), "{err}");
}

#[test]
fn a_failing_store_fails_the_open_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Flaky::new(dir.path());
    store.fail_with(Some(SecretStoreError::Unavailable("locked".into())));
    let err = open(dir.path(), store.clone()).unwrap_err();
    assert!(
        matches!(
            &err,
            QueueError::Secrets(SecretsError::Store(SecretStoreError::Unavailable(m))) if m == "locked"
        ),
        "{err:?}"
    );
    assert_eq!(canary_rows(dir.path()), 0, "no canary without a saved key");

    // Unlocked: the same directory opens and gets its key.
    store.fail_with(None);
    drop(open(dir.path(), store.clone()).unwrap());
    assert_eq!(canary_rows(dir.path()), 1);
}

#[test]
fn a_store_that_drops_writes_is_caught_before_the_key_is_used() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Flaky {
        inner: FileSecretStore::new(dir.path().join("secrets")),
        failure: Mutex::new(None),
        forgetful: true,
    });
    let err = open(dir.path(), store).unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::Secrets(SecretsError::Store(SecretStoreError::Failed(_)))
        ),
        "{err:?}"
    );
    assert_eq!(canary_rows(dir.path()), 0);
}

#[test]
fn a_key_without_a_canary_gets_one() {
    // A crash after the key was saved and before its canary was written.
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileSecretStore::new(dir.path().join("secrets")));
    drop(open(dir.path(), store.clone()).unwrap());
    rusqlite::Connection::open(dir.path().join("queue.db"))
        .unwrap()
        .execute("DELETE FROM key_canary", [])
        .unwrap();
    let key = store.get(DATA_KEY).unwrap().unwrap();
    drop(open(dir.path(), store.clone()).unwrap());
    assert_eq!(canary_rows(dir.path()), 1);
    assert_eq!(&store.get(DATA_KEY).unwrap().unwrap()[..], &key[..]);
}

fn start(queue: &Arc<ReportQueue>, credential: Option<&str>) -> Result<SyncEngine, SyncError> {
    // Nothing listens on port 9: the engine never reaches a station here.
    SyncEngine::start(
        Arc::clone(queue),
        SyncConfig::new("http://127.0.0.1:9/", credential.map(str::to_owned)),
    )
}

fn token(store: &FileSecretStore) -> Option<String> {
    store
        .get(DEVICE_TOKEN)
        .unwrap()
        .map(|t| String::from_utf8(t.to_vec()).unwrap())
}

#[test]
fn the_device_token_lives_in_the_secret_store_and_never_in_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(FileSecretStore::new(dir.path().join("secrets")));
    let queue = Arc::new(open(dir.path(), store.clone()).unwrap());

    // An app that keeps its own token hands it in: it is saved too.
    drop(start(&queue, Some("app-held-token-0001")).unwrap());
    assert_eq!(token(&store).as_deref(), Some("app-held-token-0001"));

    let engine = start(&queue, None).unwrap();
    engine
        .set_credential(Some("replaced-token-0002".into()))
        .unwrap();
    assert_eq!(token(&store).as_deref(), Some("replaced-token-0002"));
    drop(engine);
    drop(queue);

    let mut files = vec![std::fs::read(dir.path().join("queue.db")).unwrap()];
    files.extend(std::fs::read(dir.path().join("queue.db-wal")));
    for bytes in files {
        for t in ["app-held-token-0001", "replaced-token-0002"] {
            assert!(
                !bytes.windows(t.len()).any(|w| w == t.as_bytes()),
                "{t} in the database"
            );
        }
    }

    // Signing out deletes it.
    let queue = Arc::new(open(dir.path(), store.clone()).unwrap());
    let engine = start(&queue, None).unwrap();
    engine.set_credential(None).unwrap();
    assert_eq!(token(&store), None);
}

#[test]
fn a_failing_store_leaves_the_credential_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let store = Flaky::new(dir.path());
    let queue = Arc::new(open(dir.path(), store.clone()).unwrap());
    let engine = start(&queue, Some("first-token")).unwrap();

    store.fail_with(Some(SecretStoreError::Failed("keystore threw".into())));
    let err = engine
        .set_credential(Some("second-token".into()))
        .unwrap_err();
    assert!(
        matches!(
            err,
            QueueError::Secrets(SecretsError::Store(SecretStoreError::Failed(_)))
        ),
        "{err:?}"
    );
    let err = engine.set_credential(None).unwrap_err();
    assert!(matches!(err, QueueError::Secrets(_)), "{err:?}");
    drop(engine);

    store.fail_with(None);
    assert_eq!(token(&store.inner).as_deref(), Some("first-token"));

    // A store that fails at start fails the start, typed.
    store.fail_with(Some(SecretStoreError::Unavailable("locked".into())));
    let err = start(&queue, None).unwrap_err();
    assert!(
        matches!(err, SyncError::Secrets(SecretStoreError::Unavailable(_))),
        "{err:?}"
    );
}
