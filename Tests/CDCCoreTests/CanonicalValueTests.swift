import Testing

@testable import CDCCore

@Suite struct CanonicalValueTests {
    /// Canonicalises one JSON value under a converter, or returns the failure kind.
    static func convert(_ json: String, _ converter: ValueConverter) -> String {
        guard let tape = try? JSONTape(parsing: Array(json.utf8)) else { return "<bad json>" }
        var out: [UInt8] = []
        if let failure = Canonicalizer.append(tape, 0, converter, to: &out) { return "<\(failure.kind)>" }
        return String(decoding: out, as: UTF8.self)
    }

    @Test func preciseDecimalsFromTwosComplement() {
        #expect(Self.convert(#""+x4=""#, .decimalBytes(scale: 2)) == #""-12.50""#)
        #expect(Self.convert(#""B88=""#, .decimalBytes(scale: 2)) == #""19.99""#)
        #expect(Self.convert(#""AA==""#, .decimalBytes(scale: 2)) == #""0.00""#)
        #expect(Self.convert(#""/w==""#, .decimalBytes(scale: 3)) == #""-0.001""#)
        #expect(Self.convert(#""AIAAAAAAAAAA""#, .decimalBytes(scale: 0)) == #""9223372036854775808""#)
        #expect(Self.convert(#""J+QbMka+ybFuOYEV""#, .decimalBytes(scale: 9)) == #""12345678901234567890.123456789""#)
        #expect(Self.convert(#""2BvkzblBNk6Rxn7r""#, .decimalBytes(scale: 9)) == #""-12345678901234567890.123456789""#)
        #expect(Self.convert(#"{"scale":9,"value":"J+QbMka+ybFuOYEV"}"#, .variableScaleDecimal)
            == #""12345678901234567890.123456789""#)
        #expect(Self.convert(#"{"scale":6,"value":"ew=="}"#, .variableScaleDecimal) == #""0.000123""#)
        #expect(Self.convert(#""19.99""#, .decimalBytes(scale: 2)) == "<invalidValue>")
        #expect(Self.convert("19.99", .decimalBytes(scale: 2)) == "<wrongType>")
    }

    @Test func decimalStringsAreNormalisedToTheScale() {
        #expect(Self.convert(#""19.9""#, .decimalString(scale: 2)) == #""19.90""#)
        #expect(Self.convert(#""-0.50""#, .decimalString(scale: 2)) == #""-0.50""#)
        #expect(Self.convert(#""1E+3""#, .decimalString(scale: nil)) == #""1000""#)
        #expect(Self.convert(#""1.23E-4""#, .decimalString(scale: nil)) == #""0.000123""#)
        #expect(Self.convert(#""12345678901234567890.123456789""#, .decimalString(scale: nil))
            == #""12345678901234567890.123456789""#)
        #expect(Self.convert(#""1.234""#, .decimalString(scale: 2)) == "<invalidValue>")
        #expect(Self.convert("19.99", .decimalDouble(scale: 2)) == #""19.99""#)
        #expect(Self.convert("0.1", .decimalDouble(scale: 3)) == #""0.100""#)
    }

    @Test func integersBeyondTheSafeRangeBecomeStrings() {
        #expect(Self.convert("9007199254740991", .int64) == "9007199254740991")
        #expect(Self.convert("9007199254740993", .int64) == #""9007199254740993""#)
        #expect(Self.convert("-9007199254740992", .int64) == #""-9007199254740992""#)
        #expect(Self.convert("42", .integer) == "42")
        #expect(Self.convert("4.5", .integer) == "<wrongType>")
    }

    @Test func floatsAreShortestRoundTripAndNonFiniteAsStrings() {
        #expect(Self.convert("3.14159", .float) == "3.14159")
        #expect(Self.convert("1.0E-7", .float) == "1e-7")
        #expect(Self.convert("100.0", .float) == "100")
        #expect(Self.convert(#""NaN""#, .float) == #""NaN""#)
        #expect(Self.convert(#""-Infinity""#, .float) == #""-Infinity""#)
        #expect(Self.convert(#""1.5""#, .float) == "<wrongType>")
    }

    @Test func temporalValues() {
        #expect(Self.convert("1710498600500000", .timestamp(.micros)) == #""2024-03-15T10:30:00.500000""#)
        #expect(Self.convert("-1", .timestamp(.millis)) == #""1969-12-31T23:59:59.999000""#)
        #expect(Self.convert("-1", .timestamp(.nanos)) == #""1969-12-31T23:59:59.999999""#)
        #expect(Self.convert("19814", .date) == #""2024-04-01""#)
        #expect(Self.convert("63930123", .time(.millis)) == #""17:45:30.123000""#)
        #expect(Self.convert("86399999999", .time(.micros)) == #""23:59:59.999999""#)
        #expect(Self.convert(#""2024-03-15T09:30:00.123456Z""#, .timestamptz) == #""2024-03-15T09:30:00.123456Z""#)
        #expect(Self.convert(#""2024-03-15T10:30:00.5+01:00""#, .timestamptz) == #""2024-03-15T09:30:00.500000Z""#)
        #expect(Self.convert(#""2024-03-15T09:30:00Z""#, .timestamptz) == #""2024-03-15T09:30:00.000000Z""#)
        #expect(Self.convert(#""yesterday""#, .timestamptz) == "<wrongType>")
    }

