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
                } catch let error as CaeInitCore.ValidationError {
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

    struct Suspend: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspends a subscription: its new filters wait.")
        @OptionGroup var database: DatabaseOptions
        @Argument var id: String

        func run() async throws {
            try await reportingErrors {
                try await database.subscriptionStore().setSuspended(subscriptionId: id, true)
                print("suspended \(id)")
            }
        }
    }

    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Resumes a suspended subscription.")
        @OptionGroup var database: DatabaseOptions
        @Argument var id: String

        func run() async throws {
            try await reportingErrors {
                try await database.subscriptionStore().setSuspended(subscriptionId: id, false)
                print("resumed \(id)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deletes a subscription and its filters; runs going on stop and write no status.")
        @OptionGroup var database: DatabaseOptions
        @Argument var id: String

        func run() async throws {
            try await reportingErrors {
                try await database.subscriptionStore().deleteSubscription(id: id)
                print("deleted \(id)")
            }
        }
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

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Adds dossiers as new filters (keys already listed are left as they are).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target

        func run() async throws {
            try await reportingErrors {
                let store = try await database.subscriptionStore()
                let added = try await store.addKeyFilters(subscriptionId: target.subscription, keys: target.keys)
                print("added \(added.count) key filter(s) to \(target.subscription)" + (added.count < target.keys.count ? " (\(target.keys.count - added.count) already listed, left as they are)" : ""))
            }
        }
    }

    struct Reset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Puts filters back to new: the dossiers are initialised again; a run going on is discarded.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target

        func run() async throws {
            try await reportingErrors {
                try await database.subscriptionStore().resetKeyFilters(subscriptionId: target.subscription, keys: target.keys)
                print("reset \(target.keys.count) key filter(s) of \(target.subscription) to new")
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Removes filters; a run going on stops and writes no status.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var target: Target

        func run() async throws {
            try await reportingErrors {
                try await database.subscriptionStore().removeKeyFilters(subscriptionId: target.subscription, keys: target.keys)
                print("removed \(target.keys.count) key filter(s) from \(target.subscription)")
            }
        }
    }
}
