/// One file an initialisation writes: its object name, its exact bytes, and how it counts.
public struct DocumentFile: Sendable, Equatable {
    public let name: String
    public let body: [UInt8]
    public let kind: ObjectKind
    public let role: VersionRole

    public init(name: String, body: [UInt8], kind: ObjectKind, role: VersionRole) {
        self.name = name
        self.body = body
        self.kind = kind
        self.role = role
    }
}

/// The per-object step of an initialisation (SPEC §4): a chain of versions → the history rules → documents → the
/// subscription's filters → object names. The worker streams chains from PostgreSQL through it and `render`
/// feeds it a fixture, so both give the same files by construction.
public struct DocumentPipeline: Sendable {
    public let entiteId: String
    public let withHistory: Bool
    public let rules: HistoryRules
    public let filter: DocumentFilter
    public let naming: ObjectNaming

    public init(entiteId: String, withHistory: Bool, rules: HistoryRules, filter: DocumentFilter, naming: ObjectNaming) {
        self.entiteId = entiteId
        self.withHistory = withHistory
        self.rules = rules
        self.filter = filter
        self.naming = naming
    }

    /// - Parameters:
    ///   - periods: the dossier's situation periods; ignored without history.
    ///   - filters: the subscription's `filters` (nil or empty: every document).
    ///   - folderProperty: the sink's `options.folderName`.
    public init(entiteId: String, periods: [SituationPeriod], withHistory: Bool, filters: JSONObject?, folderProperty: String = "entite_id") {
        self.init(
            entiteId: entiteId, withHistory: withHistory,
            rules: HistoryRules(periods: withHistory ? periods : []),
            filter: DocumentFilter(filters ?? JSONObject()),
            naming: ObjectNaming(folderProperty: folderProperty)
        )
    }

    /// The files one object gives, in chain order.
    /// - Parameter chain: the object's versions sorted by `validFrom` (only the current one without history).
    /// - Throws: `BrokenHistoryError` (with history) or `FolderNameError`, which fail the key filter.
    public func files(for chain: [ObjectVersion]) throws -> [DocumentFile] {
        var files: [DocumentFile] = []
        for (version, role) in try rules.select(chain: chain, withHistory: withHistory) {
            let document = DossierDocument.build(entiteId: entiteId, version: version)
            guard filter.matches(document) else { continue }
            let name = try naming.objectName(of: document, version: version)
            files.append(DocumentFile(name: name, body: JSONValue.object(document).serializedBytes(), kind: version.kind, role: role))
        }
        return files
    }
}

/// Everything an initialisation of one dossier writes, manifest aside.
public struct RenderedDossier: Sendable {
    public let files: [DocumentFile]
    public let counts: InitialisationCounts

    /// Object name → bytes.
    public var filesByName: [String: [UInt8]] {
        Dictionary(files.map { ($0.name, $0.body) }, uniquingKeysWith: { _, last in last })
    }
}

extension DocumentPipeline {
    /// A whole fixture through the pipeline, the versions grouped as the worker reads them from PostgreSQL: per
    /// kind, ordered by (id, validFrom), history rows only with history.
    public func render(_ fixture: DossierFixture) throws -> RenderedDossier {
        var files: [DocumentFile] = []
        var counts = InitialisationCounts()
        for kind in ObjectKind.allCases {
            for chain in fixture.chains(of: kind, includeHistory: withHistory) {
                for file in try self.files(for: chain) {
                    files.append(file)
                    counts.add(file.kind, file.role)
                }
            }
        }
        return RenderedDossier(files: files, counts: counts)
    }
}

extension DossierFixture {
    /// One kind's objects, each as its chain of versions sorted by `validFrom`, objects in id order.
    /// - Parameter includeHistory: false keeps current versions only, as the worker's snapshot-only read does.
    public func chains(of kind: ObjectKind, includeHistory: Bool) -> [[ObjectVersion]] {
        let versions = (versions[kind] ?? [])
            .filter { includeHistory || $0.isCurrent }
            .sorted { ($0.id, $0.validFrom) < ($1.id, $1.validFrom) }
        var grouper = VersionChainGrouper()
        var chains: [[ObjectVersion]] = []
        for version in versions {
            if let chain = grouper.add(version) { chains.append(chain) }
        }
        if let chain = grouper.finish() { chains.append(chain) }
        return chains
    }
}
