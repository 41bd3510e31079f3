import AsyncHTTPClient
import CaeInitCore
import CaeInitSinks
import CaeInitTestSupport
import Logging
import NIOCore
import Testing

/// Issue 9: which answers are throttling, and the gate that bounds a remote sink's requests in flight by them.
@Suite("Adaptive requests in flight")
struct AdaptiveConcurrencyTests {
    @Test("S3 503 SlowDown, Azure 503 ServerBusy and 500 OperationTimedOut, any 429 throttle; nothing else does")
    func throttlingAnswers() {
        #expect(SinkError.isThrottling(httpStatus: 503, serviceCode: "SlowDown"))
        #expect(SinkError.isThrottling(httpStatus: 503, serviceCode: "ServerBusy"))
        #expect(SinkError.isThrottling(httpStatus: 500, serviceCode: "OperationTimedOut"))
        #expect(SinkError.isThrottling(httpStatus: 429, serviceCode: nil))
        #expect(SinkError.isThrottling(httpStatus: 429, serviceCode: "TooManyRequests"))
        // The same statuses with another code, and the same codes with another status: failures, not throttling.
        #expect(!SinkError.isThrottling(httpStatus: 503, serviceCode: "ServiceUnavailable"))
        #expect(!SinkError.isThrottling(httpStatus: 503, serviceCode: nil))
        #expect(!SinkError.isThrottling(httpStatus: 500, serviceCode: "InternalError"))
        #expect(!SinkError.isThrottling(httpStatus: 500, serviceCode: "ServerBusy"))
        #expect(!SinkError.isThrottling(httpStatus: 502, serviceCode: "SlowDown"))
        #expect(!SinkError.isThrottling(httpStatus: 428, serviceCode: nil))
        #expect(!SinkError.isThrottling(httpStatus: 430, serviceCode: nil))
        let error = SinkError(sinkType: SinkConfiguration.s3Type, httpStatus: 503, serviceCode: "SlowDown", message: "m", isRetryable: true)
        #expect(error.isThrottling)
        #expect(!SinkError(sinkType: SinkConfiguration.s3Type, message: "no answer", isRetryable: true).isThrottling)
    }

    @Test("At most `limit` permits out; a throttle lowers it and the waiters wait; successes let them in again")
    func gateBoundsAndAdapts() async throws {
        let gate = AdaptiveConcurrencyGate(maximum: 2, label: "test", logger: Logger(label: "test"), successesPerIncrease: 1)
        let first = try await gate.acquire()
        let second = try await gate.acquire()
        let third = Task { try await gate.acquire() }
        try await Task.sleep(for: .milliseconds(100))
        // Both permits are out: the third waits. A throttle lowers the limit to 1, so releasing one lets nobody in.
        gate.release(first, .throttled)
        #expect(gate.summary.current == 1)
        try await Task.sleep(for: .milliseconds(100))
        // `second` was sent in the same generation: its throttle changes nothing more. One permit out of 1 now.
        gate.release(second, .success)
        let thirdPermit = try await third.value
        // The success raised the limit back to 2 (one success per increase here).
        #expect(gate.summary.current == 2)
        #expect(gate.summary.lowest == 1 && gate.summary.recoveries == 1)
        gate.release(thirdPermit, .failed)
        #expect(gate.summary.current == 2)
    }

    @Test("A task cancelled while waiting for a permit gets CancellationError and holds nothing")
    func cancelledWaiter() async throws {
        let gate = AdaptiveConcurrencyGate(maximum: 1, label: "test", logger: Logger(label: "test"))
        let held = try await gate.acquire()
        let waiter = Task { try await gate.acquire() }
        try await Task.sleep(for: .milliseconds(100))
        waiter.cancel()
        await #expect(throws: CancellationError.self) { try await waiter.value }
        gate.release(held, .success)
        // The permit is free again: taken at once.
        let again = try await gate.acquire()
        gate.release(again, .success)
    }

    @Test("An S3 sink through a server throttling the first 2 of every 4 PUTs: every object stored, the limit lowered")
    func s3ThroughThrottlingServer() async throws {
        let server = try ServerProcess(python: [SupportFiles.path("scripted_server.py"), "store", "slowdown=4:2"])
        defer { server.stop() }
        let gate = AdaptiveConcurrencyGate(maximum: 4, label: SinkConfiguration.s3Type, logger: Logger(label: "test"), successesPerIncrease: 2)
        let s3 = S3SinkConfiguration(accessKeyId: "AKIDEXAMPLE", secretAccessKey: Secret("secret"), region: "us-east-1", sessionToken: nil, bucketName: "b", endpoint: "http://127.0.0.1:\(server.port)")
        let configuration = SinkConfiguration(destination: .s3(s3), retryPolicy: RetryPolicy(maxRetries: 10, backoffSeconds: 0.01, backoffMultiplier: 1))
        let sink = try S3Sink(configuration: configuration, s3: s3, httpClient: .shared, inFlight: gate)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<40 {
                group.addTask { try await sink.put("e/ecriture/o\(index).json", body: Array("{\"n\":\(index)}".utf8)) }
            }
            try await group.waitForAll()
        }
        let stored = try await HTTPClient.shared.get(url: "http://127.0.0.1:\(server.port)/_stored").get()
        #expect(stored.body.map { String(buffer: $0) } == "40")
        #expect(gate.summary.decreases >= 1)
        #expect(gate.summary.lowest < 4)
        #expect(try await sink.get("e/ecriture/o7.json") == Array("{\"n\":7}".utf8))
    }
}
