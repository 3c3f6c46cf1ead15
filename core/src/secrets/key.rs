//! [`DataKey`]: the queue's key, and sealing and opening values with it.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::TryRngCore;
use rand::rngs::OsRng;
use zeroize::Zeroizing;

use super::SecretsError;

/// Bytes of a data key.
pub const KEY_LEN: usize = 32;
/// Bytes of the random nonce at the front of a sealed value.
pub const NONCE_LEN: usize = 24;
/// Bytes of the authentication tag at the end of a sealed value.
pub const TAG_LEN: usize = 16;

/// The queue's data key, ready to seal and open values.
///
/// Its only copy in memory is the cipher's key, zeroized when the key is
/// dropped (the `zeroize` feature of `chacha20poly1305`); it is stored only
/// through the app's [`super::SecretStore`]. Each seal takes a fresh random
/// 192-bit nonce, which is safe for any number of values under one key.
pub struct DataKey {
    aead: XChaCha20Poly1305,
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

/// A sealed value did not open: the key is not the one it was sealed with, the
/// associated data differs (another row or column), or the bytes were changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the sealed value does not open under this key")]
pub struct OpenError;

/// 32 bytes from the operating system's CSPRNG, in a buffer zeroized on drop.
pub(super) fn random_key() -> Result<Zeroizing<[u8; KEY_LEN]>, SecretsError> {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    OsRng
        .try_fill_bytes(&mut bytes[..])
        .map_err(|e| SecretsError::Random(e.to_string()))?;
    Ok(bytes)
}

impl DataKey {
    /// The key from its stored bytes; anything but 32 bytes is not a key of ours.
    pub(super) fn from_bytes(bytes: &[u8]) -> Result<Self, SecretsError> {
        if bytes.len() != KEY_LEN {
            return Err(SecretsError::KeyWrong);
        }
        let aead = XChaCha20Poly1305::new_from_slice(bytes).map_err(|_| SecretsError::KeyWrong)?;
        Ok(Self { aead })
    }

    /// A new random key that is stored nowhere, for tests of sealed formats.
    #[cfg(test)]
    pub(crate) fn ephemeral() -> Self {
        let bytes = random_key().expect("the OS has randomness");
        Self::from_bytes(&bytes[..]).expect("32 bytes")
    }

    /// Seals `plaintext` bound to `aad` (which row and column it belongs to):
    /// `nonce ‖ ciphertext ‖ tag`, [`NONCE_LEN`] + [`TAG_LEN`] bytes longer.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, SecretsError> {
        let mut nonce = [0u8; NONCE_LEN];
        OsRng
            .try_fill_bytes(&mut nonce)
            .map_err(|e| SecretsError::Random(e.to_string()))?;
        let sealed = self
            .aead
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            // Only a value over 256 GiB fails to seal.
            .map_err(|_| SecretsError::Random("the value is too long to seal".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`DataKey::seal`] made with the same `aad`.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, OpenError> {
        if sealed.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = XNonce::try_from(nonce).map_err(|_| OpenError)?;
        self.aead
            .decrypt(&nonce, Payload { msg: body, aad })
            .map(Zeroizing::new)
            .map_err(|_| OpenError)
    }
}
