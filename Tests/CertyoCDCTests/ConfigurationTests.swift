import CDCCore
import CertyoCDC
import CertyoClient
import KafkaBridge
import Testing

@Suite struct ConfigurationTests {
    static let secret = "cty_SECRET_do_not_print_1234"
    let minimal = ["CERTYO_API_KEY": secret, "CERTYO_TENANT_ID": "acme-corp"]

    func load(_ environment: [String: String], flags: [Setting: String] = [:], repeated: [String] = [],
              files: [String: String] = [:]) throws -> CertyoCDCConfiguration {
        try CertyoCDCConfiguration.load(
            RawSettings(flags: flags, repeatedFlags: [.kafkaProperties: repeated], environment: environment),
            readFile: { path in
                guard let contents = files[path] else { throw CocoaLikeError() }
                return contents
            }
        )
    }

    struct CocoaLikeError: Error {}

    func failure(_ environment: [String: String], flags: [Setting: String] = [:], repeated: [String] = [],
                 files: [String: String] = [:]) -> ConfigError? {
        do {
            _ = try load(environment, flags: flags, repeated: repeated, files: files)
            return nil
        } catch let error as ConfigError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }

    @Test func defaultsAreTheDocumentedOnes() throws {
        let configuration = try load(minimal)
        #expect(configuration.certyo.baseURL == "https://www.certyos.com")
        #expect(configuration.certyo.tenantId == "acme-corp")
        #expect(configuration.pipeline.consumer.groupID == "certyo-cdc")
        #expect(configuration.pipeline.consumer.topicPattern == #"^certyo\.public\..*"#)
        #expect(configuration.pipeline.consumer.bootstrapServers == "127.0.0.1:9092")
        #expect(configuration.pipeline.batching.maxRecords == 1000)
        #expect(configuration.pipeline.batching.linger == .milliseconds(200))
        #expect(configuration.pipeline.batching.maxInFlight == 8)
        #expect(configuration.pipeline.batching.maxBufferedBytes == 16 * 1024 * 1024)
        #expect(configuration.deadLetterTopic == "certyo-cdc.dlq")
        #expect(configuration.pipelineEnabled)
    }

    @Test func durationsAreWrittenOneWayEverywhere() {
        // The one parser every duration setting and `doctor --timeout` use.
        #expect(SettingParser.duration("0.5") == .milliseconds(500))
        #expect(SettingParser.duration("250ms") == .milliseconds(250))
        #expect(SettingParser.duration("10s") == .seconds(10))
        #expect(SettingParser.duration("2m") == .seconds(120))
        for bad in ["", "-1", "ten", "inf", "nan", "5h", "s"] {
            #expect(SettingParser.duration(bad) == nil, "'\(bad)'")
        }
    }

