/// A storage service's base URL split the way signing needs it: the scheme, the `Host` header value (with the
/// port when there is one) and a path prefix (an emulator's `/<account>`, an S3-compatible server behind a prefix).
struct ServiceEndpoint: Sendable, Equatable {
    var scheme: String
    /// `host` or `host:port`, exactly as the `Host` header is sent and signed.
    var host: String
    /// Empty, or starting with `/` and without a trailing `/`.
    var basePath: String

    /// Parses `http(s)://authority[/path]`; nil for anything else (no user info, query or fragment).
    init?(_ url: String) {
        let scheme: String
        let rest: Substring
        if url.hasPrefix("https://") {
            scheme = "https"; rest = url.dropFirst("https://".count)
        } else if url.hasPrefix("http://") {
            scheme = "http"; rest = url.dropFirst("http://".count)
        } else {
            return nil
        }
        let authority = rest.prefix { $0 != "/" }
        var path = String(rest.dropFirst(authority.count))
        while path.hasSuffix("/") { path.removeLast() }
        guard !authority.isEmpty, !authority.contains("@"), !path.contains("?"), !path.contains("#") else { return nil }
        // The default port is left out of `Host`, as HTTP clients send it.
        var host = String(authority)
        if scheme == "https", host.hasSuffix(":443") { host.removeLast(4) }
        if scheme == "http", host.hasSuffix(":80") { host.removeLast(3) }
        self.scheme = scheme
        self.host = host
        self.basePath = path
    }

    /// `options.endpoint` of a remote sink, parsed; a `SinkError` naming the option when it cannot be.
    init(option url: String, sinkType: String) throws(SinkError) {
        guard let endpoint = ServiceEndpoint(url) else {
            throw SinkError(sinkType: sinkType, message: "options.endpoint \"\(url)\" is not an http:// or https:// URL without query", isRetryable: false)
        }
        self = endpoint
    }

    init(scheme: String, host: String, basePath: String = "") {
        self.scheme = scheme
        self.host = host
        self.basePath = basePath
    }

    /// The URL of an already percent-encoded `path` (starting with `/`) and query.
    func url(path: String, query: String = "") -> String {
        "\(scheme)://\(host)\(path)" + (query.isEmpty ? "" : "?\(query)")
    }
}
