import CaeInitCore
import CaeInitPostgres
import CaeInitStore
import Hummingbird
import NIOCore

/// An error answer of the API: `{"error": code, "message": …, "field": path or null}`. Messages never hold a
/// secret or the sent key.
struct APIError: Error, Sendable {
    let status: HTTPResponse.Status
    let code: String
    let message: String
    let field: String?
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, _ code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    /// The same answer for a missing, unknown or revoked key: nothing tells them apart.
    static let unauthorized = APIError(.unauthorized, "unauthorized", "a valid x-apikey header is required")

    static func notFound(_ id: String) -> APIError {
        APIError(.notFound, "not_found", "no subscription \(String(id.prefix(40)))", field: "id")
    }

    static func forbidden(domain: String) -> APIError {
        APIError(.forbidden, "forbidden", "this API key may not use the domain \"\(String(domain.prefix(100)))\"", field: "domain")
    }

    static func invalid(_ error: FieldError) -> APIError {
        APIError(.badRequest, "invalid_field", error.description, field: error.path.isEmpty ? nil : error.path)
    }

    static func missingParameter(_ name: String) -> APIError {
        APIError(.badRequest, "missing_parameter", "the query parameter \(name) is required", field: name)
    }

    static let payloadTooLarge = APIError(.contentTooLarge, "payload_too_large", "the body is larger than \(RequestBodyReader.maximumBytes) bytes (1 MiB)")
    static let unsupportedMediaType = APIError(.unsupportedMediaType, "unsupported_media_type", "the body must be JSON, sent with Content-Type: application/json")
    static let unavailable = APIError(.serviceUnavailable, "unavailable", "the subscription store is unavailable, retry later")
    static let internalError = APIError(.internalServerError, "internal", "internal error (see the server log)")

    static func methodNotAllowed(_ allowed: [HTTPRequest.Method]) -> APIError {
        var error = APIError(.methodNotAllowed, "method_not_allowed", "allowed: \(allowed.map(\.rawValue).joined(separator: ", "))")
        error.headers[.allow] = allowed.map(\.rawValue).joined(separator: ", ")
        return error
    }

    /// Any error thrown while answering, as the answer the client gets.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as FieldError:
            return .invalid(error)
        case let error as JSONParseError:
            return APIError(.badRequest, "invalid_json", "the body is not valid JSON: \(error)")
        case let error as StoreError:
            switch error.code {
            case .subscriptionNotFound, .keyFilterNotFound: return APIError(.notFound, "not_found", error.message)
            case .invalidInput: return APIError(.badRequest, "invalid_field", error.message)
            // The server lacks the key a stored secret was sealed with: the operator's to fix, not the client's.
            case .sealedSecret: return .internalError
            }
        case is NIOTooManyBytesError:
            return .payloadTooLarge
        case let error as PostgresError:
            if error.isTransient { return .unavailable }
            // Class 22 (data exception): a value the database cannot hold, sent by the client.
            if error.sqlState?.hasPrefix("22") == true { return APIError(.badRequest, "invalid_value", "a value cannot be stored: \(error.message)") }
            // Class 54 (program limit exceeded), e.g. a domain too long for its index.
            if error.sqlState?.hasPrefix("54") == true { return APIError(.badRequest, "invalid_value", "a value is too large to store") }
            return .internalError
        case let error as any HTTPResponseError:
            return APIError(error.status, error.status == .notFound ? "not_found" : "http_\(error.status.code)", error.status.reasonPhrase)
        default:
            return .internalError
        }
    }

    var document: JSONValue {
        ["error": .string(code), "message": .string(message), "field": field.map(JSONValue.string) ?? .null]
    }

    var response: Response {
        var response = JSONResponse.make(document, status: status)
        for field in headers { response.headers.append(field) }
        return response
    }
}
