import CaeInitCore
import Hummingbird
import NIOCore

/// JSON answers, serialised by the core (numbers keep their digits, objects their key order).
enum JSONResponse {
    static func make(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        let bytes = value.serializedBytes()
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }
}
