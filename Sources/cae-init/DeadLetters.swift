import ArgumentParser
import CaeInitSinkService
import CaeInitStore
import Foundation
import Logging

struct DeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dead-letters",
        abstract: "Messages the Sink Service could not write to a subscription's sink (after its retries), with the reason.",
        subcommands: [List.self, Retry.self, Discard.self]
    )

    /// Which dead letters a command is about.
    struct Selection: ParsableArguments {
        @Option(help: "Only this subscription's dead letters.") var subscription: String?
        @Option(help: "Only this dead letter (its id, as list shows it).") var id: Int64?
        @Flag(help: "Every dead letter (retry and discard ask for it explicitly).") var all = false

        func validate(requireChoice: Bool) throws {
            if all && (subscription != nil || id != nil) { throw ValidationError("--all goes alone (not with --subscription or --id)") }
            if requireChoice && !all && subscription == nil && id == nil {
                throw ValidationError("say which dead letters: --subscription, --id or --all")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Lists dead letters: id, subscription, key, topic/partition/offset, attempts, reason (never a secret).")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var selection: Selection

        func validate() throws { try selection.validate(requireChoice: false) }

        func run() async throws {
            try await reportingErrors {
                let letters = try await DeadLetterStore(connection: try await database.connectStore()).list(subscriptionId: selection.subscription, id: selection.id)
                print(["ID", "SUBSCRIPTION", "KEY", "TOPIC/PARTITION/OFFSET", "ATTEMPTS", "LAST FAILURE", "REASON"].joined(separator: "\t"))
                for letter in letters {
                    print([
                        String(letter.id), letter.subscriptionId, letter.event.key,
                        "\(letter.event.topic)/\(letter.event.partition)/\(letter.event.offset)",
                        String(letter.attempts), letter.lastFailureAt, oneLine(letter.reason),
                    ].joined(separator: "\t"))
                }
            }
        }
    }

    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delivers dead letters again through the Sink Service's delivery (after fixing the sink); each one delivered is deleted. Exits 1 if any still fails.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var selection: Selection

        func validate() throws { try selection.validate(requireChoice: true) }

        func run() async throws {
            try await reportingErrors {
                try database.bootstrapLogging()
                let results = try await LiveEventDelivery.retryDeadLetters(
                    storeConninfo: try database.storeConninfo(), dossierConninfo: try database.dossierConninfo(), sealer: try database.sealer(warnIfNone: false),
                    subscriptionId: selection.subscription, id: selection.id, logger: Logger(label: "cae-init")
                )
                var failing = 0
                for result in results {
                    let letter = result.letter
                    let what = "\(letter.id) (\(letter.subscriptionId) \(letter.event.topic)/\(letter.event.partition)/\(letter.event.offset))"
                    switch result.outcome {
                    case .written(let name)?: print("delivered \(what) → \(name)")
                    case .kept?: print("kept \(what): the key is being initialised, it is written once ready")
                    case .skippedAsStale?: print("superseded \(what): the database holds that version as ended, its later event is written")
                    case .deadLettered(let reason)?:
                        failing += 1
                        print("still failing \(what): \(oneLine(reason))")
                    case .ignored(let reason)?:
                        failing += 1
                        print("not delivered \(what): \(reason.rawValue)")
                    case nil:
                        print("gone \(what): the key filter was removed")
                    }
                }
                if results.isEmpty { print("no dead letter to retry") }
                if failing > 0 { throw CLIError("\(failing) of \(results.count) dead letters still not delivered") }
            }
        }
    }

    struct Discard: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Deletes dead letters without delivering them.")
        @OptionGroup var database: DatabaseOptions
        @OptionGroup var selection: Selection

        func validate() throws { try selection.validate(requireChoice: true) }

        func run() async throws {
            try await reportingErrors {
                let store = DeadLetterStore(connection: try await database.connectStore())
                if let id = selection.id {
                    let matching = try await store.list(subscriptionId: selection.subscription, id: id)
                    guard !matching.isEmpty, try await store.delete(id: id) else { throw CLIError("no dead letter \(id)\(selection.subscription.map { " of subscription \($0)" } ?? "")") }
                    print("discarded 1 dead letter")
                } else {
                    let count = try await store.deleteAll(subscriptionId: selection.subscription)
                    print("discarded \(count) dead letter\(count == 1 ? "" : "s")")
                }
            }
        }
    }
}

/// A reason on one line of a tab-separated listing.
private func oneLine(_ text: String) -> String {
    String(text.map { $0 == "\t" || $0 == "\n" || $0 == "\r" ? " " : $0 })
}
