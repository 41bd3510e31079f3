import CaeInitCore
import Testing

/// Names a hostile or careless subscription could give: refused before anything is written, the field named.
@Suite("Hostile folder names and sink paths")
struct HostileNameTests {
    static let version = ObjectVersion(
        kind: .journal, id: "00000000-0000-4000-8000-000000000001", validFrom: 100, validTo: 0,
        fields: Array(repeating: .null, count: ObjectKind.journal.fields.count)
    )

    func objectName(folder: String) throws(FolderNameError) -> String {
        try ObjectNaming(folderProperty: "societe").objectName(of: JSONObject([("societe", .string(folder))]), version: Self.version)
    }

    @Test("The sink's reserved folders are refused, naming the property", arguments: [".partial", "_manifests", "_Manifests", ".PARTIAL"])
    func reservedFolders(folder: String) {
        #expect {
            _ = try objectName(folder: folder)
        } throws: { error in
            "\(error)".hasPrefix("folderName property 'societe' is '\(folder)', a name the sink reserves")
        }
    }

    @Test("Names next to the reserved ones are fine", arguments: [".partials", "partial", "_manifest", "manifests", "_manifests_", ".partial."])
    func nearReservedFolders(folder: String) throws {
        #expect(try objectName(folder: folder) == "\(folder)/journal/00000000-0000-4000-8000-000000000001_100.json")
    }

    func localSink(path: String) throws -> SinkConfiguration {
        let text = JSONValue.object(JSONObject([("type", "Local Directory"), ("options", .object(JSONObject([("path", .string(path))])))])).serialized()
        return try SinkConfiguration(json: try JSONValue.parse(text))
    }

    @Test("A relative Local Directory path is refused naming sink.options.path", arguments: ["out", "./out", "../out", "", " /out", "~/out"])
    func relativePath(path: String) {
        #expect {
            _ = try localSink(path: path)
        } throws: { error in
            error is FieldError && "\(error)".hasPrefix("sink.options.path: ")
        }
    }

    @Test("A path with a NUL (a C string would cut it) is refused naming sink.options.path")
    func nulInPath() {
        #expect {
            _ = try localSink(path: "/tmp/out\u{0}/elsewhere")
        } throws: { error in
            "\(error)" == "sink.options.path: must not contain a NUL character (\\u0000)"
        }
    }

    @Test("An absolute path is accepted", arguments: ["/", "/tmp/out", "/tmp/out/"])
    func absolutePath(path: String) throws {
        #expect(try localSink(path: path).location == path)
    }
}
