import ArgumentParser
import CaeInitStore
import Foundation

struct ApiKeys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "api-keys",
        abstract: "Keys of the REST API (x-apikey), each scoped to domains. The store keeps only a hash of each key.",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Creates a key and prints it once, alone on standard output: it cannot be shown again.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "A name for the key, shown in request logs and by list (never reused).") var name: String
        @Option(name: .customLong("domain"), help: "A domain whose subscriptions the key sees and changes (repeat for several).") var domains: [String] = []
        @Flag(name: .customLong("all-domains"), help: "The key sees and changes every subscription.") var allDomains = false

        func validate() throws {
            if allDomains == !domains.isEmpty { throw ValidationError("give either --domain (one or more) or --all-domains") }
        }

        func run() async throws {
            try await reportingErrors {
                let store = ApiKeyStore(connection: try await database.connectStore())
                let key = try await store.create(name: name, scope: allDomains ? .allDomains : .domains(Set(domains)))
                print(key)
                FileHandle.standardError.write(Data("created API key \"\(name)\" for \(allDomains ? "all domains" : domains.sorted().joined(separator: ", ")): store it now, it is not shown again\n".utf8))
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists the keys: name, domains, created, last used (to the minute), revoked. Never the keys.")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let keys = try await ApiKeyStore(connection: try await database.connectStore()).list()
                print(["NAME", "DOMAINS", "CREATED", "LAST USED", "REVOKED"].joined(separator: "\t"))
                for key in keys {
                    let domains: String
                    switch key.scope {
                    case .allDomains: domains = "*"
                    case .domains(let set): domains = set.sorted().joined(separator: ",")
                    }
                    print([key.name, domains, key.createdAt, key.lastUsedAt ?? "never", key.revokedAt ?? "-"].joined(separator: "\t"))
                }
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revokes a key at once: the next request with it gets 401.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The key's name.") var name: String

        func run() async throws {
            try await reportingErrors {
                guard try await ApiKeyStore(connection: try await database.connectStore()).revoke(name: name) else {
                    throw CLIError("no active API key named \"\(name)\"")
                }
                print("revoked \(name)")
            }
        }
    }
}
