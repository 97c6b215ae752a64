import Testing

@testable import CDCCore

/// PostgreSQL text output (pinned settings) → canonical values, per canonical-row.md's table.
@Suite struct PostgresRowCanonicalizerTests {
    private func canonical(_ text: String, _ type: String, category: Character = " ") throws -> String {
        var out: [UInt8] = []
        try PostgresRowCanonicalizer.appendValue(text, type: PostgresType(formatType: type, category: category),
                                                 to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test(arguments: [
        ("t", "boolean", "true"), ("f", "boolean", "false"),
        ("42", "integer", "42"), ("-7", "smallint", "-7"),
        ("4", "bigint", "4"), ("9007199254740991", "bigint", "9007199254740991"),
        ("9007199254740993", "bigint", "\"9007199254740993\""), ("-9007199254740993", "bigint", "\"-9007199254740993\""),
        ("4.5", "double precision", "4.5"), ("3.14159", "double precision", "3.14159"), ("1e+100", "double precision", "1e+100"),
        ("0.1", "real", "0.1"), ("NaN", "double precision", "\"NaN\""), ("-Infinity", "real", "\"-Infinity\""),
        ("19.99", "numeric(12,2)", "\"19.99\""), ("-12.50", "numeric(12,2)", "\"-12.50\""),
        ("12345678901234567890.123456789", "numeric", "\"12345678901234567890.123456789\""),
        ("0.000123", "numeric", "\"0.000123\""), ("NaN", "numeric", "\"NaN\""),
        ("1234.56", "money", "\"1234.56\""), ("$1,234.56", "money", "\"1234.56\""), ("-$5.00", "money", "\"-5.00\""),
        ("Café Crème ☕", "text", "\"Café Crème ☕\""), ("a\"b\\c\n", "character varying(20)", "\"a\\\"b\\\\c\\n\""),
        ("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "uuid", "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""),
        ("2024-03-31", "date", "\"2024-03-31\""), ("0044-03-15 BC", "date", "\"-0043-03-15\""),
        ("08:30:00", "time without time zone", "\"08:30:00.000000\""),
        ("17:45:30.123", "time(3) without time zone", "\"17:45:30.123000\""),
        ("2024-03-15 10:30:00.5", "timestamp without time zone", "\"2024-03-15T10:30:00.500000\""),
        ("1969-12-31 23:59:59.999", "timestamp(3) without time zone", "\"1969-12-31T23:59:59.999000\""),
        ("2024-03-15 09:30:00.123456+00", "timestamp with time zone", "\"2024-03-15T09:30:00.123456Z\""),
        ("2024-03-15 10:30:00+01", "timestamp with time zone", "\"2024-03-15T09:30:00.000000Z\""),
        ("2024-03-15 10:30:00+05:30", "timestamp with time zone", "\"2024-03-15T05:00:00.000000Z\""),
        ("infinity", "timestamp with time zone", "\"infinity\""),
        ("P1Y2M3DT4H5M6.5S", "interval", "\"P1Y2M3DT4H5M6.5S\""), ("P-1D", "interval", "\"P-1D\""),
        ("PT0S", "interval", "\"PT0S\""),
        ("{\"size\": {\"w\": 10, \"h\": 2.5}, \"eco\": true}", "jsonb", "{\"eco\":true,\"size\":{\"h\":2.5,\"w\":10}}"),
        ("\\xdeadbeef", "bytea", "\"3q2+7w==\""), ("\\x", "bytea", "\"\""),
        ("[1,5)", "int4range", "\"[1,5)\""), ("192.168.0.1/32", "inet", "\"192.168.0.1/32\""),
    ])
    func value(text: String, type: String, expected: String) throws {
        #expect(try canonical(text, type) == expected)
    }

    @Test func arrays() throws {
        #expect(try canonical("{eco,sale}", "text[]", category: "A") == #"["eco","sale"]"#)
        #expect(try canonical(#"{"with space","comma,inside","quote\"d",NULL}"#, "text[]", category: "A")
                == #"["with space","comma,inside","quote\"d",null]"#)
        #expect(try canonical(#"{"NULL",null}"#, "text[]", category: "A") == #"["NULL",null]"#)
        #expect(try canonical("{{1,2},{3,4}}", "integer[]", category: "A") == "[[1,2],[3,4]]")
        #expect(try canonical("[0:1]={7,8}", "integer[]", category: "A") == "[7,8]")
        #expect(try canonical("{}", "numeric(5,2)[]", category: "A") == "[]")
        #expect(try canonical("{1.50,NULL}", "numeric(5,2)[]", category: "A") == #"["1.50",null]"#)
    }

    @Test(arguments: [
        ("x", "integer"), ("tru", "boolean"), ("12.345", "numeric(12,2)"), ("not-a-uuid", "uuid"),
        ("2024-13-01", "date"), ("25:00:00", "time without time zone"), ("{\"a\":", "jsonb"),
        ("deadbeef", "bytea"), ("1 day", "interval"), ("{1,2", "integer[]"),
    ])
    func invalidTextIsAnErrorNamingTheValue(text: String, type: String) {
        #expect(throws: CanonicalRowError.self) { _ = try canonical(text, type, category: type.hasSuffix("]") ? "A" : " ") }
    }

    private let orderLines = TableColumns(
        columns: [
            .init(name: "order_id", formatType: "bigint", category: "N"),
            .init(name: "line_no", formatType: "integer", category: "N"),
            .init(name: "unit_price", formatType: "numeric(12,2)", category: "N"),
            .init(name: "note", formatType: "text", category: "S"),
            .init(name: "certyo_anchor_status", formatType: "text", category: "S"),
        ],
        primaryKey: ["order_id", "line_no"]
    )

    @Test func rowPayloadKeyPayloadAndRecordId() throws {
        let canonicalizer = PostgresRowCanonicalizer(table: TableName(schema: "public", table: "order_lines"),
                                                     columns: orderLines)
        let cells: [String: String?] = [
            "order_id": "1001", "line_no": "1", "unit_price": "1234.56", "note": nil, "certyo_anchor_status": "pending",
        ]
        #expect(String(decoding: try canonicalizer.payload(cells), as: UTF8.self)
                == #"{"line_no":1,"note":null,"order_id":1001,"unit_price":"1234.56"}"#)
        #expect(String(decoding: try canonicalizer.keyPayload(cells), as: UTF8.self) == #"{"line_no":1,"order_id":1001}"#)
        #expect(try canonicalizer.recordId(cells) == "[1001,1]")
    }

    @Test func excludedColumnsAreLeftOut() throws {
        let canonicalizer = PostgresRowCanonicalizer(table: TableName(schema: "public", table: "order_lines"),
                                                     columns: orderLines, excludedColumns: ["public.order_lines.note"])
        let cells: [String: String?] = ["order_id": "1", "line_no": "2", "unit_price": "0.00", "note": "x",
                                        "certyo_anchor_status": nil]
        #expect(String(decoding: try canonicalizer.payload(cells), as: UTF8.self)
                == #"{"line_no":2,"order_id":1,"unit_price":"0.00"}"#)
    }

    @Test func singleKeyRecordIdIsTheValueAsAString() throws {
        let columns = TableColumns(columns: [.init(name: "id", formatType: "uuid", category: "U"),
                                             .init(name: "n", formatType: "integer", category: "N")],
                                   primaryKey: ["id"])
        let canonicalizer = PostgresRowCanonicalizer(table: TableName(schema: "s", table: "t"), columns: columns)
        #expect(try canonicalizer.recordId(["id": "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11", "n": "1"])
                == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
    }

    @Test func rowsThatDoNotFitTheCatalogAreErrors() {
        let canonicalizer = PostgresRowCanonicalizer(table: TableName(schema: "public", table: "order_lines"),
                                                     columns: orderLines)
        let error = #expect(throws: CanonicalRowError.self) {
            _ = try canonicalizer.payload(["order_id": "1", "line_no": "1", "unit_price": "1.00", "note": nil,
                                           "certyo_anchor_status": nil, "added_later": "x"])
        }
        #expect(error?.description.contains("added_later") == true)
        #expect(throws: CanonicalRowError.self) { _ = try canonicalizer.payload(["order_id": "1"]) }
        #expect(throws: CanonicalRowError.self) {
            _ = try canonicalizer.recordId(["order_id": nil, "line_no": "1"])
        }
        let noKey = PostgresRowCanonicalizer(table: TableName(schema: "s", table: "t"),
                                             columns: TableColumns(columns: orderLines.columns, primaryKey: []))
        #expect(throws: CanonicalRowError.self) { _ = try noKey.recordId(["order_id": "1"]) }
    }

    @Test func recordTextOutputIsSplitIntoCells() {
        #expect(PostgresRecordText.parse(#"(1,"a b",,"x""y","",NULL)"#) == ["1", "a b", nil, #"x"y"#, "", "NULL"])
        #expect(PostgresRecordText.parse(#"(1,"{""a"": 1}","{eco,sale}","back\\slash")"#)
                == ["1", #"{"a": 1}"#, "{eco,sale}", #"back\slash"#])
        #expect(PostgresRecordText.parse("()") == [nil])
        #expect(PostgresRecordText.parse("1,2") == nil)
        #expect(PostgresRecordText.parse(#"(1,"unterminated)"#) == nil)
    }
}
