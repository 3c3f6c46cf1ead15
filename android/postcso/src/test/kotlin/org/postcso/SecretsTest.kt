package org.postcso

import java.nio.file.Files
import java.nio.file.Path
import kotlin.io.path.readBytes
import kotlin.test.assertContains
import kotlin.test.assertEquals
import kotlin.test.assertFailsWith
import kotlin.test.assertFalse
import kotlin.test.assertNull
import kotlin.test.assertTrue
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.AfterEach
import org.junit.jupiter.api.Test
import org.postcso.ffi.PostException
import org.postcso.ffi.SecretStoreException
import org.postcso.testing.FileSecretStore
import org.postcso.testing.Station
import org.postcso.testing.tempDataDir

/**
 * The core's secrets through the Kotlin wrapper: the device token and the queue's data
 * key live in the [org.postcso.ffi.SecretStore] given at open, never in the data
 * directory; a lost and a wrong key are told apart; and a store that throws, whether a
 * declared [SecretStoreException] or any other exception, is a typed [PostException].
 */
class SecretsTest {
    private val dataDir = tempDataDir()
    private val secretsDir = tempDataDir("postcso-secrets-")
    private val nowhere = "http://127.0.0.1:${Station.freePort()}/"

    @AfterEach
    fun cleanUp() {
        dataDir.toFile().deleteRecursively()
        secretsDir.toFile().deleteRecursively()
    }

    /** A file store that throws [failure] from the operations in [failOn] while it is set. */
    private class Throwing(dir: Path) : FileSecretStore(dir) {
        @Volatile var failure: Exception? = null
        @Volatile var failOn: Set<String> = setOf("get", "put", "delete")

        private fun maybeFail(op: String) {
            val f = failure
            if (f != null && op in failOn) throw f
        }

        override fun get(name: String): ByteArray? {
            maybeFail("get")
            return super.get(name)
        }

        override fun put(name: String, value: ByteArray) {
            maybeFail("put")
            super.put(name, value)
        }

        override fun delete(name: String) {
            maybeFail("delete")
            super.delete(name)
        }
    }

    @Test
    fun `enrolment saves the token in the secret store and nothing secret is in the data directory`(): Unit =
        runBlocking {
            Station.start().use { station ->
                val (code, _) = station.enrolmentCodes(1).single()
                val store = FileSecretStore(secretsDir)
                val token = PostCso.open(dataDir, station.url, store).use { it.enrol(code).token }
                assertEquals(token, store.get(TOKEN)?.decodeToString())
                val key = store.get(KEY)
                assertEquals(32, key?.size)

                Files.walk(dataDir).use { paths ->
                    paths.filter { Files.isRegularFile(it) }.forEach { file ->
                        val bytes = file.readBytes()
                        assertFalse(bytes.contains(token.encodeToByteArray()), "the token is in $file")
                        assertFalse(bytes.contains(key!!), "the key is in $file")
                    }
                }

                // Signing out deletes the token from the store.
                PostCso.open(dataDir, station.url, store).use { it.setCredential(null) }
                assertNull(store.get(TOKEN))
            }
        }

    @Test
    fun `a lost key and a wrong key raise DataKeyLost and DataKeyWrong`(): Unit = runBlocking {
        val store = FileSecretStore(secretsDir)
        val id = PostCso.open(dataDir, nowhere, store).use { it.createDraft() }
        val key = store.get(KEY)!!

        store.delete(KEY)
        val lost = assertFailsWith<PostException.DataKeyLost> { PostCso.open(dataDir, nowhere, store) }
        assertContains(lost.message.orEmpty(), "enrol again")
        assertNull(store.get(KEY), "no new key was made over the old data")

        store.put(KEY, ByteArray(32) { 7 })
        assertFailsWith<PostException.DataKeyWrong> { PostCso.open(dataDir, nowhere, store) }

        store.put(KEY, key)
        PostCso.open(dataDir, nowhere, store).use { assertEquals(id, it.report(id).id) }
    }

    @Test
    fun `a store that throws at open is a typed PostException, never a crash`(): Unit = runBlocking {
        val store = Throwing(secretsDir)
        store.failure = SecretStoreException.Unavailable("before first unlock")
        val unavailable = assertFailsWith<PostException.SecretsUnavailable> { PostCso.open(dataDir, nowhere, store) }
        assertContains(unavailable.message.orEmpty(), "first unlock")

        store.failure = SecretStoreException.Failed("keystore said no")
        assertFailsWith<PostException.SecretStoreFailed> { PostCso.open(dataDir, nowhere, store) }

        store.failure = IllegalStateException("a bug in the store")
        val unexpected = assertFailsWith<PostException.SecretStoreFailed> { PostCso.open(dataDir, nowhere, store) }
        assertContains(unexpected.message.orEmpty(), "unexpectedly")

        store.failure = null
        PostCso.open(dataDir, nowhere, store).use { assertEquals(0uL, it.stats().drafts) }
    }

    @Test
    fun `a store that throws later leaves the credential and the core as they were`(): Unit = runBlocking {
        val store = Throwing(secretsDir)
        PostCso.open(dataDir, nowhere, store, credential = "first-token").use { cso ->
            store.failure = RuntimeException("not today")
            assertFailsWith<PostException.SecretStoreFailed> { cso.setCredential("second-token") }
            store.failure = SecretStoreException.Unavailable("locked")
            assertFailsWith<PostException.SecretsUnavailable> { cso.setCredential(null) }
            store.failure = null
            assertEquals("first-token", store.get(TOKEN)?.decodeToString())
            assertTrue(cso.createDraft().isNotBlank())
        }
    }

    private companion object {
        const val KEY = "postcso.queue_key.1"
        const val TOKEN = "postcso.device_token"

        fun ByteArray.contains(needle: ByteArray): Boolean =
            (0..size - needle.size).any { start -> needle.indices.all { this[start + it] == needle[it] } }
    }
}
