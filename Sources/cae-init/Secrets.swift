import ArgumentParser
import CaeInitStore

struct Secrets: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sink secrets at rest: sealed with AES-256-GCM under the keys of --secrets-key-file / CAE_INIT_SECRETS_KEY.",
        subcommands: [Rotate.self]
    )

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seals every subscription's secrets under the keyring's first key (and seals those stored in clear). Give the new key first and the old ones after; once done, the old keys can be dropped."
        )

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await reportingErrors {
                let sealer = try database.sealer(warnIfNone: false)
                guard let key = sealer.keys.first else {
                    throw CLIError("no secrets key given: set CAE_INIT_SECRETS_KEY or pass --secrets-key-file (the new key first)")
                }
                let store = SubscriptionStore(connection: try await database.connectStore(), sealer: sealer)
                let count = try await store.resealAllSinks()
                print("re-sealed the secrets of \(count) subscription(s) under key \(key.id)")
            }
        }
    }
}
