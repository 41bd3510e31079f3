/// The versioned migrations of `sql/`, embedded in the binary so that `cae-init migrate` needs no files at run
/// time. Add a file `VNNN__name.sql`, list it in Package.swift's `embedInCode` resources and here.
public enum SchemaMigrations {
    public struct Migration: Sendable {
        public let version: Int
        public let name: String
        public let sql: String
    }

    public static let all: [Migration] = [
        Migration(version: 1, name: "V001__initial", sql: String(decoding: PackageResources.V001__initial_sql, as: UTF8.self)),
        Migration(version: 2, name: "V002__api_keys", sql: String(decoding: PackageResources.V002__api_keys_sql, as: UTF8.self)),
        Migration(version: 3, name: "V003__sink_service", sql: String(decoding: PackageResources.V003__sink_service_sql, as: UTF8.self)),
    ]
}
