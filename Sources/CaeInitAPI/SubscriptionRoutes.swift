import CaeInitCore
import CaeInitPostgres
import CaeInitStore
import Hummingbird

/// The Sink Subscription routes (Cegid's API, SPEC §8), each on its own pooled connection. A subscription outside
/// the key's domains does not exist for it (404); creating one there is 403.
struct SubscriptionRoutes: Sendable {
    let pool: PostgresConnectionPool
    let sealer: SinkSealer
    /// Whether a Local Directory sink may be set through the API. Off by default: it writes on the worker's
    /// host, where a partner has no business choosing paths.
    let allowLocalDirectorySinks: Bool

    /// Path → methods, for 405 answers and the OpenAPI test.
    static let methodsByPath: [String: [HTTPRequest.Method]] = [
        "/subscriptions": [.get, .post, .delete],
        "/key-filters": [.post, .put, .delete],
        "/suspended": [.post],
        "/topics": [.post, .put, .delete],
        "/filters": [.get, .post, .delete],
        "/sink": [.post, .put],
        "/health": [.get],
        "/metrics": [.get],
        "/openapi.json": [.get],
    ]

    func register(on router: Router<APIRequestContext>) {
        router.post("/subscriptions") { request, context in try await create(request, context) }
        router.get("/subscriptions") { request, context in try await list(request, context) }
        router.get("/subscriptions/{id}") { request, context in
            try await one(id: context.parameters.get("id") ?? "", context)
        }
        router.delete("/subscriptions") { request, context in
            let id = try Self.requiredParameter("id", request)
            return JSONResponse.make(try await store { try await $0.deleteSubscription(id: id, scope: scope(context)) }.document())
        }
        router.post("/key-filters") { request, context in try await editKeyFilters(request, context, resetRequested: false) }
        router.put("/key-filters") { request, context in try await editKeyFilters(request, context, resetRequested: true) }
        router.delete("/key-filters") { request, context in
            let id = try Self.requiredParameter("id", request)
            let keys = try KeyFilterEdit.parseList(try await RequestBodyReader.json(request)).map(\.key)
            return JSONResponse.make(try await store { try await $0.removeKeyFilters(id: id, scope: scope(context), keys: keys) }.document())
        }
        router.post("/suspended") { request, context in
            let id = try Self.requiredParameter("id", request)
            let value = try Self.booleanParameter("value", request, default: true)
            let updated = try await update(id: id, context) { subscription in
                var edited = subscription
                edited.suspended = value
                return edited
            }
            return JSONResponse.make(updated.document())
        }
        router.post("/topics") { request, context in try await editTopics(request, context) { try $0.replacingTopics(with: $1) } }
        router.put("/topics") { request, context in try await editTopics(request, context) { try $0.addingTopics($1) } }
        router.delete("/topics") { request, context in try await editTopics(request, context) { try $0.removingTopics($1) } }
        router.get("/filters") { request, context in
            let id = try Self.requiredParameter("id", request)
            guard let subscription = try await store({ try await $0.subscription(id: id, scope: scope(context)) }) else { throw APIError.notFound(id) }
            return JSONResponse.make(.object(subscription.filters ?? JSONObject()))
        }
        router.post("/filters") { request, context in try await editFilters(request, context) { try $0.replacingFilters(with: $1) } }
        router.delete("/filters") { request, context in try await editFilters(request, context) { try $0.removingFilters($1) } }
        router.post("/sink") { request, context in try await editSink(request, context) { try $0.replacingSink(with: $1) } }
        router.put("/sink") { request, context in try await editSink(request, context) { try $0.mergingSink($1) } }
    }

    // MARK: Handlers

    func create(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let draft = try Subscription.parseCreation(try await RequestBodyReader.json(request))
        guard scope(context).allows(draft.domain) else { throw APIError.forbidden(domain: draft.domain) }
        try checkSinkAllowed(draft)
        let created = try await store { try await $0.create(draft) }
        return JSONResponse.make(created.document(), status: .created)
    }

    func list(_ request: Request, _ context: APIRequestContext) async throws -> Response {
        let query = SubscriptionQuery(
            id: try Self.optionalParameter("id", request),
            domain: try Self.optionalParameter("domain", request),
            topic: try Self.optionalParameter("topic", request),
            scope: scope(context)
        )
        let found = try await store { try await $0.subscriptions(matching: query) }
        if let id = query.id {
            guard let subscription = found.first else { throw APIError.notFound(id) }
            return JSONResponse.make(subscription.document())
        }
        return JSONResponse.make(.array(found.map { $0.document() }))
    }