    @Test func intervalsPrintAsPostgreSQLsISO8601Style() {
        #expect(Self.convert(#""P1Y2M3DT4H5M6.78S""#, .intervalString) == #""P1Y2M3DT4H5M6.78S""#)
        #expect(Self.convert(#""P0Y0M0DT0H0M0S""#, .intervalString) == #""PT0S""#)
        #expect(Self.convert(#""P0Y14M-3DT-1H0M-0.5S""#, .intervalString) == #""P1Y2M-3DT-1H-0.5S""#)
        #expect(Self.convert(#""PT36H""#, .intervalString) == #""PT36H""#)
        #expect(Self.convert("71368567500000", .intervalMicros) == #""P2Y3M4DT5H6M7.5S""#)
        #expect(Self.convert("2629800000000", .intervalMicros) == #""P1M""#)
        #expect(Self.convert("-86400000000", .intervalMicros) == #""P-1D""#)
        #expect(Self.convert("0", .intervalMicros) == #""PT0S""#)
    }

    @Test func textJSONBinaryAndArrays() {
        #expect(Self.convert(#""caf\u00e9\n\/""#, .text) == "\"café\\n/\"")
        #expect(Self.convert(#""A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11""#, .uuid)
            == #""a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11""#)
        #expect(Self.convert(#""{\"b\": 2.50, \"a\": [1, \"x\"]}""#, .json) == #"{"a":[1,"x"],"b":2.5}"#)
        #expect(Self.convert(#""not json""#, .json) == "<invalidValue>")
        #expect(Self.convert(#""deadbeef""#, .binary(.hex)) == #""3q2+7w==""#)
        #expect(Self.convert(#""3q2-7w""#, .binary(.base64URLSafe)) == #""3q2+7w==""#)
        #expect(Self.convert(#""3q2+7w==""#, .binary(.base64)) == #""3q2+7w==""#)
        #expect(Self.convert(#"["a",null,"b\"c"]"#, .array(.text)) == #"["a",null,"b\"c"]"#)
        #expect(Self.convert(#"[[1,2],[3,null]]"#, .array(.array(.integer))) == #"[[1,2],[3,null]]"#)
        #expect(Self.convert("null", .uuid) == "null")
    }

    @Test func toastPlaceholdersAreRefusedInEveryForm() {
        #expect(Self.convert(#""__debezium_unavailable_value""#, .text) == "<toastPlaceholder>")
        #expect(Self.convert(#""__debezium_unavailable_value""#, .json) == "<toastPlaceholder>")
        #expect(Self.convert(#""X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==""#, .binary(.base64)) == "<toastPlaceholder>")
        #expect(Self.convert(#"["__debezium_unavailable_value"]"#, .array(.text)) == "<toastPlaceholder>")
    }

    @Test func catalogTypeStringsParse() {
        #expect(PostgresType(formatType: "numeric(12,2)") == .numeric(scale: 2))
        #expect(PostgresType(formatType: "numeric") == .numeric(scale: nil))
        #expect(PostgresType(formatType: "timestamp(3) without time zone") == .timestamp(precision: 3))
        #expect(PostgresType(formatType: "timestamp without time zone") == .timestamp(precision: nil))
        #expect(PostgresType(formatType: "timestamp with time zone") == .timestamptz)
        #expect(PostgresType(formatType: "time(3) without time zone") == .time(precision: 3))
        #expect(PostgresType(formatType: "character varying(40)") == .text)
        #expect(PostgresType(formatType: "text[]", category: "A") == .array(.text))
        #expect(PostgresType(formatType: "integer[]", category: "A") == .array(.integer))
        #expect(PostgresType(formatType: "mood", category: "E") == .text)
        #expect(PostgresType(formatType: "inet", category: "I") == .other("inet"))
        #expect(PostgresType(formatType: "double precision") == .doublePrecision)
        #expect(PostgresType(formatType: "money") == .money)
    }

    @Test func catalogFileParses() throws {
        let json = #"{"public.items": {"primaryKey": ["id"], "columns": [{"name": "id", "type": "bigint", "category": "N"}, {"name": "at", "type": "timestamp(3) without time zone"}]}}"#
        let catalog = try ColumnCatalog(jsonBytes: Array(json.utf8))
        let table = try #require(catalog[TableName(schema: "public", table: "items")])
        #expect(table.primaryKey == ["id"])
        #expect(table.columns.map(\.type) == [.bigint, .timestamp(precision: 3)])
        #expect(throws: DeadLetterReason.self) { try ColumnCatalog(jsonBytes: Array(#"{"items": {}}"#.utf8)) }
    }
}
