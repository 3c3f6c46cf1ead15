package org.postcso.testing

import java.io.IOException
import java.nio.channels.FileChannel
import java.nio.file.Files
import java.nio.file.NoSuchFileException
import java.nio.file.Path
import java.nio.file.StandardCopyOption
import java.nio.file.StandardOpenOption
import org.postcso.ffi.SecretStore
import org.postcso.ffi.SecretStoreException

/**
 * A [SecretStore] over plain files, for the JVM tests: each secret in its own file,
 * written crash-safely (temporary file, fsync, atomic rename). It protects nothing; the
 * Android library's `KeystoreSecretStore` wraps the values with a Keystore key.
 */
open class FileSecretStore(private val dir: Path) : SecretStore {
    private fun path(name: String): Path {
        if (!NAME.matches(name)) throw SecretStoreException.Failed("not a secret name: $name")
        return dir.resolve(name)
    }

    override fun get(name: String): ByteArray? = try {
        Files.readAllBytes(path(name))
    } catch (e: NoSuchFileException) {
        null
    } catch (e: IOException) {
        throw SecretStoreException.Failed(e.toString())
    }

    override fun put(name: String, value: ByteArray) {
        val target = path(name)
        try {
            Files.createDirectories(dir)
            val tmp = dir.resolve(".$name.tmp")
            FileChannel.open(
                tmp,
                StandardOpenOption.CREATE,
                StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING,
            ).use { channel ->
                channel.write(java.nio.ByteBuffer.wrap(value))
                channel.force(true)
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING)
        } catch (e: IOException) {
            throw SecretStoreException.Failed(e.toString())
        }
    }

    override fun delete(name: String) {
        try {
            Files.deleteIfExists(path(name))
        } catch (e: IOException) {
            throw SecretStoreException.Failed(e.toString())
        }
    }

    private companion object {
        val NAME = Regex("^[A-Za-z0-9_-][A-Za-z0-9._-]*$")
    }
}

/** The secret store of the core in [dataDir], inside it so the tests' clean-up removes it too. */
fun secretsFor(dataDir: Path): FileSecretStore = FileSecretStore(dataDir.resolve("secrets"))
