import CaeInitCore
import CaeInitPostgres
import CaeInitStore
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// The Sink Subscription REST API as a ServiceLifecycle service: serves until graceful shutdown (SIGTERM in a
/// ServiceGroup), letting requests in flight finish, then closes its connections.
public struct APIService: Service {
    let storeConninfo: String
    let sealer: SinkSealer
    let host: String
    let port: Int
    let logger: Logger
    let maximumConnections: Int
    let allowLocalDirectorySinks: Bool
    let metricsExposition: (@Sendable () -> [UInt8])?
    let onListening: @Sendable (Int) async -> Void

    /// - Parameters:
    ///   - allowLocalDirectorySinks: let clients set Local Directory sinks (demo, tests); off in production.
    ///   - metricsExposition: the process's metrics in the Prometheus text format, served at `/metrics`.
    ///   - onListening: called with the bound port once the server accepts connections (port 0 picks one).
    public init(
        storeConninfo: String, sealer: SinkSealer, host: String, port: Int, logger: Logger,
        maximumConnections: Int = 10,
        allowLocalDirectorySinks: Bool = false,
        metricsExposition: (@Sendable () -> [UInt8])? = nil,
        onListening: @escaping @Sendable (Int) async -> Void = { _ in }
    ) {
        self.storeConninfo = storeConninfo
        self.sealer = sealer
        self.host = host
        self.port = port
        self.logger = logger
        self.maximumConnections = maximumConnections
        self.allowLocalDirectorySinks = allowLocalDirectorySinks
        self.metricsExposition = metricsExposition
        self.onListening = onListening
    }

    public func run() async throws {
        let pool = PostgresConnectionPool(conninfo: storeConninfo, maximumConnections: maximumConnections, applicationName: "cae-init-api")
        let logger = self.logger
        let onListening = self.onListening
        let host = self.host
        let application = Application(
            responder: makeResponder(pool: pool),
            configuration: .init(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                let port = channel.localAddress?.port ?? 0
                logger.info("API served", metadata: ["address": "http://\(host):\(port)"])
                await onListening(port)
            },
            logger: logger
        )
        do {
            try await application.run()
        } catch {
            await pool.close()
            throw error
        }
        await pool.close()
    }

    func makeResponder(pool: PostgresConnectionPool) -> APIResponder {
        let router = Router(context: APIRequestContext.self)
        let metricsExposition = self.metricsExposition
        router.get("/health") { _, _ in try await Self.health(pool: pool) }
        router.get("/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: OpenAPIDocument.bytes)))
        }
        router.get("/metrics") { _, _ in
            let text = metricsExposition?() ?? []
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        // Everything added from here on needs a key.
        router.add(middleware: ApiKeyMiddleware(pool: pool))
        SubscriptionRoutes(pool: pool, sealer: sealer, allowLocalDirectorySinks: allowLocalDirectorySinks).register(on: router)
        return APIResponder(router: router.buildResponder(), methodsByPath: SubscriptionRoutes.methodsByPath, logger: logger)
    }

    /// 200 when the store answers `SELECT 1`, else 503; no key needed. A connection attempt gives up after 5 s
    /// (the pool's connect timeout); the 3 s race only decides the answer, it cannot interrupt libpq.
    static func health(pool: PostgresConnectionPool) async throws -> Response {
        let reachable = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                (try? await pool.withConnection { try await $0.query("SELECT 1") }) != nil
            }
            group.addTask {
                try? await Task.sleep(for: .seconds(3))
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        return JSONResponse.make(
            ["status": .string(reachable ? "ok" : "unavailable"), "database": .string(reachable ? "reachable" : "unreachable")],
            status: reachable ? .ok : .serviceUnavailable
        )
    }
}
