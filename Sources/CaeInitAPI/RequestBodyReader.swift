import CaeInitCore
import Foundation
import Hummingbird
import NIOCore

/// Reads a request's JSON body: 415 unless it is sent as JSON, 413 over 1 MiB (checked on `Content-Length` and
/// while reading, whatever the client declares), 400 when it is missing, not JSON, or holds U+0000 (which
/// PostgreSQL cannot store).
enum RequestBodyReader {
    static let maximumBytes = 1 << 20

    static func json(_ request: Request) async throws -> JSONValue {
        var request = request
        let contentType = request.headers[.contentType]
        if let contentType, !isJSON(contentType) { throw APIError.unsupportedMediaType }
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > maximumBytes { throw APIError.payloadTooLarge }
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maximumBytes)
        } catch is NIOTooManyBytesError {
            throw APIError.payloadTooLarge
        }
        guard buffer.readableBytes > 0 else {
            throw APIError(.badRequest, "missing_body", "this request needs a JSON body")
        }
        guard contentType != nil else { throw APIError.unsupportedMediaType }
        let value = try JSONValue.parse(bytes: Array(buffer.readableBytesView))
        // Whatever PostgreSQL could not store (a U+0000, a number beyond numeric's range) is the client's 400, naming it.
        do {
            try StorableJSON.check(value, path: "")
        } catch {
            throw APIError(.badRequest, "invalid_field", error.path.isEmpty ? "the body \(error.reason)" : error.description, field: error.path.isEmpty ? nil : error.path)
        }
        return value
    }

    /// `application/json` or a `+json` type, parameters (`charset`) allowed.
    static func isJSON(_ contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        return mediaType == "application/json" || (mediaType.hasPrefix("application/") && mediaType.hasSuffix("+json"))
    }
}
