-- Schema version 7: the canary of the queue's data key.
--
-- The key itself lives only in the platform's secret store (Keystore, Keychain).
-- Here is a known text sealed with it (XChaCha20-Poly1305: nonce, ciphertext and
-- tag) and the SHA-256 of those bytes, so that opening the queue tells "the key
-- is gone" (no key, but a canary), "the key is wrong" (the canary is intact but
-- does not open) and "the data is damaged" (the canary's bytes do not match
-- their checksum) apart. Written once, when the key is made.

CREATE TABLE key_canary (
    key_name       TEXT PRIMARY KEY NOT NULL,   -- the key's name in the secret store
    sealed         BLOB NOT NULL,
    sealed_sha256  BLOB NOT NULL,
    created_at_ms  INTEGER NOT NULL
) STRICT;
