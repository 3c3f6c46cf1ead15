// An idiomatic async/await face over the generated `PostCore`.
//
// Queue calls are synchronous in Rust and durable when they return; the client
// runs them off the caller's actor on a detached task so the main thread never
// waits on SQLite or photo processing. Sync events arrive as an
// `AsyncStream<SyncEvent>`.
//
// Cancellation: cancelling a Swift `Task` that awaits `syncNow` does NOT stop
// the Rust future on its own — UniFFI does not propagate cancellation into
// Rust. `syncNow` therefore wraps the call in `withTaskCancellationHandler` and
// calls the core's `cancel()`, which stops the run within a second with its
// progress saved.

import Foundation
import PostcsoFFI

/// The app's handle on the POST-CSO core: one per data directory.
public final class PostCoreClient: @unchecked Sendable {
    private let core: PostCore
    /// Sync and status events, in order, for as long as the client is open.
    public let events: AsyncStream<SyncEvent>
    private let continuation: AsyncStream<SyncEvent>.Continuation

    /// Opens (or creates) the queue under `dataDirectory` and starts the sync
    /// engine.
    ///
    /// `secrets` keeps the device token and the queue's data key, and nothing
    /// else does: in the app a `KeychainSecretStore`. A key that is gone, wrong
    /// or whose check is damaged throws `PostError.DataKeyLost`, `DataKeyWrong`
    /// or `DataDamaged`; a store that throws, `SecretsUnavailable` or
    /// `SecretStoreFailed`.
    ///
    /// `credential` is for apps that keep their own tokens: `nil` (the usual
    /// case) uses the token `enrol` saved in `secrets`; given, it is used and
    /// saved there.
    public init(dataDirectory: URL, stationURL: URL, secrets: SecretStore, credential: String? = nil) throws {
        core = try PostCore.open(
            config: CoreConfig(
                dataDir: dataDirectory.path,
                stationUrl: stationURL.absoluteString,
                credential: credential
            ),
            secrets: secrets
        )
        (events, continuation) = AsyncStream.makeStream(of: SyncEvent.self, bufferingPolicy: .bufferingNewest(256))
        try core.setListener(listener: StreamListener(continuation: continuation))
    }

    deinit {
        close()
    }

    /// Stops the engine and ends `events`. Idempotent.
    public func close() {
        core.close()
        continuation.finish()
    }

    /// Whether `close()` was called; afterwards every call throws `PostError.Closed`.
    public var isClosed: Bool {
        core.isClosed()
    }

    // MARK: Drafts

    /// Starts a new draft and returns its id.
    public func createDraft() async throws -> String {
        try await offMain { try self.core.createDraft() }
    }

    /// Sets a draft's category code.
    public func setCategory(_ id: String, code: String) async throws {
        try await offMain { try self.core.setCategory(id: id, code: code) }
    }

    /// Sets or clears (blank) a draft's note.
    public func setNote(_ id: String, text: String) async throws {
        try await offMain { try self.core.setNote(id: id, text: text) }
    }

    /// Sets a draft's position; throws `PostError.InvalidLocation` when invalid.
    public func setLocation(_ id: String, _ location: Location) async throws {
        try await offMain { try self.core.setLocation(id: id, location: location) }
    }

    /// Processes a JPEG or PNG file (HEIC: convert with ImageIO first) and attaches it.
    public func attachPhoto(_ id: String, fileURL: URL) async throws -> AttachedPhoto {
        try await offMain { try self.core.attachPhoto(id: id, path: fileURL.path) }
    }

    /// Like `attachPhoto(_:fileURL:)`, from bytes in memory (a photo picker's data);
    /// JPEG or PNG only, so convert HEIC with ImageIO first.
    public func attachPhoto(_ id: String, data: Data) async throws -> AttachedPhoto {
        try await offMain { try self.core.attachPhotoBytes(id: id, bytes: data) }
    }

    /// Removes the photo at `position`.
    public func removePhoto(_ id: String, position: UInt32) async throws {
        try await offMain { try self.core.removePhoto(id: id, position: position) }
    }

    /// Deletes an abandoned draft.
    public func deleteDraft(_ id: String) async throws {
        try await offMain { try self.core.deleteDraft(id: id) }
    }

    /// Seals and queues a draft; durable when it returns.
    public func submit(_ id: String) async throws -> SubmitReceipt {
        try await offMain { try self.core.submit(id: id) }
    }

    /// Takes back a queued report that has not started sending.
    public func withdraw(_ id: String) async throws {
        try await offMain { try self.core.withdraw(id: id) }
    }

    /// Takes back a report the station refused for good (`.rejectedByServer`) so
    /// the carrier can correct it and send it again under the same id. Returns
    /// its new state: `.draft` when the station never stored it (edit it, then
    /// `submit` seals it again; `serverMessage` still says what was wrong until
    /// then), or `.queued` when the station already holds its content (it goes
    /// again as sealed). Any other state throws `PostError.NotADraft`.
    public func retryRejected(_ id: String) async throws -> ReportState {
        try await offMain { try self.core.retryRejected(id: id) }
    }

    /// One report with its photos.
    public func report(_ id: String) async throws -> Report {
        try await offMain { try self.core.get(id: id) }
    }

