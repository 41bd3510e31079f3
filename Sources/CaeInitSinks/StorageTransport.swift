import AsyncHTTPClient
import Logging
import NIOCore
import NIOHTTP1

/// What a storage service answered: status, headers and (the start of) the body.
struct StorageResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]

    var isSuccess: Bool { (200...299).contains(status) }

    func header(_ name: String) -> String? { headers.first(name: name) }
}

/// One HTTP exchange on the shared client, for both remote sinks. A failure to get an answer (connection refused or
/// reset, time-out, TLS) becomes a retryable `SinkError`; only a request that can never be sent (a malformed URL or
/// header) is not. Statuses are the caller's to judge.
enum StorageTransport {
    /// Error bodies are short XML documents; anything beyond this is dropped.
    static let errorBodyLimit = 64 * 1024

    static func send(
        client: HTTPClient,
        method: HTTPMethod,
        url: String,
        headers: [(name: String, value: String)],
        body: [UInt8]?,
        timeout: TimeAmount,
        bodyLimit: Int = errorBodyLimit,
        logger: Logger,
        failure: (_ message: String, _ retryable: Bool) -> SinkError
    ) async throws(SinkError) -> StorageResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        for (name, value) in headers {
            request.headers.add(name: name, value: value)
        }
        if let body {
            request.body = .bytes(body)
        }
        do {
            let response = try await client.execute(request, timeout: timeout, logger: logger)
            var collected: [UInt8] = []
            for try await var chunk in response.body {
                let room = bodyLimit - collected.count
                if room > 0, let bytes = chunk.readBytes(length: min(room, chunk.readableBytes)) {
                    collected += bytes
                }
            }
            return StorageResponse(status: Int(response.status.code), headers: response.headers, body: collected)
        } catch let error as HTTPClientError where unsendable.contains(error) {
            throw failure("the request cannot be sent (\(error))", false)
        } catch {
            throw failure("no answer from \(hostOf(url)): \(describe(error))", true)
        }
    }

    /// Errors that no retry can cure: the request itself is malformed.
    private static let unsendable: [HTTPClientError] = [
        .invalidURL, .emptyHost, .emptyScheme, .missingSocketPath, .bodyLengthMismatch,
    ]

    private static func hostOf(_ url: String) -> String {
        guard let endpoint = ServiceEndpoint(url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? url) else { return url }
        return "\(endpoint.scheme)://\(endpoint.host)"
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout: return "timed out (\(error))"
            default: return "\(error)"
            }
        }
        return "\(error)"
    }
}

/// The `<Code>` and `<Message>` of an S3 or Azure XML error body. A plain scan: both services send a flat
/// `<Error>` document, and nothing else in it is needed (S3's `<StringToSign>` and `<CanonicalRequest>` are
/// deliberately not read, so they never reach a message).
/// The `<Code>` and `<Message>` of an S3 or Azure XML error body.
public struct ServiceErrorBody: Sendable, Equatable {
    public var code: String?
    public var message: String?

    init(xml bytes: [UInt8]) {
        let text = String(decoding: bytes, as: UTF8.self)
        code = Self.element("Code", in: text)
        // Azure appends `RequestId:…` and `Time:…` lines: the first line is the message.
        message = Self.element("Message", in: text)
            .flatMap { $0.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) }
            .map { $0.count > 300 ? String($0.prefix(300)) + "…" : $0 }
    }

    /// The text of the first `<name>` element, unescaped and trimmed.
    public static func element(_ name: String, in text: String) -> String? {
        guard let open = text.firstRange(of: "<\(name)>"),
              let close = text[open.upperBound...].firstRange(of: "</\(name)>")
        else { return nil }
        let value = unescape(String(text[open.upperBound..<close.lowerBound])).trimmingWhitespace()
        return value.isEmpty ? nil : value
    }

    static func unescape(_ text: String) -> String {
        guard text.contains("&") else { return text }
        return text
            .replacing("&lt;", with: "<").replacing("&gt;", with: ">")
            .replacing("&quot;", with: "\"").replacing("&apos;", with: "'")
            .replacing("&amp;", with: "&")
    }
}

extension String {
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\n" || $0 == "\r" || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
