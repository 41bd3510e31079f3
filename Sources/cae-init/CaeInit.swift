import ArgumentParser

@main
struct CaeInit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cae-init",
        abstract: "Initialises the key filters of event-sink subscriptions: writes each dossier's journals, comptes and écritures to the subscription's sink.",
        subcommands: [
            Migrate.self, Fixtures.self, Secrets.self, Subscriptions.self, KeyFilters.self, RunOnce.self, Worker.self, Status.self,
            Render.self, Check.self, Explain.self, Serve.self, ApiKeys.self,
            DeadLetters.self, SinkServiceCommand.self,
        ]
    )
}