    /// Every report, oldest first.
    public func reports() async throws -> [ReportSummary] {
        try await offMain { try self.core.list() }
    }

    /// Counts per state, for the queue tab's badge.
    public func stats() async throws -> QueueStats {
        try await offMain { try self.core.stats() }
    }

    /// The station's categories, for the category picker.
    public func categories() async throws -> [Category] {
        try await offMain { try self.core.categories() }
    }

    /// The station's zones as last synced; the device's own are `assigned`.
    public func zones() async throws -> [Zone] {
        try await offMain { try self.core.zones() }
    }

    // MARK: Places (offline)

    /// The zones in force now whose outline holds the point, in the station's
    /// order, from the phone's own copy. Outside every zone: empty. A NaN or
    /// out-of-range coordinate throws `PostError.InvalidLocation`.
    public func zonesAt(lat: Double, lon: Double) async throws -> [ZoneHit] {
        try await offMain { try self.core.zonesAt(lat: lat, lon: lon) }
    }

    /// The zones in force now within `radiusM` metres (0 to 5,000), nearest
    /// first; a bad radius throws `PostError.InvalidRadius`.
    public func zonesNear(lat: Double, lon: Double, radiusM: Double) async throws -> [ZoneHit] {
        try await offMain { try self.core.zonesNear(lat: lat, lon: lon, radiusM: radiusM) }
    }

    /// Feed each `CLLocation`: returns the watch areas entered and left (with
    /// names, theme and guidance for the alert). Entering needs a fix inside
    /// with an accuracy of 100 m or better, leaving one more than 20 m outside;
    /// nothing is announced again after the app was terminated inside an area.
    public func updatePosition(_ location: Location) async throws -> PositionUpdate {
        try await offMain { try self.core.updatePosition(location: location) }
    }

    /// This phone's queued or sent reports of the draft's category within 30 m
    /// from the last 14 days, nearest first: "add a photo to it instead?".
    public func nearbyReports(_ draftId: String) async throws -> [NearbyReport] {
        try await offMain { try self.core.nearbyReports(id: draftId) }
    }

    /// Starts a follow-up draft (same category and position, sealed with
    /// `follow_up_of`) of a queued or sent report; returns its id. Throws
    /// `PostError.NotFound` or `PostError.InvalidFollowUp`.
    public func createFollowUp(_ parentId: String) async throws -> String {
        try await offMain { try self.core.createFollowUp(parentId: parentId) }
    }

    /// Bytes and requests sent since the client was opened.
    public func transferStats() async throws -> TransferStats {
        try await offMain { try self.core.transferStats() }
    }

    // MARK: Enrolment and sync

    /// Redeems a one-time code. The token is in force at once and saved in the
    /// client's `SecretStore`; when the store cannot save it, this throws
    /// `PostError.SecretsUnavailable` or `SecretStoreFailed` and the device stays
    /// enrolled for this session only (the code is spent).
    public func enrol(code: String) async throws -> Enrolment {
        try await core.enrol(code: code)
    }

    /// Replaces the device credential (after re-enrolment by other means, or an
    /// app that keeps its own tokens) and syncs. Saved in the `SecretStore`;
    /// `nil` deletes it there. When the store fails, nothing changes.
    public func setCredential(_ credential: String?) async throws {
        try await offMain { try self.core.setCredential(credential: credential) }
    }

    /// Feeds connectivity (see `NetworkStateFeeder`).
    public func setNetworkState(_ state: NetworkState) throws {
        try core.setNetworkState(state: state)
    }

    /// Data and battery policy.
    public func setPolicy(_ policy: SyncPolicy) throws {
        try core.setPolicy(policy: policy)
    }

    /// Low Power Mode or a low battery level.
    public func setBatteryLow(_ low: Bool) throws {
        try core.setBatteryLow(low: low)
    }

    /// Syncs until drained or until `deadline`, whichever comes first, and
    /// returns with progress saved. Cancelling the calling `Task` calls
    /// `cancel()` (the Rust future would not stop on its own).
    public func syncNow(deadline: Date) async throws -> SyncOutcome {
        let budget = max(0, deadline.timeIntervalSinceNow)
        let budgetMs = UInt64(budget * 1000)
        return try await withTaskCancellationHandler {
            try await core.syncNow(budgetMs: budgetMs)
        } onCancel: {
            core.cancel()
        }
    }

    /// Stops the sync in progress; progress is kept.
    public func cancel() {
        core.cancel()
    }

    /// Crosses the FFI and does nothing: the baseline of the overhead figures.
    public func noop() {
        core.noop()
    }

    private func offMain<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await Task.detached(priority: .userInitiated) { try work() }.value
    }
}

/// Forwards the core's events into an `AsyncStream`; never throws, so sync is
/// never disturbed by the UI.
private final class StreamListener: SyncListener, @unchecked Sendable {
    private let continuation: AsyncStream<SyncEvent>.Continuation

    init(continuation: AsyncStream<SyncEvent>.Continuation) {
        self.continuation = continuation
    }

    func onEvent(event: SyncEvent) throws {
        continuation.yield(event)
    }
}