    func one(id: String, _ context: APIRequestContext) async throws -> Response {
        guard let subscription = try await store({ try await $0.subscription(id: id, scope: scope(context)) }) else { throw APIError.notFound(id) }
        return JSONResponse.make(subscription.document())
    }

    func editKeyFilters(_ request: Request, _ context: APIRequestContext, resetRequested: Bool) async throws -> Response {
        let id = try Self.requiredParameter("id", request)
        let edits = try KeyFilterEdit.parseList(try await RequestBodyReader.json(request))
        let updated = try await store { try await $0.editKeyFilters(id: id, scope: scope(context), edits, resetRequested: resetRequested) }
        return JSONResponse.make(.array(updated.keyFilters.map(\.document)))
    }

    func editTopics(_ request: Request, _ context: APIRequestContext, _ edit: @escaping @Sendable (Subscription, JSONValue) throws -> Subscription) async throws -> Response {
        let id = try Self.requiredParameter("id", request)
        let body = try await RequestBodyReader.json(request)
        let updated = try await update(id: id, context) { try edit($0, body) }
        return JSONResponse.make(["topics": .array(updated.topics.map(JSONValue.string))])
    }

    func editFilters(_ request: Request, _ context: APIRequestContext, _ edit: @escaping @Sendable (Subscription, JSONValue) throws -> Subscription) async throws -> Response {
        let id = try Self.requiredParameter("id", request)
        let body = try await RequestBodyReader.json(request)
        let updated = try await update(id: id, context) { try edit($0, body) }
        return JSONResponse.make(.object(updated.filters ?? JSONObject()))
    }

    func editSink(_ request: Request, _ context: APIRequestContext, _ edit: @escaping @Sendable (Subscription, JSONValue) throws -> Subscription) async throws -> Response {
        let id = try Self.requiredParameter("id", request)
        let body = try await RequestBodyReader.json(request)
        let allowLocal = allowLocalDirectorySinks
        let updated = try await update(id: id, context) { subscription in
            let edited = try edit(subscription, body)
            try Self.checkSinkAllowed(edited, allowLocalDirectorySinks: allowLocal)
            return edited
        }
        return JSONResponse.make(.object(Subscription.maskingSecrets(in: updated.sink)))
    }

    // MARK: Helpers

    func checkSinkAllowed(_ subscription: Subscription) throws {
        try Self.checkSinkAllowed(subscription, allowLocalDirectorySinks: allowLocalDirectorySinks)
    }

    static func checkSinkAllowed(_ subscription: Subscription, allowLocalDirectorySinks: Bool) throws {
        if !allowLocalDirectorySinks, subscription.sink["type"]?.stringValue == SinkConfiguration.localDirectoryType {
            throw APIError(.badRequest, "invalid_field", "sink.type: \"\(SinkConfiguration.localDirectoryType)\" sinks are not available through this API (the server runs without --allow-local-directory-sinks)", field: "sink.type")
        }
    }

    func scope(_ context: APIRequestContext) -> ApiKeyScope {
        // Routes run behind ApiKeyMiddleware: no key means no access, never all access.
        context.apiKey?.scope ?? .domains([])
    }

    func store<T: Sendable>(_ body: @escaping @Sendable (SubscriptionStore) async throws -> T) async throws -> T {
        let sealer = self.sealer
        return try await pool.withConnection { connection in
            try await body(SubscriptionStore(connection: connection, sealer: sealer))
        }
    }

    func update(id: String, _ context: APIRequestContext, _ edit: @escaping @Sendable (Subscription) throws -> Subscription) async throws -> Subscription {
        let scope = scope(context)
        return try await store { try await $0.update(id: id, scope: scope, edit) }
    }

    static func optionalParameter(_ name: String, _ request: Request) throws -> String? {
        guard let value = request.uri.queryParameters[Substring(name)], !value.isEmpty else { return nil }
        // PostgreSQL text cannot hold U+0000; libpq would cut the value there and match something else.
        if value.utf8.contains(0) { throw APIError(.badRequest, "invalid_parameter", "\(name) must not contain U+0000", field: name) }
        return String(value)
    }

    static func requiredParameter(_ name: String, _ request: Request) throws -> String {
        guard let value = try optionalParameter(name, request) else { throw APIError.missingParameter(name) }
        return value
    }

    static func booleanParameter(_ name: String, _ request: Request, default defaultValue: Bool) throws -> Bool {
        guard let text = try optionalParameter(name, request) else { return defaultValue }
        switch text.lowercased() {
        case "true": return true
        case "false": return false
        default: throw APIError(.badRequest, "invalid_parameter", "\(name) must be true or false", field: name)
        }
    }
}
