package org.postcso.android

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.security.keystore.UserNotAuthenticatedException
import android.util.AtomicFile
import android.util.Log
import java.io.File
import java.io.FileNotFoundException
import java.io.IOException
import java.security.GeneralSecurityException
import java.security.KeyStore
import java.security.ProviderException
import javax.crypto.AEADBadTagException
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import org.postcso.ffi.SecretStore
import org.postcso.ffi.SecretStoreException

/**
 * The core's [SecretStore] on Android: the device token and the queue's data key,
 * each encrypted with an AES-256-GCM key that is generated inside the Android Keystore
 * and never leaves it (on devices with a TEE or StrongBox, not even into this process),
 * and kept in a file of its own under `Context.noBackupFilesDir`, so neither the
 * wrapped secrets nor the key travel in a backup or to another device (a restored
 * queue without them is unreadable by design: the core raises `DataKeyLost`).
 *
 * Each file is `1 ‖ IV length ‖ IV ‖ ciphertext ‖ tag`, the secret's name bound as
 * associated data so one secret's file cannot stand in for another's; writes go
 * through [AtomicFile] (fsync and rename), so a crash leaves the old value or the new.
 *
 * The key is not bound to user authentication: the core must read the token in
 * background sync while the phone is locked. Like the rest of the app's credential
 * encrypted storage, it is usable after the first unlock following a boot.
 *
 * Failures are thrown as [SecretStoreException] (the core raises them as
 * `PostException.SecretsUnavailable` or `SecretStoreFailed`). A file the Keystore key
 * no longer opens (the key was removed, e.g. by a reset of the Keystore) reads as
 * absent: that secret is gone, and the core says which (`DataKeyLost`, or not enrolled).
 *
 * Give one instance per process to `PostCso.open`; its calls are serialised.
 */
class KeystoreSecretStore(
    context: Context,
    private val keyAlias: String = DEFAULT_KEY_ALIAS,
) : SecretStore {
    private val dir = File(context.noBackupFilesDir, DIRECTORY)
    private val lock = Any()

    @Volatile private var cachedKey: SecretKey? = null

    override fun get(name: String): ByteArray? = guarded {
        val sealed = try {
            fileOf(name).readFully()
        } catch (e: FileNotFoundException) {
            null
        }
        sealed?.let { unwrap(name, it) }
    }

    override fun put(name: String, value: ByteArray) = guarded {
        val sealed = wrap(name, value)
        if (!dir.isDirectory && !dir.mkdirs()) throw IOException("cannot create $dir")
        val file = fileOf(name)
        val out = file.startWrite()
        try {
            out.write(sealed)
            file.finishWrite(out)
        } catch (e: IOException) {
            file.failWrite(out)
            throw e
        }
    }

    override fun delete(name: String) = guarded { fileOf(name).delete() }

    private fun fileOf(name: String): AtomicFile {
        if (!NAME.matches(name)) throw SecretStoreException.Failed("not a secret name: $name")
        return AtomicFile(File(dir, name))
    }

    private fun wrap(name: String, value: ByteArray): ByteArray {
        val cipher = Cipher.getInstance(TRANSFORMATION)
        // The Keystore makes a fresh random IV for each encryption (randomized encryption
        // is required for its GCM keys); it is read back from the cipher.
        cipher.init(Cipher.ENCRYPT_MODE, key())
        cipher.updateAAD(name.encodeToByteArray())
        val body = cipher.doFinal(value)
        val iv = cipher.iv
        return byteArrayOf(FORMAT, iv.size.toByte()) + iv + body
    }

    private fun unwrap(name: String, sealed: ByteArray): ByteArray? {
        if (sealed.size < 2 || sealed[0] != FORMAT) {
            throw SecretStoreException.Failed("the stored $name is not in a known format")
        }
        val ivLength = sealed[1].toInt() and 0xff
        val bodyStart = 2 + ivLength
        if (ivLength == 0 || sealed.size < bodyStart + TAG_BITS / 8) {
            throw SecretStoreException.Failed("the stored $name is truncated")
        }
        val cipher = Cipher.getInstance(TRANSFORMATION)
        cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(TAG_BITS, sealed, 2, ivLength))
        cipher.updateAAD(name.encodeToByteArray())
        return try {
            cipher.doFinal(sealed, bodyStart, sealed.size - bodyStart)
        } catch (e: AEADBadTagException) {
            Log.w(TAG, "the stored $name does not open under the Keystore key; it is lost")
            null
        }
    }

    /** The wrapping key, generated in the Keystore on first use. */
    private fun key(): SecretKey {
        cachedKey?.let { return it }
        val keyStore = KeyStore.getInstance(ANDROID_KEYSTORE).apply { load(null) }
        val key = (keyStore.getKey(keyAlias, null) as? SecretKey) ?: generateKey()
        cachedKey = key
        return key
    }

    private fun generateKey(): SecretKey {
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, ANDROID_KEYSTORE)
        generator.init(
            KeyGenParameterSpec.Builder(keyAlias, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .setRandomizedEncryptionRequired(true)
                .build(),
        )
        return generator.generateKey()
    }

    /** Serialises the calls and turns the platform's failures into [SecretStoreException]s. */
    private inline fun <T> guarded(block: () -> T): T = synchronized(lock) {
        try {
            block()
        } catch (e: SecretStoreException) {
            throw e
        } catch (e: UserNotAuthenticatedException) {
            throw SecretStoreException.Unavailable(e.toString())
        } catch (e: GeneralSecurityException) {
            cachedKey = null
            throw SecretStoreException.Failed(e.toString())
        } catch (e: ProviderException) {
            // The Keystore daemon failed (busy, or the device is shutting down).
            cachedKey = null
            throw SecretStoreException.Unavailable(e.toString())
        } catch (e: IOException) {
            throw SecretStoreException.Failed(e.toString())
        }
    }

    /** Names and formats. */
    companion object {
        /** The Keystore alias of the wrapping key unless the app gives another. */
        const val DEFAULT_KEY_ALIAS = "org.postcso.secrets.v1"

        /** The directory under `noBackupFilesDir` holding the wrapped secrets. */
        const val DIRECTORY = "postcso-secrets"

        private const val ANDROID_KEYSTORE = "AndroidKeyStore"
        private const val TRANSFORMATION = "AES/GCM/NoPadding"
        private const val TAG_BITS = 128
        private const val FORMAT: Byte = 1
        private const val TAG = "PostCSO"
        private val NAME = Regex("^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
    }
}
