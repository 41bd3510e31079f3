import AsyncHTTPClient
import CaeInitCore
import CaeInitTestSupport
import Foundation
import NIOCore
import Testing

/// Issue 9: an S3 initialisation through a server that throttles bursts (`503 SlowDown` to the first N of every
/// WINDOW PUTs): every object lands, and the requests in flight are seen to drop and climb back.
@Suite("S3 throttling", .serialized)
struct ThrottlingTests {
    @Test("A few hundred objects through 503 SlowDown bursts: all stored, the limit lowered then back at its maximum")
    func slowDownBursts() async throws {
        let database = try await TestDatabase.create("throttle")
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let dossier = RandomDossier(seed: 9_009, maxObjectsPerKind: 300)
        let expected = dossier.expectedFiles(withHistory: false)
        #expect(expected.count >= 200, "a dossier of a few hundred objects: \(expected.count)")
        try await CLI.succeed(["fixtures", "load", try directory.write("dossier.json", dossier.fixtureJSON)], database: database)

        let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), "store", "slowdown=150:16"])
        defer { server.stop() }
        let body = #"{"domain":"d","keyFilters":[{"key":"\#(dossier.entiteId)"}],"initWithHistory":false,"sink":{"type":"AWS S3","credentials":{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"not-checked-here","region":"us-east-1"},"options":{"bucketName":"cae-bucket","endpoint":"http://127.0.0.1:\#(server.port)"},"retryPolicy":{"maxRetries":10,"backoffSeconds":0.05}}}"#
        let id = try await createSubscription(body, database: database, in: directory)
        let run = try await CLI.run(["run-once", "--max-uploads-in-flight", "8"], database: database, environment: ["LOG_LEVEL": "info"])
        #expect(run.status == 0, "\(run.stderr.suffix(3000))")
        #expect(try await filterStates(id, database: database)[dossier.entiteId]?.status == "ready")

        // Every object and the manifest, counted by the server.
        let stored = try await HTTPClient.shared.get(url: "http://127.0.0.1:\(server.port)/_stored").get()
        #expect(stored.body.map { String(buffer: $0) } == String(expected.count + 1))

        // Seen to drop, then to climb back, in the log lines and the run's summary.
        let log = run.stdout + run.stderr
        #expect(log.contains("AWS S3 is throttling: requests in flight lowered from 8 to 4"), "\(log.suffix(3000))")
        #expect(log.contains("AWS S3 requests in flight back at their maximum 8"), "\(log.suffix(3000))")
        let summary = try #require(log.split(separator: "\n").first { $0.contains("requests in flight: lowest") })
        let lowest = try #require(summary.firstMatch(of: /lowest (\d+), final (\d+), maximum 8; (\d+) decreases, (\d+) increases, (\d+) returns/))
        #expect(Int(lowest.1)! < 8)
        #expect(Int(lowest.3)! >= 2, "\(summary)")
        #expect(Int(lowest.5)! >= 1, "\(summary)")
    }
}
