//! Sealing, the canary's verdicts and the file store.

use super::*;

#[test]
fn a_sealed_value_opens_only_with_its_key_and_associated_data() {
    let key = DataKey::ephemeral();
    let sealed = key.seal(b"reports/abc/note", b"street light out").unwrap();
    assert_eq!(sealed.len(), 16 + key::NONCE_LEN + key::TAG_LEN);
    assert_eq!(
        &key.open(b"reports/abc/note", &sealed).unwrap()[..],
        b"street light out"
    );
    // Another row, another key, a flipped bit, a truncation: all refused.
    assert_eq!(key.open(b"reports/abd/note", &sealed), Err(OpenError));
    assert_eq!(
        DataKey::ephemeral().open(b"reports/abc/note", &sealed),
        Err(OpenError)
    );
    let mut flipped = sealed.clone();
    flipped[30] ^= 1;
    assert_eq!(key.open(b"reports/abc/note", &flipped), Err(OpenError));
    assert_eq!(key.open(b"reports/abc/note", &sealed[..20]), Err(OpenError));
    // A fresh nonce each time: the same text never seals the same twice.
    assert_ne!(
        sealed,
        key.seal(b"reports/abc/note", b"street light out").unwrap()
    );
}

#[test]
fn the_canary_tells_a_wrong_key_from_damaged_bytes() {
    let key = DataKey::ephemeral();
    let canary = canary::Canary::seal(DATA_KEY, &key).unwrap();
    canary.check(DATA_KEY, &key).unwrap();
    assert!(matches!(
        canary.check(DATA_KEY, &DataKey::ephemeral()),
        Err(SecretsError::KeyWrong)
    ));
    // Bound to its key name: a canary of another key is not this key's.
    assert!(matches!(
        canary.check("postcso.queue_key.2", &key),
        Err(SecretsError::KeyWrong)
    ));
}

#[test]
fn a_key_of_the_wrong_length_is_wrong() {
    assert!(matches!(
        DataKey::from_bytes(&[7u8; 31]),
        Err(SecretsError::KeyWrong)
    ));
    assert!(matches!(
        DataKey::from_bytes(&[]),
        Err(SecretsError::KeyWrong)
    ));
}

#[test]
fn keys_are_random() {
    assert_ne!(
        &key::random_key().unwrap()[..],
        &key::random_key().unwrap()[..]
    );
}

#[test]
fn the_file_store_keeps_replaces_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let store = FileSecretStore::new(dir.path().join("secrets"));
    assert!(store.get(DEVICE_TOKEN).unwrap().is_none());
    store.delete(DEVICE_TOKEN).unwrap();
    store.put(DEVICE_TOKEN, b"one").unwrap();
    store.put(DEVICE_TOKEN, b"two").unwrap();
    assert_eq!(&store.get(DEVICE_TOKEN).unwrap().unwrap()[..], b"two");
    store.delete(DEVICE_TOKEN).unwrap();
    assert!(store.get(DEVICE_TOKEN).unwrap().is_none());
    for bad in ["", "../x", ".hidden", "a/b"] {
        assert!(
            matches!(store.put(bad, b"x"), Err(SecretStoreError::Failed(_))),
            "{bad:?} accepted"
        );
    }
}

#[cfg(unix)]
#[test]
fn the_file_store_keeps_secrets_private_to_the_user() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let store = FileSecretStore::new(dir.path());
    store.put(DATA_KEY, &[1u8; 32]).unwrap();
    let mode = std::fs::metadata(dir.path().join(DATA_KEY))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "mode {mode:o}");
}
