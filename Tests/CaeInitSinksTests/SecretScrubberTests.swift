import CaeInitCore
import Testing

@Suite("Secret scrubbing")
struct SecretScrubberTests {
    static let token = "IQoJb3JpZ2luX2VjEXAMPLE/token+with=signs"
    let scrubber = SecretScrubber([Secret(token)])
    let masked = Secret.mask(token)

    @Test("Each form of a secret is replaced by its masked form", arguments: [
        token,
        "IQoJb3JpZ2luX2VjEXAMPLE%2Ftoken%2Bwith%3Dsigns",
        "IQoJb3JpZ2luX2VjEXAMPLE%2ftoken%2bwith%3dsigns",
        "IQoJb3JpZ2luX2VjEXAMPLE\\/token+with=signs",
        "SVFvSmIzSnBaMmx1WDJWakVYQU1QTEUvdG9rZW4rd2l0aD1zaWducw==",
        "SVFvSmIzSnBaMmx1WDJWakVYQU1QTEUvdG9rZW4rd2l0aD1zaWducw",
        "SVFvSmIzSnBaMmx1WDJWakVYQU1QTEUvdG9rZW4rd2l0aD1zaWducw",
    ])
    func everyForm(form: String) {
        let text = "echo: x-amz-security-token: \(form); x-amz-date: 20250101T000000Z"
        let scrubbed = scrubber.scrub(text)
        #expect(!scrubbed.contains(form))
        #expect(scrubbed.hasPrefix("echo: x-amz-security-token: \(masked)"))
        #expect(scrubbed.hasSuffix("; x-amz-date: 20250101T000000Z"))
    }

    @Test("URL-safe base64 and every occurrence")
    func urlSafeAndRepeated() {
        let urlSafe = SecretScrubber([Secret("a?b>c~~~")])
        // base64 "YT9iPmN+fn4=" has `+`; its URL-safe form "YT9iPmN-fn4".
        #expect(urlSafe.scrub("x YT9iPmN-fn4 y") == "x a?b***** y")
        #expect(scrubber.scrub("\(Self.token) and \(Self.token)") == "\(masked) and \(masked)")
    }

    @Test("A combining mark echoed after the secret does not hide it")
    func combiningMark() {
        // As characters, the token's last letter and the accent are one: a character search would miss it.
        let scrubbed = scrubber.scrub("\(Self.token)\u{301} end")
        #expect(Array(scrubbed.utf8) == Array("\(masked)\u{301} end".utf8))
    }

    @Test("Text without a secret is unchanged; an empty secret hides nothing")
    func unchanged() {
        let text = "S3 403 SignatureDoesNotMatch: scripted 403 [request id r-1] é"
        #expect(scrubber.scrub(text) == text)
        #expect(SecretScrubber([Secret("")]).isEmpty)
        #expect(SecretScrubber([Secret("")]).scrub(text) == text)
        // One character short of the secret is not the secret.
        let partial = String(Self.token.dropLast())
        #expect(scrubber.scrub(partial) == partial)
    }

    @Test("A secret that contains another is replaced whole")
    func nested() {
        let both = SecretScrubber([Secret("abcd"), Secret("abcdefgh")])
        #expect(both.scrub("[abcdefgh] [abcd]") == "[abc*****] [abc*]")
    }

    @Test("The sink's secrets: secretAccessKey, sessionToken, accountKey; not the key id nor the account name")
    func configurationSecrets() throws {
        let s3 = try SinkConfiguration(json: JSONValue.parse(#"{"type":"AWS S3","credentials":{"accessKeyId":"AKID","secretAccessKey":"S3CRET","region":"r","sessionToken":"T0KEN"},"options":{"bucketName":"b"}}"#))
        #expect(s3.secrets.map(\.value) == ["S3CRET", "T0KEN"])
        let noToken = try SinkConfiguration(json: JSONValue.parse(#"{"type":"AWS S3","credentials":{"accessKeyId":"AKID","secretAccessKey":"S3CRET","region":"r"},"options":{"bucketName":"b"}}"#))
        #expect(noToken.secrets.map(\.value) == ["S3CRET"])
        let azure = try SinkConfiguration(json: JSONValue.parse(#"{"type":"Azure Blob Storage","credentials":{"accountName":"acct","accountKey":"YmFy"},"options":{"containerName":"c"}}"#))
        #expect(azure.secrets.map(\.value) == ["YmFy"])
        let local = try SinkConfiguration(json: JSONValue.parse(#"{"type":"Local Directory","options":{"path":"/tmp/x"}}"#))
        #expect(local.secrets.isEmpty)
    }
}
