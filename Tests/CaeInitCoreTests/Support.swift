import CaeInitCore
import Foundation

/// The repository's root, found from this file's path (Tests/CaeInitCoreTests/Support.swift).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

func fixtureText(_ name: String) throws -> String {
    try String(contentsOf: repositoryRoot.appendingPathComponent("Fixtures/\(name)"), encoding: .utf8)
}

/// The object names and documents the rules select for a fixture, computed with the core alone (no I/O).
func initialisationFiles(_ fixture: DossierFixture, withHistory: Bool, folderProperty: String = "entite_id", filter: DocumentFilter = DocumentFilter(JSONObject())) throws -> [String: String] {
    let rules = HistoryRules(periods: withHistory ? fixture.periods : [])
    let naming = ObjectNaming(folderProperty: folderProperty)
    var files: [String: String] = [:]
    for kind in ObjectKind.allCases {
        let versions = (fixture.versions[kind] ?? []).sorted { ($0.id, $0.validFrom) < ($1.id, $1.validFrom) }
        var grouper = VersionChainGrouper()
        var chains: [[ObjectVersion]] = []
        for version in versions where withHistory || version.isCurrent {
            if let chain = grouper.add(version) { chains.append(chain) }
        }
        if let chain = grouper.finish() { chains.append(chain) }
        for chain in chains {
            for (version, _) in try rules.select(chain: chain, withHistory: withHistory) {
                let document = DossierDocument.build(entiteId: fixture.entiteId, version: version)
                guard filter.matches(document) else { continue }
                files[try naming.objectName(of: document, version: version)] = JSONValue.object(document).serialized()
            }
        }
    }
    return files
}

func version(_ id: String, _ validFrom: Int64, _ validTo: Int64, kind: ObjectKind = .journal) -> ObjectVersion {
    ObjectVersion(kind: kind, id: id, validFrom: validFrom, validTo: validTo, fields: Array(repeating: .null, count: kind.fields.count))
}

func version(_ validFrom: Int64, _ validTo: Int64) -> ObjectVersion {
    version("00000000-0000-4000-8000-000000000001", validFrom, validTo)
}
