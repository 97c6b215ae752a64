import Testing

@testable import PostgresBridge

@Suite struct PostgresConfigurationTests {
    @Test func urlDSNIsParsedByLibpqAndRedacted() throws {
        let configuration = try PostgresConfiguration(
            dsn: "postgresql://cdc_user:s3cr%40t-pw@db.example.com:6543/productdb?sslmode=require"
        )
        #expect(configuration.parameter("host") == "db.example.com")
        #expect(configuration.parameter("port") == "6543")
        #expect(configuration.parameter("dbname") == "productdb")
        #expect(configuration.parameter("user") == "cdc_user")
        #expect(configuration.parameter("sslmode") == "require")
        #expect(configuration.parameter("password") == nil)
        #expect(configuration.target == "db.example.com:6543/productdb")
        #expect(configuration.redactedDSN.contains("password=***"))
        #expect(configuration.redactedDSN.contains("host=db.example.com"))
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [configuration.redactedDSN, configuration.description, String(reflecting: configuration), dumped] {
            #expect(!text.contains("s3cr"))
        }
        #expect(dumped.contains("db.example.com:6543/productdb"))
        // libpq gets the decoded password.
        #expect(configuration.connectionKeywordsAndValues().contains { $0 == ("password", "s3cr@t-pw") })
    }

    @Test func keyValueDSNIsParsedAndRedacted() throws {
        let configuration = try PostgresConfiguration(
            dsn: "host=10.0.0.5 port=5433 dbname=app user=reader password='pa ss\\'word' sslmode=disable"
        )
        #expect(configuration.target == "10.0.0.5:5433/app")
        #expect(configuration.parameter("user") == "reader")
        #expect(configuration.connectionKeywordsAndValues().contains { $0 == ("password", "pa ss'word") })
        #expect(
            configuration.redactedDSN
                == "user=reader password=*** dbname=app host=10.0.0.5 port=5433 sslmode=disable"
        )
        #expect(!configuration.description.contains("pa ss"))
    }

    @Test func productionDefaultsAndDSNOverrides() throws {
        let plain = try PostgresConfiguration(dsn: "postgresql://u@h/db")
        #expect(plain.applicationName == "certyo-cdc")
        #expect(plain.connectTimeout == .seconds(10))
        #expect(plain.sessionSettings.isEmpty)
        #expect(plain.dsnName == "the DSN")
        let pairs = plain.connectionKeywordsAndValues()
        #expect(pairs.contains { $0 == ("application_name", "certyo-cdc") })
        #expect(pairs.contains { $0 == ("connect_timeout", "10") })
        #expect(pairs.contains { $0 == ("client_encoding", "UTF8") })

        let custom = try PostgresConfiguration(
            dsn: "postgresql://u@h/db?application_name=cdc-west&connect_timeout=3&client_encoding=LATIN1"
        )
        #expect(custom.applicationName == "cdc-west")
        #expect(custom.connectTimeout == .seconds(3))
        let customPairs = custom.connectionKeywordsAndValues()
        #expect(customPairs.filter { $0.0 == "client_encoding" }.map(\.1) == ["UTF8"])
        #expect(customPairs.filter { $0.0 == "application_name" }.map(\.1) == ["cdc-west"])
    }

    @Test func subsecondTimeoutsRoundUp() throws {
        var configuration = try PostgresConfiguration(dsn: "host=h")
        configuration.connectTimeout = .milliseconds(1500)
        #expect(configuration.connectionKeywordsAndValues().contains { $0 == ("connect_timeout", "2") })
    }

    @Test func unparsableDSNNamesTheProblemWithoutThePassword() {
        // libpq echoes the bad token, which here is the password itself.
        let error = #expect(throws: PostgresError.self) {
            try PostgresConfiguration(dsn: "postgresql://admin:hunter%ZZ2secret@db/prod")
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.message.contains("percent") == true)
        for text in [error?.description, error?.debugDescription, error.map { String(reflecting: $0) }] {
            #expect(text?.contains("hunter") == false)
            #expect(text?.contains("2secret") == false)
        }
    }

    @Test func unknownKeywordIsRejected() {
        let error = #expect(throws: PostgresError.self) {
            try PostgresConfiguration(dsn: "host=h passwrd=topsecret")
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.description.contains("passwrd") == true)
        #expect(error?.description.contains("topsecret") == false)
    }

    @Test func badConnectTimeoutIsRejected() {
        let error = #expect(throws: PostgresError.self) {
            try PostgresConfiguration(dsn: "host=db port=5432 dbname=x password=zz9pw connect_timeout=soon")
        }
        #expect(error?.code == .invalidConfiguration)
        #expect(error?.description.contains("connect_timeout=soon") == true)
        #expect(error?.description.contains("db:5432/x") == true)
        #expect(error?.description.contains("zz9pw") == false)
    }

    @Test func canonicalSessionSettings() {
        let settings = PostgresConfiguration.SessionSetting.canonicalTextOutput
        #expect(
            settings.map(\.name) == ["TimeZone", "DateStyle", "IntervalStyle", "extra_float_digits", "bytea_output"]
        )
        #expect(settings.map(\.value) == ["UTC", "ISO", "iso_8601", "3", "hex"])
    }
}
