// The core's `SecretStore` on iOS, over the Keychain.
//
// Each secret (the device token, the queue's data key) is a generic-password
// item of its own, `kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly`: readable
// by background sync while the phone is locked (after the first unlock since
// boot), never synchronised to iCloud and never restored onto another device
// from a backup. A queue restored without its key is unreadable by design: the
// core raises `PostError.DataKeyLost`.

import Foundation
import PostcsoFFI
import Security

/// Keeps the core's secrets in the Keychain. Give one to `PostCoreClient`.
public final class KeychainSecretStore: SecretStore, @unchecked Sendable {
    /// The Keychain service the items are filed under.
    public let service: String
    private let accessGroup: String?
    private let lock = NSLock()

    /// Items go under `service`; pass an `accessGroup` only to share them with an
    /// app extension of the same team.
    public init(service: String = "org.postcso.secrets", accessGroup: String? = nil) {
        self.service = service
        self.accessGroup = accessGroup
    }

    public func get(name: String) throws -> Data? {
        lock.lock()
        defer { lock.unlock() }
        var query = try itemQuery(name)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(query as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data else {
                throw SecretStoreError.Failed(reason: "the Keychain returned no data for \(name)")
            }
            return data
        case errSecItemNotFound:
            return nil
        default:
            throw Self.failure(status, "reading \(name)")
        }
    }

    public func put(name: String, value: Data) throws {
        lock.lock()
        defer { lock.unlock() }
        let query = try itemQuery(name)
        let attributes: [String: Any] = [
            kSecValueData as String: value,
            kSecAttrAccessible as String: kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly,
        ]
        let updated = SecItemUpdate(query as CFDictionary, attributes as CFDictionary)
        if updated == errSecSuccess {
            return
        }
        guard updated == errSecItemNotFound else {
            throw Self.failure(updated, "saving \(name)")
        }
        let added = SecItemAdd(query.merging(attributes) { _, new in new } as CFDictionary, nil)
        guard added == errSecSuccess else {
            throw Self.failure(added, "saving \(name)")
        }
    }

    public func delete(name: String) throws {
        lock.lock()
        defer { lock.unlock() }
        let query = try itemQuery(name)
        let status = SecItemDelete(query as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else {
            throw Self.failure(status, "deleting \(name)")
        }
    }

    /// The query naming one item: this service, the secret's name as the account.
    private func itemQuery(_ name: String) throws -> [String: Any] {
        let allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
        guard !name.isEmpty, !name.hasPrefix("."), name.unicodeScalars.allSatisfy({ allowed.contains($0) }) else {
            throw SecretStoreError.Failed(reason: "not a secret name: \(name)")
        }
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: name,
            kSecAttrSynchronizable as String: false,
        ]
        if let accessGroup {
            query[kSecAttrAccessGroup as String] = accessGroup
        }
        return query
    }

    /// The Keychain's status as the error the core understands. Locked before the
    /// first unlock (`errSecInteractionNotAllowed`) means "try later".
    private static func failure(_ status: OSStatus, _ what: String) -> SecretStoreError {
        let message = (SecCopyErrorMessageString(status, nil) as String?) ?? "OSStatus \(status)"
        if status == errSecInteractionNotAllowed {
            return .Unavailable(reason: "\(what): \(message)")
        }
        return .Failed(reason: "\(what): \(message) (\(status))")
    }
}
