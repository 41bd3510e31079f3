/// A subscription's `sink` (SPEC §7), validated: an unknown type or a missing credential or option is refused
/// with the field named, before anything is written.
public struct SinkConfiguration: Sendable, Equatable {
    public enum Destination: Sendable, Equatable {
        case s3(S3SinkConfiguration)
        case azureBlob(AzureBlobSinkConfiguration)
        case localDirectory(LocalDirectorySinkConfiguration)
    }

    public static let s3Type = "AWS S3"
    public static let azureBlobType = "Azure Blob Storage"
    public static let localDirectoryType = "Local Directory"
    public static let supportedTypes = [s3Type, azureBlobType, localDirectoryType]

    /// The credential fields that are secrets: masked when shown, never logged.
    public static let secretFields: Set<String> = ["accountKey", "secretAccessKey", "sessionToken"]

    /// The prefix of a secret sealed at rest (`SinkSealer`). A client sending a value that starts with it is refused:
    /// it would be stored as if already sealed and could never be opened.
    public static let sealedSecretPrefix = "cae-sealed:"

    public let destination: Destination
    /// The document property whose value names each object's folder; default `entite_id`.
    public let folderName: String
    public let retryPolicy: RetryPolicy

    public init(destination: Destination, folderName: String = "entite_id", retryPolicy: RetryPolicy = .default) {
        self.destination = destination
        self.folderName = folderName
        self.retryPolicy = retryPolicy
    }

    public var typeName: String {
        switch destination {
        case .s3: return Self.s3Type
        case .azureBlob: return Self.azureBlobType
        case .localDirectory: return Self.localDirectoryType
        }
    }

    /// The credential values that must never leave the process (`secretFields`): what a sink scrubs from any text
    /// it reports. `accessKeyId` and `accountName` are identifiers, not secrets.
    public var secrets: [Secret] {
        switch destination {
        case .s3(let s3): return [s3.secretAccessKey] + (s3.sessionToken.map { [$0] } ?? [])
        case .azureBlob(let azure): return [azure.accountKey]
        case .localDirectory: return []
        }
    }

    /// Where files go, for logs and summaries: never a secret.
    public var location: String {
        switch destination {
        case .s3(let s3): return "s3://\(s3.bucketName)" + (s3.endpoint.map { " at \($0)" } ?? " in \(s3.region)")
        case .azureBlob(let azure): return "azure://\(azure.accountName)/\(azure.containerName)" + (azure.endpoint.map { " at \($0)" } ?? "")
        case .localDirectory(let local): return local.path
        }
    }

