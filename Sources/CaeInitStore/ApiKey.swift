import CaeInitCore

/// Which subscriptions an API key sees and changes: those of its domains, or all of them.
public enum ApiKeyScope: Sendable, Equatable {
    case allDomains
    case domains(Set<String>)

    public func allows(_ domain: String) -> Bool {
        switch self {
        case .allDomains: return true
        case .domains(let domains): return domains.contains(domain)
        }
    }

    /// The domains as a JSON array for SQL (`jsonb`), nil for all domains.
    var domainsJSON: String? {
        switch self {
        case .allDomains: return nil
        case .domains(let domains): return JSONValue.array(domains.sorted().map(JSONValue.string)).serialized()
        }
    }
}

/// An authenticated API key: its name (for logs) and scope. Never the key itself.
public struct ApiKeyIdentity: Sendable, Equatable {
    public let name: String
    public let scope: ApiKeyScope

    public init(name: String, scope: ApiKeyScope) {
        self.name = name
        self.scope = scope
    }
}

/// What `api-keys list` shows of a key: never the key, which is not stored.
public struct ApiKeyInfo: Sendable, Equatable {
    public let name: String
    public let scope: ApiKeyScope
    /// ISO-8601 UTC, milliseconds.
    public let createdAt: String
    public let lastUsedAt: String?
    public let revokedAt: String?
}
