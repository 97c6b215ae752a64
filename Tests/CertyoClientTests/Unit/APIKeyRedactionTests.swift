import Testing

@testable import CertyoClient

@Suite struct APIKeyRedactionTests {
    static let secret = "cty_s3cr3tK3yV4lu3xxxxxx"

    @Test func everyPrintedFormIsRedacted() {
        let key = CertyoAPIKey(Self.secret)
        var dumped = ""
        dump(key, to: &dumped)
        let forms = [
            key.description, key.debugDescription, String(describing: key), String(reflecting: key), "\(key)",
            dumped,
        ]
        for form in forms {
            expectNoKey(in: form, keys: [Self.secret, "s3cr3t"])
            #expect(form.contains("(redacted)"))
        }
        #expect(key.description == "cty_…(redacted)")
        #expect(CertyoAPIKey("other-shape").description == "…(redacted)")
    }

    @Test func aConfigurationPrintsWithoutTheKey() {
        let configuration = CertyoClient.Configuration(
            baseURL: "http://127.0.0.1:1", apiKey: .init(Self.secret), tenantId: "acme"
        )
        var dumped = ""
        dump(configuration, to: &dumped)
        for form in [String(describing: configuration), String(reflecting: configuration), dumped] {
            expectNoKey(in: form, keys: [Self.secret])
            #expect(form.contains("acme"))
        }
    }

    @Test func whitespaceAroundAKeyFileIsTrimmed() {
        #expect(CertyoAPIKey("  \(Self.secret)\n") == CertyoAPIKey(Self.secret))
        #expect(CertyoAPIKey("\n").isEmpty)
    }

    @Test func redactReplacesEveryOccurrence() {
        let key = CertyoAPIKey(Self.secret)
        #expect(key.redact("a \(Self.secret) b \(Self.secret)") == "a cty_…(redacted) b cty_…(redacted)")
        #expect(key.redact("nothing here") == "nothing here")
    }
}
