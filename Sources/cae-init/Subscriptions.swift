import ArgumentParser
import CaeInitCore
import CaeInitStore

struct Subscriptions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Sink subscriptions (SPEC §2). Documents are printed as JSON, secrets masked.",
        subcommands: [Create.self, Show.self, List.self, Suspend.self, Resume.self, Delete.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Creates a subscription from a JSON body; prints it with its id.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "The subscription body (JSON).") var file: String

        func run() async throws {
            try await reportingErrors {
                let text = try readFile(file)
                let draft: Subscription
                do {
                    draft = try Subscription.parseCreation(try JSONValue.parse(text))
                } catch let error as JSONParseError {
                    throw CLIError("\(file): not valid JSON: \(error)")
                } catch let error as FieldError {
                    throw CLIError("\(file): \(error) (nothing was created)")
                }
                let store = try await database.subscriptionStore(warnIfNoKey: true)
                print(try await store.create(draft).document().prettySerialized())
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Prints one subscription with its key filters.")
        @OptionGroup var database: DatabaseOptions
        @Argument var id: String

        func run() async throws {
            try await reportingErrors {
                let store = try await database.subscriptionStore()
                guard let subscription = try await store.subscription(id: id) else { throw CLIError("no subscription \(id)") }
                print(subscription.document().prettySerialized())
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Prints the subscriptions as a JSON array.")
        @OptionGroup var database: DatabaseOptions
        @Option(help: "Only this domain.") var domain: String?

        func run() async throws {
            try await reportingErrors {
                let store = try await database.subscriptionStore()
                print(JSONValue.array(try await store.subscriptions(domain: domain).map { $0.document() }).prettySerialized())
            }
        }
    }

    struct Suspend: StoreAction {
        static let configuration = CommandConfiguration(abstract: "Suspends a subscription: its new filters wait.")
        @OptionGroup var database: DatabaseOptions
        @Argument var id: String

        func act(on store: SubscriptionStore) async throws -> String {
            try await store.setSuspended(subscriptionId: id, true)
            return "suspended \(id)"
        }
    }

    struct Resume: StoreAction {
        static let configuration = CommandConfiguration(abstract: "Resumes a suspended subscription.")
        @OptionGroup var database: DatabaseOptions
        @Argument var id: String

        func act(on store: SubscriptionStore) async throws -> String {
            try await store.setSuspended(subscriptionId: id, false)
            return "resumed \(id)"
        }
    }

    struct Delete: StoreAction {
        static let configuration = CommandConfiguration(abstract: "Deletes a subscription and its filters; runs going on stop and write no status.")
        @OptionGroup var database: DatabaseOptions
        @Argument var id: String

        func act(on store: SubscriptionStore) async throws -> String {
            try await store.deleteSubscription(id: id)
            return "deleted \(id)"
        }
    }
}

/// A command that does one thing to the subscription store and prints one line: the shared connection and error
/// reporting of the small subcommands.
protocol StoreAction: AsyncParsableCommand {
    var database: DatabaseOptions { get }
    /// Does the action; returns the line to print.
    func act(on store: SubscriptionStore) async throws -> String
}

extension StoreAction {
    func run() async throws {
        try await reportingErrors { print(try await act(on: try await database.subscriptionStore())) }
    }
}

struct KeyFilters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key-filters",
        abstract: "A subscription's dossiers.",
        subcommands: [Add.self, Reset.self, Remove.self]
    )

    struct Target: ParsableArguments {
        @Option(help: "The subscription id.") var subscription: String
        @Argument(help: "Dossier keys (entite_id UUIDs).") var keys: [String]
    }

    struct Add: StoreAction {
        static let configuration = CommandConfiguration(abstract: "Adds dossiers as new filters (keys already listed are left as they are).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target

        func act(on store: SubscriptionStore) async throws -> String {
            let added = try await store.addKeyFilters(subscriptionId: target.subscription, keys: target.keys)
            return "added \(added.count) key filter(s) to \(target.subscription)" + (added.count < target.keys.count ? " (\(target.keys.count - added.count) already listed, left as they are)" : "")
        }
    }

    struct Reset: StoreAction {
        static let configuration = CommandConfiguration(abstract: "Puts filters back to new: the dossiers are initialised again; a run going on is discarded.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target

        func act(on store: SubscriptionStore) async throws -> String {
            try await store.resetKeyFilters(subscriptionId: target.subscription, keys: target.keys)
            return "reset \(target.keys.count) key filter(s) of \(target.subscription) to new"
        }
    }

    struct Remove: StoreAction {
        static let configuration = CommandConfiguration(abstract: "Removes filters; a run going on stops and writes no status.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target

        func act(on store: SubscriptionStore) async throws -> String {
            try await store.removeKeyFilters(subscriptionId: target.subscription, keys: target.keys)
            return "removed \(target.keys.count) key filter(s) from \(target.subscription)"
        }
    }
}
