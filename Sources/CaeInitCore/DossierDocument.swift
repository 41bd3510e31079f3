/// The JSON document of one object version (SPEC §4): the kind's fields plus `entite_id`, `timestamp`
/// (= `validFrom`), `validFrom` and `validTo`, in the order of the SPEC's example.
public enum DossierDocument {
    public static func build(entiteId: String, version: ObjectVersion) -> JSONObject {
        let specs = version.kind.fields
        var object = JSONObject()
        object.appendUnchecked("entite_id", .string(entiteId))
        object.appendUnchecked(specs[0].name, version.fields[0])
        object.appendUnchecked("timestamp", .number(String(version.validFrom)))
        object.appendUnchecked("id", .string(version.id))
        for index in 1..<specs.count {
            object.appendUnchecked(specs[index].name, version.fields[index])
        }
        object.appendUnchecked("validFrom", .number(String(version.validFrom)))
        object.appendUnchecked("validTo", .number(String(version.validTo)))
        return object
    }
}

/// The subscription's `filters` (SPEC §4.3): a document is written only if, for every property, it has that
/// property with an equal JSON value.
public struct DocumentFilter: Sendable, Equatable {
    public let properties: JSONObject

    public init(_ properties: JSONObject) { self.properties = properties }

    public func matches(_ document: JSONObject) -> Bool {
        for (key, expected) in properties {
            guard let actual = document[key], actual.isJSONEqual(to: expected) else { return false }
        }
        return true
    }
}

/// Why an object name could not be made from the document's `folderName` property.
public struct FolderNameError: Error, Sendable, Equatable, CustomStringConvertible {
    public let property: String
    public let kind: ObjectKind
    public let objectId: String
    public let reason: String

    public var description: String {
        "folderName property '\(property)' \(reason) in \(kind.rawValue) \(objectId)"
    }
}

/// Why a document's `folderName` property cannot name a folder, whatever the document.
public struct UnsafeFolderError: Error, Sendable, Equatable, CustomStringConvertible {
    public let property: String
    public let reason: String

    public var description: String { "folderName property '\(property)' \(reason)" }
}

/// Object names (SPEC §4): `<folder>/<kind>/<id>_<validFrom>.json`, the folder being the document's value of the
/// sink's `folderName` property, checked to be one safe path segment.
public struct ObjectNaming: Sendable, Equatable {
    public let folderProperty: String

    public init(folderProperty: String) { self.folderProperty = folderProperty }

    public func folder(of document: JSONObject, version: ObjectVersion) throws(FolderNameError) -> String {
        do {
            return try folder(of: document)
        } catch {
            throw FolderNameError(property: folderProperty, kind: version.kind, objectId: version.id, reason: error.reason)
        }
    }

    /// The folder of any document, a live event's included (SPEC §4 and §9): the value of `folderProperty`,
    /// checked to be one safe path segment.
    public func folder(of document: JSONObject) throws(UnsafeFolderError) -> String {
        func fail(_ reason: String) -> UnsafeFolderError { UnsafeFolderError(property: folderProperty, reason: reason) }
        let folder: String
        switch document[folderProperty] {
        case nil: throw fail("is missing")
        case .null: throw fail("is null")
        case .string(let s): folder = s
        case .number(let literal): folder = literal
        case .some(let other): throw fail("is \(other.typeName), not a string or a number")
        }
        if folder.isEmpty { throw fail("is empty") }
        if folder == "." || folder == ".." { throw fail("is '\(folder)'") }
        // Compared without case: on a case-insensitive file system `_Manifests` is `_manifests`.
        if Self.reservedFolders.contains(where: { $0.lowercased() == folder.lowercased() }) {
            throw fail("is '\(folder)', a name the sink reserves for its own use")
        }
        for scalar in folder.unicodeScalars {
            if scalar == "/" || scalar == "\\" { throw fail("contains '\(scalar)'") }
            if scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) { throw fail("contains a control character") }
        }
        return folder
    }

    public func objectName(of document: JSONObject, version: ObjectVersion) throws(FolderNameError) -> String {
        "\(try folder(of: document, version: version))/\(version.relativeName)"
    }

    /// The top-level names a folder must not take: documents written there would land among the manifests or
    /// the Local Directory sink's temporary files.
    public static let reservedFolders = [manifestsFolder, temporaryFolder]

    public static let manifestsFolder = "_manifests"
    /// Where the Local Directory sink writes files before renaming them into place.
    public static let temporaryFolder = ".partial"

    /// `_manifests/<subscription id>/<entite_id>.json`, at the root of the sink.
    public static func manifestName(subscriptionId: String, entiteId: String) -> String {
        "\(manifestsFolder)/\(subscriptionId)/\(entiteId).json"
    }
}
