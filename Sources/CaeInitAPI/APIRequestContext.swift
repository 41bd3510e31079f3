import CaeInitStore
import Hummingbird
import Synchronization

/// The request context of the API: the authenticated key, set by `ApiKeyMiddleware` before any protected route.
public struct APIRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The key the request was authenticated with; nil on the public routes (`/health`, `/metrics`, `/openapi.json`).
    public var apiKey: ApiKeyIdentity?
    /// Shared with `APIResponder`, which logs the key's name once the response is known.
    let notes: RequestNotes

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.apiKey = nil
        self.notes = RequestNotes()
    }

    /// The API's own limit, checked while the body is read (`RequestBodyReader`).
    public var maxUploadSize: Int { RequestBodyReader.maximumBytes }
}

/// What the outer responder learns from inside the router: the key name, for the request log.
final class RequestNotes: Sendable {
    private let keyName = Mutex<String?>(nil)

    var apiKeyName: String? {
        get { keyName.withLock { $0 } }
        set { keyName.withLock { $0 = newValue } }
    }
}
