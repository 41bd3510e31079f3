// cae-init-kafka-mock: librdkafka's mock cluster (a real Kafka protocol peer, in process) on 127.0.0.1, driven
// line by line on stdin, for the tests and the live demo.
//
//   cae-init-kafka-mock [--brokers N]     prints `BOOTSTRAP host:port,...`, then answers each command with
//                                         `OK` or `ERR <why>`; exits when stdin closes.
//   topic NAME PARTITIONS                 creates a topic (replication factor 1)
//   down BROKERID | up BROKERID           takes a broker down (connections closed and refused) or back up
//   errors APIKEY CODE [CODE...]          the next requests of that API (number or name: Fetch, OffsetCommit…)
//                                         fail with these error codes (number or name: NOT_COORDINATOR…), in order
import CRdKafka
#if canImport(Glibc)
import Glibc
#endif

func fail(_ text: String) -> Never {
    let line = Array("cae-init-kafka-mock: \(text)\n".utf8)
    _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    exit(2)
}

func text(_ buffer: [CChar]) -> String {
    buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
}

var brokerCount: Int32 = 1
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--brokers":
        guard let value = arguments.popFirst().flatMap({ Int32($0) }), (1...16).contains(value) else { fail("--brokers takes a number from 1 to 16") }
        brokerCount = value
    default:
        fail("unknown argument \(argument) (usage: cae-init-kafka-mock [--brokers N])")
    }
}

// The mock cluster lives in a client handle; a producer that never produces is the lightest.
guard let conf = rd_kafka_conf_new() else { fail("out of memory") }
var errorText = [CChar](repeating: 0, count: 512)
_ = rd_kafka_conf_set(conf, "log_level", "3", &errorText, errorText.count)
guard let client = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errorText, errorText.count) else { fail(text(errorText)) }
guard let cluster = rd_kafka_mock_cluster_new(client, brokerCount) else { fail("rd_kafka_mock_cluster_new failed") }

/// Kafka API keys by name (the protocol's numbers), for `errors`.
let apiKeys: [String: Int16] = [
    "Produce": 0, "Fetch": 1, "ListOffsets": 2, "Metadata": 3, "OffsetCommit": 8, "OffsetFetch": 9, "FindCoordinator": 10,
    "JoinGroup": 11, "Heartbeat": 12, "LeaveGroup": 13, "SyncGroup": 14, "DescribeGroups": 15, "ApiVersions": 18,
]

/// librdkafka's error codes by name (`NOT_COORDINATOR`, `_TRANSPORT`…).
let errorCodes: [String: Int32] = {
    var descriptions: UnsafePointer<rd_kafka_err_desc>?
    var count = 0
    rd_kafka_get_err_descs(&descriptions, &count)
    var codes: [String: Int32] = [:]
    for index in 0..<count {
        guard let entry = descriptions?[index], let name = entry.name else { continue }
        codes[String(cString: name)] = entry.code.rawValue
    }
    return codes
}()

func run(_ words: [String]) -> String {
    switch words.first {
    case "topic":
        guard words.count == 3, let partitions = Int32(words[2]), partitions > 0 else { return "ERR usage: topic NAME PARTITIONS" }
        let error = rd_kafka_mock_topic_create(cluster, words[1], partitions, 1)
        return error == RD_KAFKA_RESP_ERR_NO_ERROR ? "OK" : "ERR \(String(cString: rd_kafka_err2name(error)))"
    case "down", "up":
        guard words.count == 2, let broker = Int32(words[1]) else { return "ERR usage: \(words[0]) BROKERID" }
        let error = words[0] == "down" ? rd_kafka_mock_broker_set_down(cluster, broker) : rd_kafka_mock_broker_set_up(cluster, broker)
        return error == RD_KAFKA_RESP_ERR_NO_ERROR ? "OK" : "ERR \(String(cString: rd_kafka_err2name(error)))"
    case "errors":
        guard words.count >= 3, let api = apiKeys[words[1]] ?? Int16(words[1]) else { return "ERR usage: errors APIKEY CODE [CODE...]" }
        var codes: [rd_kafka_resp_err_t] = []
        for word in words.dropFirst(2) {
            guard let code = errorCodes[word] ?? Int32(word) else { return "ERR unknown error code \(word)" }
            codes.append(rd_kafka_resp_err_t(rawValue: code))
        }
        rd_kafka_mock_push_request_errors_array(cluster, api, codes.count, codes)
        return "OK"
    default:
        return "ERR unknown command (topic, down, up, errors)"
    }
}

print("BOOTSTRAP \(String(cString: rd_kafka_mock_cluster_bootstraps(cluster)))")
fflush(nil)
while let line = readLine() {
    let words = line.split(separator: " ").map(String.init)
    guard !words.isEmpty else { continue }
    print(run(words))
    fflush(nil)
}
rd_kafka_mock_cluster_destroy(cluster)
rd_kafka_destroy(client)