    @Test func theBufferBudgetIsReadAndBounded() throws {
        let error = #expect(throws: ConfigError.self) {
            try load(minimal.merging(["CERTYO_MAX_BUFFERED_BYTES": "1000"]) { $1 })
        }
        #expect(error?.description.contains("--max-buffered-bytes / CERTYO_MAX_BUFFERED_BYTES") == true)
        let configuration = try load(minimal.merging(["CERTYO_MAX_BUFFERED_BYTES": "67108864"]) { $1 })
        #expect(configuration.pipeline.batching.maxBufferedBytes == 67_108_864)
    }

    @Test func flagsWinOverEnvironmentAndPropertiesMerge() throws {
        var environment = minimal
        environment["CERTYO_GROUP_ID"] = "from-env"
        environment["KAFKA_PROPERTIES"] = "session.timeout.ms=3500, fetch.wait.max.ms=10"
        environment["CERTYO_BATCH_LINGER"] = "0.05"
        let configuration = try load(environment, flags: [.groupID: "from-flag", .topicPattern: "certyo\\.x\\..*"],
                                     repeated: ["heartbeat.interval.ms=300"])
        #expect(configuration.pipeline.consumer.groupID == "from-flag")
        #expect(configuration.pipeline.consumer.topicPattern == "^certyo\\.x\\..*")
        #expect(configuration.pipeline.consumer.additionalProperties == [
            "session.timeout.ms": "3500", "fetch.wait.max.ms": "10", "heartbeat.interval.ms": "300",
        ])
        #expect(configuration.pipeline.batching.linger == .milliseconds(50))
    }

    @Test func theKeyFileIsReadAndTrimmed() throws {
        let configuration = try load(["CERTYO_API_KEY_FILE": "/run/secrets/key", "CERTYO_TENANT_ID": "t"],
                                     files: ["/run/secrets/key": Self.secret + "\n"])
        #expect(configuration.certyo.apiKey == CertyoAPIKey(Self.secret))
    }

    @Test(arguments: [
        (["CERTYO_TENANT_ID": "t"], "CERTYO_API_KEY", "set CERTYO_API_KEY"),
        (["CERTYO_API_KEY": secret], "CERTYO_TENANT_ID", "set CERTYO_TENANT_ID"),
        (["CERTYO_API_KEY": secret, "CERTYO_API_KEY_FILE": "/k", "CERTYO_TENANT_ID": "t"], "CERTYO_API_KEY_FILE",
         "set only one"),
        (["CERTYO_API_KEY_FILE": "/missing", "CERTYO_TENANT_ID": "t"], "CERTYO_API_KEY_FILE", "readable file"),
        (["CERTYO_API_KEY": secret, "CERTYO_TENANT_ID": "t", "CERTYO_BASE_URL": "ftp://x"], "CERTYO_BASE_URL",
         "https://"),
        (["CERTYO_API_KEY": secret, "CERTYO_TENANT_ID": "t", "CERTYO_BATCH_MAX_RECORDS": "1001"],
         "CERTYO_BATCH_MAX_RECORDS", "1 to 1000"),
        (["CERTYO_API_KEY": secret, "CERTYO_TENANT_ID": "t", "CERTYO_BATCH_LINGER": "soon"], "CERTYO_BATCH_LINGER",
         "seconds"),
        (["CERTYO_API_KEY": secret, "CERTYO_TENANT_ID": "t", "KAFKA_PROPERTIES": "novalue"], "KAFKA_PROPERTIES",
         "key=value"),
        (["CERTYO_API_KEY": secret, "CERTYO_TENANT_ID": "t", "CERTYO_DLQ_TOPIC": "bad topic"], "CERTYO_DLQ_TOPIC",
         "letters"),
        (["CERTYO_API_KEY": secret, "CERTYO_TENANT_ID": "t", "CERTYO_TOPIC_PATTERN": "(unclosed"],
         "CERTYO_TOPIC_PATTERN", "pattern"),
        (["CERTYO_API_KEY": "has space", "CERTYO_TENANT_ID": "t"], "CERTYO_API_KEY", "exactly as Certyo issued"),
        (["CERTYO_API_KEY": secret, "CERTYO_TENANT_ID": "t", "KAFKA_PROPERTIES": "sesion.timeout.ms=3500"],
         "KAFKA_PROPERTIES", "correct or remove"),
        (["CERTYO_API_KEY": secret, "CERTYO_TENANT_ID": "t", "KAFKA_PROPERTIES": "enable.auto.commit=true"],
         "KAFKA_PROPERTIES", "correct or remove"),
    ])
    func eachMistakeNamesTheSettingAndTheFix(environment: [String: String], setting: String, fix: String) throws {
        let error = try #require(failure(environment))
        #expect(error.setting.contains(setting))
        #expect(error.fix.contains(fix))
        #expect(!error.description.contains(Self.secret))
        #expect(!String(reflecting: error).contains(Self.secret))
    }

    @Test func theAPIKeyNeverPrints() throws {
        let configuration = try load(minimal)
        #expect(!"\(configuration.certyo.apiKey)".contains(Self.secret))
        #expect(!String(reflecting: configuration).contains(Self.secret))
    }
}
