import CaeInitCore
import Testing

@Suite struct ObjectNamingTests {
    let v = version(100, 0)

    func document(_ value: JSONValue?) -> JSONObject {
        var document = JSONObject([("id", "x")])
        if let value { document["societe"] = value }
        return document
    }

    @Test func folderFromStringOrNumber() throws {
        let naming = ObjectNaming(folderProperty: "societe")
        #expect(try naming.objectName(of: document("ACME"), version: v) == "ACME/journal/00000000-0000-4000-8000-000000000001_100.json")
        #expect(try naming.objectName(of: document(.number("42")), version: v) == "42/journal/00000000-0000-4000-8000-000000000001_100.json")
    }

    @Test(arguments: [
        (nil, "is missing"), (JSONValue.null, "is null"), (JSONValue.string(""), "is empty"),
        (JSONValue.string("a/b"), "contains '/'"), (JSONValue.string("a\\b"), "contains '\\'"),
        (JSONValue.string("a\u{7}b"), "contains a control character"), (JSONValue.string("."), "is '.'"),
        (JSONValue.string(".."), "is '..'"), (JSONValue.bool(true), "is a boolean"),
    ] as [(JSONValue?, String)])
    func unsafeFoldersAreRefusedNamingTheProperty(value: JSONValue?, reason: String) {
        #expect {
            _ = try ObjectNaming(folderProperty: "societe").objectName(of: document(value), version: v)
        } throws: { error in
            "\(error)".hasPrefix("folderName property 'societe' \(reason)") && "\(error)".contains("journal 00000000-0000-4000-8000-000000000001")
        }
    }

    @Test func manifestName() {
        #expect(ObjectNaming.manifestName(subscriptionId: "abc", entiteId: "e") == "_manifests/abc/e.json")
    }
}

