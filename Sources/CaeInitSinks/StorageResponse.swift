import CaeInitCore
import NIOHTTP1

/// What a storage service answered: status, headers and (the start of) the body.
struct StorageResponse: Sendable {
    var status: Int
    var headers: HTTPHeaders
    var body: [UInt8]
    /// The request's `Authorization` value and the signature in it: a replayable credential for a while, so kept
    /// out of error text as the configured secrets are, should the service echo it.
    var requestCredentials: [Secret] = []

    var isSuccess: Bool { (200...299).contains(status) }

    func header(_ name: String) -> String? { headers.first(name: name) }
}
