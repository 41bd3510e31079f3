// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "cae-init",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "cae-init", targets: ["cae-init"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.25.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.0"),
    ],
    targets: [
        /// libpq, found through pkg-config (`libpq-dev`).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        /// librdkafka, found through pkg-config (`librdkafka-dev`), with its mock cluster header.
        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        /// Pure core: JSON values, domain types, history-restoration rules. No I/O.
        .target(name: "CaeInitCore"),
        /// The versioned SQL migrations of `sql/`, embedded in the binary.
        .target(
            name: "CaeInitSchema",
            path: "sql",
            exclude: ["README.md"],
            sources: ["Migrations.swift"],
            resources: [
                .embedInCode("V001__initial.sql"),
                .embedInCode("V002__api_keys.sql"),
                .embedInCode("V003__sink_service.sql"),
            ]
        ),
        /// A small, safe libpq wrapper: owned connections and results, blocking calls off the cooperative pool.
        .target(
            name: "CaeInitPostgres",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The subscription store and the dossier data: every SQL statement lives here.
        .target(
            name: "CaeInitStore",
            dependencies: [
                "CaeInitCore", "CaeInitPostgres", "CaeInitSchema",
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        /// Sinks: Local Directory, AWS S3 (SigV4), Azure Blob Storage (Shared Key).
        .target(
            name: "CaeInitSinks",
            dependencies: [
                "CaeInitCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        /// The initialisation of one key filter and the polling worker service.
        .target(
            name: "CaeInitWorker",
            dependencies: [
                "CaeInitCore", "CaeInitPostgres", "CaeInitStore", "CaeInitSinks",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        /// A small librdkafka wrapper: a consumer in a group whose blocking poll runs on its own thread.
        .target(
            name: "CaeInitKafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        /// The live Sink Service: Kafka events of ready dossiers into the subscriptions' sinks.
        .target(
            name: "CaeInitSinkService",
            dependencies: [
                "CaeInitCore", "CaeInitPostgres", "CaeInitStore", "CaeInitSinks", "CaeInitKafka",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        /// The Sink Subscription REST API (Hummingbird 2) on the subscription store.
        .target(
            name: "CaeInitAPI",
            dependencies: [
                "CaeInitCore", "CaeInitPostgres", "CaeInitStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.embedInCode("openapi.json")]
        ),
        /// The composition root: builds a process's services from its configuration (CLI and in-process tests).
        .target(
            name: "CaeInitApp",
            dependencies: [
                "CaeInitCore", "CaeInitStore", "CaeInitSinks", "CaeInitWorker", "CaeInitKafka", "CaeInitSinkService",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        /// The thin CLI: parses arguments and wires the modules.
        .executableTarget(
            name: "cae-init",
            dependencies: [
                "CaeInitCore", "CaeInitStore", "CaeInitWorker", "CaeInitPostgres", "CaeInitApp", "CaeInitAPI", "CaeInitSinkService", "CaeInitKafka",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        /// Helpers shared by the test targets: child processes, free ports, moto, the Azure fake, the Kafka mock cluster.
        .target(
            name: "CaeInitTestSupport",
            dependencies: [
                "CaeInitCore", "CaeInitSinks", "CaeInitPostgres",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/CaeInitTestSupport",
            exclude: ["azure_blob_server.py", "scripted_server.py", "kafka_produce.py", "handoff_producer.py"]
        ),
        /// Test helper: librdkafka's mock cluster on 127.0.0.1, driven on stdin (the Kafka tests and the live demo).
        .executableTarget(
            name: "cae-init-kafka-mock",
            dependencies: ["CRdKafka"],
            path: "Tests/KafkaMock"
        ),
        /// Test helper: writes to a Local Directory sink until killed (the orphan tests SIGKILL it mid-write).
        .executableTarget(
            name: "cae-init-sink-writer",
            dependencies: ["CaeInitCore", "CaeInitSinks"],
            path: "Tests/SinkWriter"
        ),
        .testTarget(
            name: "CaeInitCoreTests",
            dependencies: ["CaeInitCore"]
        ),
        .testTarget(
            name: "CaeInitSinksTests",
            dependencies: [
                "CaeInitCore", "CaeInitSinks", "CaeInitTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            /// Signing vectors: test data read from the source tree (see Support/TestSupport.swift), not sources.
            exclude: ["Vectors"]
        ),
        .testTarget(
            name: "CaeInitAPITests",
            dependencies: [
                "CaeInitCore", "CaeInitPostgres", "CaeInitStore", "CaeInitTestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            exclude: ["Data"]
        ),
        .testTarget(
            name: "CaeInitKafkaTests",
            dependencies: [
                "CaeInitKafka", "CaeInitSinkService", "CaeInitTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "CaeInitIntegrationTests",
            dependencies: [
                "CaeInitCore", "CaeInitPostgres", "CaeInitStore", "CaeInitSinks", "CaeInitWorker", "CaeInitTestSupport", "CaeInitApp",
                "CaeInitKafka", "CaeInitSinkService",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