@Suite struct SubscriptionTests {
    static let s3Body = #"""
    {"domain":"comptabilite","key":"ignored","keyFilters":[{"key":"7E9030B3-40E9-4726-8D8C-9BFBADC59844","status":"ready"}],
     "applicationId":"app","sink":{"type":"AWS S3","credentials":{"accessKeyId":"AKIDEXAMPLE","secretAccessKey":"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY","region":"eu-west-3","sessionToken":"tok3n-value"},
     "options":{"bucketName":"b","folderName":"entite_id"},"retryPolicy":{"maxRetries":3,"backoffSeconds":0.5,"backoffMultiplier":2}},
     "topics":["queuing.cpa.comptabilite"],"filters":{"type":2},"initWithHistory":true}
    """#

    @Test func creationBodyIsReadAndNormalised() throws {
        let subscription = try Subscription.parseCreation(try JSONValue.parse(Self.s3Body))
        #expect(subscription.domain == "comptabilite")
        #expect(subscription.keyFilters == [KeyFilter(key: "7e9030b3-40e9-4726-8d8c-9bfbadc59844", status: .new)])
        #expect(subscription.initWithHistory)
        #expect(subscription.suspended == false)
        #expect(subscription.filters == JSONObject([("type", .number("2"))]))
        let sink = try SinkConfiguration(json: .object(subscription.sink))
        #expect(sink.retryPolicy == RetryPolicy(maxRetries: 3, backoffSeconds: 0.5, backoffMultiplier: 2))
        #expect(sink.retryPolicy.delay(beforeRetry: 1) == .milliseconds(500))
        #expect(sink.retryPolicy.delay(beforeRetry: 3) == .milliseconds(2000))
    }

    @Test func secretsAreMaskedWhenShown() throws {
        var subscription = try Subscription.parseCreation(try JSONValue.parse(Self.s3Body))
        subscription.id = "0123456789abcdef01234567"
        let shown = subscription.document().serialized()
        #expect(shown.contains(#""secretAccessKey":"wJa*************************************""#))
        #expect(shown.contains(#""sessionToken":"tok********""#))
        #expect(shown.contains(#""accessKeyId":"AKIDEXAMPLE""#))
        #expect(!shown.contains("wJalrXUtnFEMI"))
        #expect(Secret.mask("abc") == "***")
        #expect("\(Secret("supersecret"))" == "sup********")
        let sink = try SinkConfiguration(json: .object(subscription.sink))
        #expect(!"\(sink)".contains("wJalrXUtnFEMI"))
    }

    @Test(arguments: [
        (#"{"sink":{"type":"Local Directory","options":{"path":"/tmp"}}}"#, "domain: is missing"),
        (#"{"domain":"d","sink":{"type":"FTP","options":{}}}"#, #"sink.type: "FTP" is not a supported sink type"#),
        (#"{"domain":"d","sink":{"type":"AWS S3","credentials":{"accessKeyId":"a","region":"r"},"options":{"bucketName":"b"}}}"#, "sink.credentials.secretAccessKey: is missing"),
        (#"{"domain":"d","sink":{"type":"AWS S3","credentials":{"accessKeyId":"a","secretAccessKey":"s","region":"r"},"options":{}}}"#, "sink.options.bucketName: is missing"),
        (#"{"domain":"d","sink":{"type":"Azure Blob Storage","credentials":{"accountName":"a","accountKey":"not base64!"},"options":{"containerName":"c"}}}"#, "sink.credentials.accountKey: is not valid base64"),
        (#"{"domain":"d","sink":{"type":"Local Directory","options":{}}}"#, "sink.options.path: is missing"),
        (#"{"domain":"d","sink":{"type":"Local Directory","credentials":{},"options":{"path":"/tmp","folderName":""}}}"#, "sink.options.folderName: must not be empty"),
        (#"{"domain":"d","keyFilters":[{"key":"7e9030b3-40e9-4726-8d8c-9bfbadc59844"},{"key":"nope"}],"sink":{"type":"Local Directory","options":{"path":"/tmp"}}}"#, #"keyFilters[1].key: "nope" is not a UUID"#),
        (#"{"domain":"d","sink":{"type":"Local Directory","options":{"path":"/tmp"},"retryPolicy":{"maxRetries":-1}}}"#, "sink.retryPolicy.maxRetries: must be between 0 and 20"),
        (#"{"domain":"d","initWithHistory":"yes","sink":{"type":"Local Directory","options":{"path":"/tmp"}}}"#, "initWithHistory: expected true or false"),
        (#"{"domain":"d","sinks":{}}"#, "sinks: unknown field"),
        (#"{"domain":"d","sink":{"type":"AWS S3","credentials":{"accessKeyId":"a","secretAccessKey":"cae-sealed:v1:0011:AAAA","region":"r"},"options":{"bucketName":"b"}}}"#, "sink.credentials.secretAccessKey: starts with 'cae-sealed:'"),
        (#"{"domain":"d","sink":{"type":"AWS S3","credentials":{"accessKeyId":"a","secretAccessKey":"s","sessionToken":"cae-sealed:","region":"r"},"options":{"bucketName":"b"}}}"#, "sink.credentials.sessionToken: starts with 'cae-sealed:'"),
        (#"{"domain":"d","sink":{"type":"Azure Blob Storage","credentials":{"accountName":"a","accountKey":"cae-sealed:v1:x"},"options":{"containerName":"c"}}}"#, "sink.credentials.accountKey: starts with 'cae-sealed:'"),
    ])
    func malformedSubscriptionsNameTheField(body: String, message: String) {
        #expect {
            _ = try Subscription.parseCreation(try JSONValue.parse(body))
        } throws: { error in
            "\(error)".hasPrefix(message)
        }
    }

    /// One character short of the prefix is a secret like any other.
    @Test func aSecretMerelyResemblingTheSealedFormIsAccepted() throws {
        let body = #"{"domain":"d","sink":{"type":"AWS S3","credentials":{"accessKeyId":"a","secretAccessKey":"cae-sealed","region":"r"},"options":{"bucketName":"b"}}}"#
        let subscription = try Subscription.parseCreation(try JSONValue.parse(body))
        #expect(try SinkConfiguration(json: .object(subscription.sink)).secrets.map(\.value) == ["cae-sealed"])
    }

    @Test func errorsNeverEchoASecret() {
        let body = #"{"domain":"d","sink":{"type":"AWS S3","credentials":{"accessKeyId":"a","secretAccessKey":"TOPSECRETVALUE","region":"r","extra":"x"},"options":{"bucketName":"b"}}}"#
        #expect {
            _ = try Subscription.parseCreation(try JSONValue.parse(body))
        } throws: { error in
            "\(error)".contains("sink.credentials.extra") && !"\(error)".contains("TOPSECRETVALUE")
        }
    }
}

@Suite struct DossierFixtureTests {
    @Test func fixturesOfTheRepositoryAreValid() throws {
        for name in ["dossier-history.json", "dossier-simple.json"] {
            let fixture = try DossierFixture.parse(try fixtureText(name))
            #expect(!(fixture.versions[.ecriture] ?? []).isEmpty)
        }
    }

    static let entite = "7e9030b3-40e9-4726-8d8c-9bfbadc59844"
    static func journal(_ validFrom: Int, _ validTo: Int, code: String = "\"OD\"") -> String {
        #"{"id":"1a8793c7-02a1-4e83-aa49-074d0021bf4a","application_id":null,"code":\#(code),"libelle":"L","compteContrepartie_id":null,"typeContrepartie":1,"type":2,"ferme":false,"validFrom":\#(validFrom),"validTo":\#(validTo)}"#
    }

    @Test(arguments: [
        ("{\"entite_id\": \"\(entite)\",\n\"journals\": [\n  {\"id\": 1,,}\n]}", "line 3, column 12: expected a string key"),
        (#"{"entite_id":"nope"}"#, #"entite_id: "nope" is not a UUID"#),
        (#"{"entite_id":"\#(entite)","journals":[\#(journal(0, 0, code: "12"))]}"#, "journals[0].code: expected a string, found a number"),
        (#"{"entite_id":"\#(entite)","journals":[\#(journal(0, 0)),\#(journal(0, 0))]}"#, "journals[0,1]: journal 1a8793c7-02a1-4e83-aa49-074d0021bf4a has more than one current version"),
        (#"{"entite_id":"\#(entite)","journals":[\#(journal(0, 200)),\#(journal(100, 0))]}"#, "journals[0,1]: broken history: journal 1a8793c7-02a1-4e83-aa49-074d0021bf4a has overlapping versions"),
        (#"{"entite_id":"\#(entite)","journals":[\#(journal(300, 200))]}"#, "journals[0]: broken history"),
        (#"{"entite_id":"\#(entite)","ecritures":[{"id":"\#(entite)","application_id":null,"journal_id":null,"dateEcriture":1,"numeroPiece":null,"libelle":null,"lignes":[{"compte_id":null,"libelle":null,"debit":"12.5","credit":0}],"validFrom":0,"validTo":0}]}"#, "ecritures[0].lignes[0].debit: expected a decimal number, found a string"),
        (#"{"entite_id":"\#(entite)","comptes":[{"id":"\#(entite)","validFrom":0,"validTo":0}]}"#, "comptes[0].application_id: is missing"),
        (#"{"entite_id":"\#(entite)","situationPeriods":[{"id":"\#(entite)","referenceDate":1.5}]}"#, "situationPeriods[0].referenceDate: expected an integer"),
    ])
    func malformedFixturesNameTheLineOrField(text: String, message: String) {
        #expect {
            _ = try DossierFixture.parse(text)
        } throws: { error in
            "\(error)".contains(message)
        }
    }
}
