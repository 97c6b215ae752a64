import Testing

@testable import PostgresBridge

@Suite struct PostgresErrorTests {
    @Test func scrubRemovesKnownSecretsAndPasswordShapes() {
        let text = """
            failed for postgresql://bob:hunter2@db:5432/x and host=db password='a b c' user=bob; \
            also PASSWORD = plain99 and the raw hunter2
            """
        let scrubbed = Redaction.scrub(text, secrets: ["hunter2"])
        #expect(!scrubbed.contains("hunter2"))
        #expect(!scrubbed.contains("a b c"))
        #expect(!scrubbed.contains("plain99"))
        #expect(scrubbed.contains("postgresql://bob:***@db:5432/x"))
        #expect(scrubbed.contains("user=bob"))
    }

    @Test func guessesPasswordsOfUnparsableDSNs() {
        #expect(Redaction.guessPasswords(inDSN: "postgresql://u:p%41ss@h/db").contains("pAss"))
        #expect(Redaction.guessPasswords(inDSN: "host=h password='x y' bogus").contains("x y"))
    }

    @Test func verboseConnectMessageYieldsSQLState() {
        let raw = """
            connection to server at "127.0.0.1", port 55440 failed: FATAL:  28P01: password authentication failed \
            for user "certyo_test"
            LOCATION:  auth_failed, auth.c:335

            """
        let parsed = ParsedLibPQMessage(raw)
        #expect(parsed.sqlState == .invalidPassword)
        #expect(parsed.message == "password authentication failed for user \"certyo_test\"")
        #expect(!parsed.message.contains("LOCATION"))
        #expect(!parsed.message.contains("28P01"))
    }

    @Test func messageWithoutServerAnswerHasNoSQLState() {
        let parsed = ParsedLibPQMessage(
            "connection to server at \"127.0.0.1\", port 1 failed: Connection refused\n"
                + "\tIs the server running on that host and accepting TCP/IP connections?\n"
        )
        #expect(parsed.sqlState == nil)
        #expect(parsed.message.trimmingSpaces() == "Connection refused")
    }

    @Test func severalAttemptsKeepTheirHosts() {
        let raw = """
            connection to server at "a" (10.0.0.1), port 5432 failed: Connection refused
            connection to server at "b" (10.0.0.2), port 5432 failed: timeout expired
            """
        #expect(ParsedLibPQMessage(raw).message == raw)
    }

    @Test func descriptionIsOneLineNamingTargetProblemAndFix() {
        let context = ErrorContext(target: "127.0.0.1:5999/db", secrets: ["pw"], dsnName: "PG_DSN")
        let message = "connection to server at \"127.0.0.1\", port 5999 failed: Connection refused"
        let error = PostgresError(
            code: .connectionFailed,
            operation: "cannot connect to",
            message: message,
            hint: PostgresError.fix(code: .connectionFailed, sqlState: nil, message: message, context),
            target: context.target
        )
        #expect(
            error.description
                == "cannot connect to 127.0.0.1:5999/db: \(message)"
                + " — is PostgreSQL running and is PG_DSN's host/port right?"
        )
        #expect(!error.description.contains("\n"))
        #expect(error.isRetriable)
    }

    @Test func fixesAndRetriabilityFollowTheSQLState() {
        let context = ErrorContext(target: "h:1/d", secrets: [], dsnName: "PG_DSN")
        #expect(
            PostgresError.fix(code: .connectionFailed, sqlState: .invalidPassword, message: "", context)?
                .contains("password in PG_DSN") == true
        )
        #expect(
            PostgresError.fix(code: .connectionFailed, sqlState: .invalidCatalogName, message: "", context)?
                .contains("create the database") == true
        )
        let authentication = PostgresError(
            code: .connectionFailed, sqlState: .invalidPassword, operation: "cannot connect to", message: "m",
            target: "h:1/d")
        #expect(!authentication.isRetriable)
        let startingUp = PostgresError(
            code: .connectionFailed, sqlState: .cannotConnectNow, operation: "cannot connect to", message: "m",
            target: "h:1/d")
        #expect(startingUp.isRetriable)
        let syntax = PostgresError(
            code: .queryFailed, sqlState: .syntaxError, operation: "query failed on", message: "m", target: "h:1/d")
        #expect(!syntax.isRetriable)
        #expect(syntax.description.contains("[SQLSTATE 42601]"))
        let deadlock = PostgresError(
            code: .queryFailed, sqlState: .deadlockDetected, operation: "query failed on", message: "m",
            target: "h:1/d")
        #expect(deadlock.isRetriable)
    }

    @Test func contextScrubsEveryText() {
        let context = ErrorContext(target: "h:1/d", secrets: ["s3cret"], dsnName: "the DSN")
        #expect(context.scrub("line one s3cret\n\tline two") == "line one *** line two")
        #expect(context.scrub("  \n ") == nil)
    }
}
