// Runs on a Mac with the XCFramework built (`scripts/build-xcframework.sh`,
// `swift test` needs a macOS slice or an iOS simulator destination:
// `xcodebuild test -scheme PostCSO -destination 'platform=iOS Simulator,name=iPhone 15'`).
// Not run on the Linux CI machines, which have no Swift toolchain.

import XCTest
@testable import PostCSO
import PostcsoFFI

final class PostCoreClientTests: XCTestCase {
    func testDraftLifecycleAndTypedErrors() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        let client = try PostCoreClient(
            dataDirectory: dir,
            stationURL: URL(string: "http://127.0.0.1:9/")!,
            secrets: FileSecretStore(directory: dir.appendingPathComponent("secrets"))
        )
        defer { client.close() }
        try client.setNetworkState(NetworkState(online: false, metered: false, constrained: false))
        let id = try await client.createDraft()
        try await client.setCategory(id, code: "crime_risk")
        do {
            try await client.setLocation(id, Location(
                lat: 91, lon: 0, accuracyM: 5, altitudeM: nil, fixTime: Date(), source: .gps))
            XCTFail("an out-of-range latitude was accepted")
        } catch PostError.InvalidLocation {
        }
        try await client.setLocation(id, Location(
            lat: 37.5658, lon: 126.9386, accuracyM: 7, altitudeM: nil, fixTime: Date(), source: .gps))
        _ = try await client.submit(id)
        let stats = try await client.stats()
        XCTAssertEqual(stats.queued, 1)
    }

    func testTheSurfaceTheKotlinWrapperHasToo() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        let client = try PostCoreClient(
            dataDirectory: dir,
            stationURL: URL(string: "http://127.0.0.1:9/")!,
            secrets: FileSecretStore(directory: dir.appendingPathComponent("secrets"))
        )
        try client.setNetworkState(NetworkState(online: false, metered: false, constrained: false))
        let id = try await client.createDraft()
        do {
            _ = try await client.attachPhoto(id, data: Data("not a photo".utf8))
            XCTFail("text was accepted as a photo")
        } catch PostError.BadPhoto {
        }
        do {
            _ = try await client.retryRejected(id)
            XCTFail("a draft was retried as if the station had refused it")
        } catch PostError.NotADraft {
        }
        try await client.setCredential("pcd_not_a_real_token")
        let sent = try await client.transferStats()
        XCTAssertEqual(sent.photoBytesSent, 0)
        client.noop()
        XCTAssertFalse(client.isClosed)
        client.close()
        XCTAssertTrue(client.isClosed)
    }

    func testPlacesAnswerOfflineWithTypedErrors() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        let client = try PostCoreClient(
            dataDirectory: dir,
            stationURL: URL(string: "http://127.0.0.1:9/")!,
            secrets: FileSecretStore(directory: dir.appendingPathComponent("secrets"))
        )
        defer { client.close() }
        let none = try await client.zonesAt(lat: 37.5658, lon: 126.9386)
        XCTAssertTrue(none.isEmpty, "no zones synced yet: empty, no error")
        do {
            _ = try await client.zonesAt(lat: .nan, lon: 126.9)
            XCTFail("NaN was accepted")
        } catch PostError.InvalidLocation {
        }
        do {
            _ = try await client.zonesNear(lat: 37.5, lon: 126.9, radiusM: -1)
            XCTFail("a negative radius was accepted")
        } catch PostError.InvalidRadius {
        }
        let update = try await client.updatePosition(Location(
            lat: 37.5658, lon: 126.9386, accuracyM: 7, altitudeM: nil, fixTime: Date(), source: .gps))
        XCTAssertTrue(update.entered.isEmpty && update.left.isEmpty)
        let id = try await client.createDraft()
        let nearby = try await client.nearbyReports(id)
        XCTAssertTrue(nearby.isEmpty)
        do {
            _ = try await client.createFollowUp(id)
            XCTFail("a draft was followed up")
        } catch PostError.InvalidFollowUp {
        }
    }
}

/// A `SecretStore` over plain files for the tests (the app uses
/// `KeychainSecretStore`): it protects nothing.
final class FileSecretStore: SecretStore, @unchecked Sendable {
    let directory: URL

    init(directory: URL) {
        self.directory = directory
    }

    func get(name: String) throws -> Data? {
        let file = directory.appendingPathComponent(name)
        guard FileManager.default.fileExists(atPath: file.path) else { return nil }
        return try Data(contentsOf: file)
    }

    func put(name: String, value: Data) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try value.write(to: directory.appendingPathComponent(name), options: .atomic)
    }

    func delete(name: String) throws {
        let file = directory.appendingPathComponent(name)
        if FileManager.default.fileExists(atPath: file.path) {
            try FileManager.default.removeItem(at: file)
        }
    }
}

/// Throws what it is told to, as a broken or locked Keychain would.
final class ThrowingSecretStore: SecretStore, @unchecked Sendable {
    let error: Error

    init(error: Error) {
        self.error = error
    }

    func get(name: String) throws -> Data? { throw error }
    func put(name: String, value: Data) throws { throw error }
    func delete(name: String) throws { throw error }
}

final class SecretStoreTests: XCTestCase {
    struct NotDeclared: Error {}

    func testAStoreThatThrowsIsATypedPostError() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        let url = URL(string: "http://127.0.0.1:9/")!
        XCTAssertThrowsError(try PostCoreClient(
            dataDirectory: dir, stationURL: url,
            secrets: ThrowingSecretStore(error: SecretStoreError.Unavailable(reason: "before first unlock"))
        )) { error in
            guard let e = error as? PostError, case .SecretsUnavailable = e else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try PostCoreClient(
            dataDirectory: dir, stationURL: url, secrets: ThrowingSecretStore(error: NotDeclared())
        )) { error in
            guard let e = error as? PostError, case .SecretStoreFailed = e else { return XCTFail("\(error)") }
        }
    }

    func testALostKeyIsDataKeyLost() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent(UUID().uuidString)
        let url = URL(string: "http://127.0.0.1:9/")!
        let secrets = FileSecretStore(directory: dir.appendingPathComponent("secrets"))
        try PostCoreClient(dataDirectory: dir, stationURL: url, secrets: secrets).close()
        try secrets.delete(name: "postcso.queue_key.1")
        XCTAssertThrowsError(try PostCoreClient(dataDirectory: dir, stationURL: url, secrets: secrets)) { error in
            guard let e = error as? PostError, case .DataKeyLost = e else { return XCTFail("\(error)") }
        }
    }
}
