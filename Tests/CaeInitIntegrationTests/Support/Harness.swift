import CaeInitCore
import CaeInitPostgres
import CaeInitTestSupport
import Foundation

/// A temporary directory removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "cae-init-it-\(UInt64.random(in: 0...UInt64.max))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func file(_ name: String) -> String { "\(path)/\(name)" }

    func write(_ name: String, _ text: String) throws -> String {
        let target = file(name)
        try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: target, atomically: true, encoding: .utf8)
        return target
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// Every regular file below `sub`, by path relative to it, with its bytes.
    func files(under sub: String) -> [String: [UInt8]] {
        let root = file(sub)
        var result: [String: [UInt8]] = [:]
        guard let enumerator = FileManager.default.enumerator(atPath: root) else { return result }
        while let relative = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            let full = "\(root)/\(relative)"
            if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), !isDirectory.boolValue,
               let data = FileManager.default.contents(atPath: full) {
                result[relative] = Array(data)
            }
        }
        return result
    }
}

/// A subscription body with a Local Directory sink.
func localSubscription(path: String, keys: [String], initWithHistory: Bool, folderName: String? = nil, filters: String? = nil, domain: String = "comptabilite") -> String {
    let keyFilters = keys.map { #"{"key":"\#($0)"}"# }.joined(separator: ",")
    let folder = folderName.map { #","folderName":"\#($0)""# } ?? ""
    let filtersField = filters.map { #","filters":\#($0)"# } ?? ""
    return #"{"domain":"\#(domain)","applicationId":"tests","keyFilters":[\#(keyFilters)],"sink":{"type":"Local Directory","credentials":{},"options":{"path":"\#(path)"\#(folder)}},"topics":["queuing.cpa.comptabilite"],"initWithHistory":\#(initWithHistory)\#(filtersField)}"#
}

/// Creates a subscription through the CLI; returns its id.
func createSubscription(_ body: String, database: String, in directory: TemporaryDirectory) async throws -> String {
    let file = try directory.write("subscription-\(UInt32.random(in: 0...UInt32.max)).json", body)
    let output = try await CLI.succeed(["subscriptions", "create", "--file", file], database: database)
    guard let id = try JSONValue.parse(output).objectValue?["id"]?.stringValue else { throw TestFailure("no id in \(output)") }
    return id
}

/// The subscription document as `subscriptions show` prints it.
func showSubscription(_ id: String, database: String) async throws -> JSONValue {
    try JSONValue.parse(try await CLI.succeed(["subscriptions", "show", id], database: database))
}

/// key → status, message, report of a subscription's filters.
func filterStates(_ id: String, database: String) async throws -> [String: (status: String, message: String?, report: JSONValue?)] {
    let document = try await showSubscription(id, database: database)
    var states: [String: (String, String?, JSONValue?)] = [:]
    for filter in document.objectValue?["keyFilters"]?.arrayValue ?? [] {
        let object = filter.objectValue!
        states[object["key"]!.stringValue!] = (object["status"]!.stringValue!, object["message"]?.stringValue, object["report"])
    }
    return states
}

/// Runs SQL directly, for setting up states the CLI refuses to create.
func sql(_ statement: String, _ parameters: [String?] = [], database: String) async throws -> PostgresRows {
    let connection = try await PostgresConnection.connect(database)
    return try await connection.query(statement, parameters)
}
