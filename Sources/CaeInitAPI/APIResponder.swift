import CaeInitCore
import Foundation
import Hummingbird
import Logging
import Metrics

/// Wraps the router: turns every error into the API's JSON error answer (a client never gets a 500 for what it
/// sent), answers 405 for a known path with another method, and logs and measures each request by route and
/// status (never a key, a secret or a body).
struct APIResponder: HTTPResponder {
    typealias Context = APIRequestContext

    let router: RouterResponder<APIRequestContext>
    /// The routes' paths and methods, for 405 answers.
    let methodsByPath: [String: [HTTPRequest.Method]]
    let logger: Logger

    func respond(to request: Request, context: Context) async throws -> Response {
        let start = ContinuousClock.now
        var response: Response
        var failure: (any Error)?
        do {
            response = try await router.respond(to: request, context: context)
        } catch {
            failure = error
            response = APIError.from(error).response
        }
        var route = context.endpointPath ?? "unmatched"
        if route == "NotFound" {
            route = "unmatched"
            if response.status == .notFound {
                if let allowed = methodsByPath[request.uri.path] {
                    response = APIError.methodNotAllowed(allowed).response
                } else {
                    response = APIError(.notFound, "not_found", "no such route").response
                }
            }
        }
        let elapsed = ContinuousClock.now - start
        let status = response.status.code
        var metadata: Logger.Metadata = [
            "method": .string(request.method.rawValue),
            "route": .string(route),
            "status": .stringConvertible(status),
            "duration_ms": .string(String(format: "%.2f", Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)),
        ]
        if let keyName = context.notes.apiKeyName { metadata["key"] = .string(keyName) }
        if status >= 500 {
            // The error's own description (PostgresError and the like hold no secret), for the operator.
            if let failure { metadata["error"] = .string(String(describing: failure)) }
            logger.error("request", metadata: metadata)
        } else {
            logger.info("request", metadata: metadata)
        }
        let dimensions = [("route", route), ("method", request.method.rawValue), ("status", String(status))]
        Counter(label: "cae_api_requests_total", dimensions: dimensions).increment()
        Metrics.Timer(label: "cae_api_request_duration_seconds", dimensions: dimensions).recordNanoseconds(
            elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
        return response
    }
}
