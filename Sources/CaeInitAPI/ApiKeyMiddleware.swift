import CaeInitPostgres
import CaeInitStore
import Hummingbird

/// Authenticates every route added after it with the `x-apikey` header: a missing, unknown or revoked key gets
/// the same 401, without detail.
struct ApiKeyMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    static let header = "x-apikey"
    let pool: PostgresConnectionPool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The first x-apikey field (names compare case-insensitively).
        guard let key = request.headers.first(where: { $0.name.canonicalName == Self.header })?.value, !key.isEmpty else {
            throw APIError.unauthorized
        }
        let identity = try await pool.withConnection { connection in
            try await ApiKeyStore(connection: connection).authenticate(key)
        }
        guard let identity else { throw APIError.unauthorized }
        var context = context
        context.apiKey = identity
        context.notes.apiKeyName = identity.name
        return try await next(request, context)
    }
}
