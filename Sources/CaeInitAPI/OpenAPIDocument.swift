/// The OpenAPI 3.1 document of the API (Sources/CaeInitAPI/openapi.json, embedded in the binary), served at
/// `/openapi.json`. Hand-written, and checked against the running server by schemathesis in the test suite.
public enum OpenAPIDocument {
    public static let bytes: [UInt8] = PackageResources.openapi_json
}