    public init(json value: JSONValue, path: String = "sink") throws(FieldError) {
        let sink = try FieldReader(value, path: path)
        try sink.refuseUnknown(allowed: ["type", "credentials", "options", "retryPolicy"])
        let type = try sink.string("type")
        guard Self.supportedTypes.contains(type) else {
            throw FieldError(sink.fieldPath("type"), "\"\(type)\" is not a supported sink type (expected \(Self.supportedTypes.map { "\"\($0)\"" }.joined(separator: ", ")))")
        }
        let options = try FieldReader(try sink.required("options"), path: sink.fieldPath("options"))
        let folderName = try options.optionalString("folderName") ?? "entite_id"
        if folderName.isEmpty { throw FieldError(options.fieldPath("folderName"), "must not be empty") }
        let retryPolicy = try RetryPolicy.parse(sink.object["retryPolicy"], path: sink.fieldPath("retryPolicy"))
        let endpoint = try options.optionalString("endpoint")
        if let endpoint, !(endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://")) {
            throw FieldError(options.fieldPath("endpoint"), "must be an http:// or https:// URL")
        }

        switch type {
        case Self.s3Type:
            let credentials = try FieldReader(try sink.required("credentials"), path: sink.fieldPath("credentials"))
            try credentials.refuseUnknown(allowed: ["accessKeyId", "secretAccessKey", "region", "sessionToken"])
            try options.refuseUnknown(allowed: ["bucketName", "folderName", "endpoint"])
            destination = .s3(S3SinkConfiguration(
                accessKeyId: try credentials.string("accessKeyId"),
                secretAccessKey: Secret(try Self.secret("secretAccessKey", in: credentials)),
                region: try credentials.string("region"),
                sessionToken: try Self.optionalSecret("sessionToken", in: credentials).flatMap { $0.isEmpty ? nil : Secret($0) },
                bucketName: try options.string("bucketName"),
                endpoint: endpoint
            ))
        case Self.azureBlobType:
            let credentials = try FieldReader(try sink.required("credentials"), path: sink.fieldPath("credentials"))
            try credentials.refuseUnknown(allowed: ["accountName", "accountKey"])
            try options.refuseUnknown(allowed: ["containerName", "folderName", "endpoint"])
            let accountKey = try Self.secret("accountKey", in: credentials)
            guard Base64.decode(accountKey) != nil else {
                throw FieldError(credentials.fieldPath("accountKey"), "is not valid base64")
            }
            destination = .azureBlob(AzureBlobSinkConfiguration(
                accountName: try credentials.string("accountName"),
                accountKey: Secret(accountKey),
                containerName: try options.string("containerName"),
                endpoint: endpoint
            ))
        default:
            if let credentials = sink.object["credentials"], !credentials.isNull {
                let reader = try FieldReader(credentials, path: sink.fieldPath("credentials"))
                try reader.refuseUnknown(allowed: [])
            }
            try options.refuseUnknown(allowed: ["path", "folderName"])
            let path = try options.string("path")
            // Relative to what? The worker's working directory is no place to write a partner's documents.
            guard path.hasPrefix("/") else {
                throw FieldError(options.fieldPath("path"), "\"\(path)\" is not an absolute path (it must start with /)")
            }
            destination = .localDirectory(LocalDirectorySinkConfiguration(path: path))
        }
        self.folderName = folderName
        self.retryPolicy = retryPolicy
    }

    private static func secret(_ field: String, in credentials: FieldReader) throws(FieldError) -> String {
        let value = try credentials.string(field)
        try refuseSealedForm(value, field: field, in: credentials)
        return value
    }

    private static func optionalSecret(_ field: String, in credentials: FieldReader) throws(FieldError) -> String? {
        guard let value = try credentials.optionalString(field) else { return nil }
        try refuseSealedForm(value, field: field, in: credentials)
        return value
    }

    private static func refuseSealedForm(_ value: String, field: String, in credentials: FieldReader) throws(FieldError) {
        if value.hasPrefix(sealedSecretPrefix) {
            throw FieldError(credentials.fieldPath(field), "starts with '\(sealedSecretPrefix)', the form of a secret sealed at rest: send the secret itself")
        }
    }
}

public struct S3SinkConfiguration: Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: Secret
    public var region: String
    public var sessionToken: Secret?
    public var bucketName: String
    /// An S3-compatible server, addressed path-style; nil for AWS (virtual-hosted style).
    public var endpoint: String?

    public init(accessKeyId: String, secretAccessKey: Secret, region: String, sessionToken: Secret?, bucketName: String, endpoint: String?) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.region = region
        self.sessionToken = sessionToken
        self.bucketName = bucketName
        self.endpoint = endpoint
    }
}

public struct AzureBlobSinkConfiguration: Sendable, Equatable {
    public var accountName: String
    /// Base64, as the Azure portal shows it.
    public var accountKey: Secret
    public var containerName: String
    /// An emulator or sovereign cloud; nil for `https://<account>.blob.core.windows.net`.
    public var endpoint: String?

    public init(accountName: String, accountKey: Secret, containerName: String, endpoint: String?) {
        self.accountName = accountName
        self.accountKey = accountKey
        self.containerName = containerName
        self.endpoint = endpoint
    }
}

public struct LocalDirectorySinkConfiguration: Sendable, Equatable {
    /// An absolute directory path, created when missing.
    public var path: String

    public init(path: String) { self.path = path }
}
