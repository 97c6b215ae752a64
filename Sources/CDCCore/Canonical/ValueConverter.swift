/// How one column's Debezium value becomes its canonical value (canonical-row.md, "The form").
///
/// Chosen once per table layout, from the Connect schema's logical type or from the catalog type plus the
/// connector-mode settings; then applied to every message without looking at names again.
enum ValueConverter: Sendable, Hashable {
    case boolean
    /// smallint, integer: a JSON integer as it is.
    case integer
    /// bigint: a JSON number within ±(2^53−1), a string of digits beyond.
    case int64
    /// real, double precision: shortest round-trip number; NaN and ±Infinity as strings.
    case float
    /// Connect `Decimal`: base64 two's-complement unscaled integer with a known scale.
    case decimalBytes(scale: Int)
    /// Debezium `VariableScaleDecimal`: `{"scale":s,"value":"<base64>"}`.
    case variableScaleDecimal
    /// `decimal.handling.mode=string`: decimal text, normalised to `scale` fraction digits when known.
    case decimalString(scale: Int?)
    /// `decimal.handling.mode=double`: a JSON number, written with `scale` fraction digits (lossy).
    case decimalDouble(scale: Int?)
    /// text and everything PostgreSQL prints as text: the string as it is.
    case text
    case uuid
    case timestamp(TimeUnit)
    case timestamptz
    case date
    case time(TimeUnit)
    /// `MicroDuration` µs (month = 30.4375 days), split back best effort (lossy).
    case intervalMicros
    /// ISO 8601 duration text, re-printed as PostgreSQL's iso_8601 style.
    case intervalString
    /// A string holding JSON: the value itself, canonical.
    case json
    case binary(BinaryEncoding)
    indirect case array(ValueConverter)
    /// A type certyo-cdc cannot canonicalise from this encoding.
    case unsupported(String)

    enum TimeUnit: Sendable, Hashable {
        case millis, micros, nanos

        func toMicros(_ value: Int64) -> Int64? {
            switch self {
            case .millis:
                let (result, overflow) = value.multipliedReportingOverflow(by: 1000)
                return overflow ? nil : result
            case .micros: return value
            case .nanos:
                // floor division, so times before 1970 stay correct
                let quotient = value / 1000
                return value % 1000 < 0 ? quotient - 1 : quotient
            }
        }
    }

    enum BinaryEncoding: Sendable, Hashable {
        case base64, base64URLSafe, hex
    }
}

/// Why a value could not be canonicalised.
struct ConversionFailure: Error, Sendable {
    enum Kind: Sendable { case toastPlaceholder, wrongType, invalidValue }
    var kind: Kind
    var detail: String
}

enum Canonicalizer {
    static let placeholder = Array("__debezium_unavailable_value".utf8)
    static let placeholderBase64 = Array("X19kZWJleml1bV91bmF2YWlsYWJsZV92YWx1ZQ==".utf8)
    static let maxSafeInteger: Int64 = 9_007_199_254_740_991
    /// Beyond PostgreSQL's numeric scale (16383): not a real value.
    static let maxDecimalScale: Int64 = 16_383
    /// PostgreSQL's ranges: dates 4713 BC to 5874897 AD, timestamps 4713 BC to 294276 AD (days from 1970).
    static let minDays: Int64 = -2_500_000
    static let maxDays: Int64 = 2_200_000_000
    static let maxTimestampDays: Int64 = 107_000_000
    /// PostgreSQL numerics have at most 131072 + 16383 digits (about 61 kB as a binary integer).
    static let maxUnscaledBytes = 65_536

    /// Buffers that a caller converting many values keeps between them, so that a value needing working memory
    /// (a JSON column: its unescaped text, its nodes, its members while sorting) allocates none.
    struct Scratch: Sendable {
        var text: [UInt8] = []
        var nodes: [JSONTape.Node] = []
        var members: [JCS.MemberSpan] = []
    }

    /// Appends the canonical value of `tape[index]` under `converter`.
    static func append(
        _ tape: JSONTape, _ index: Int, _ converter: ValueConverter, to out: inout some ByteSink
    ) -> ConversionFailure? {
        var scratch = Scratch()
        return append(tape, index, converter, to: &out, scratch: &scratch)
    }

    /// The same, with working memory in `scratch`.
    static func append(
        _ tape: JSONTape, _ index: Int, _ converter: ValueConverter, to out: inout some ByteSink, scratch: inout Scratch
    ) -> ConversionFailure? {
        let node = tape[index]
        if node.kind == .null {
            out.append(contentsOf: "null".utf8)
            return nil
        }
        if node.kind == .string, !node.flag {
            let length = node.end - node.start
            if length == 28, tape.rawEquals(node, placeholder) {
                return ConversionFailure(kind: .toastPlaceholder, detail: "")
            }
            if length == 40, tape.rawEquals(node, placeholderBase64) {
                switch converter {
                case .binary, .decimalBytes: return ConversionFailure(kind: .toastPlaceholder, detail: "")
                default: break
                }
            }
        }
        switch converter {
        case .boolean:
            guard node.kind == .true || node.kind == .false else { return wrongType(node, "a boolean") }
            tape.appendRaw(node, to: &out)

        case .integer:
            guard node.kind == .number, !node.flag else { return wrongType(node, "an integer") }
            appendInteger(tape, node, to: &out)

        case .int64:
            guard node.kind == .number, !node.flag else { return wrongType(node, "an integer") }
            let negative = tape.withRawBytes(node) { $0.first == UInt8(ascii: "-") }
            let digits = Int(node.end - node.start) - (negative ? 1 : 0)
            if digits < 16 {  // within ±(2^53−1)
                appendInteger(tape, node, to: &out)
            } else if let value = tape.int64(index), value.magnitude <= UInt64(maxSafeInteger) {
                out.append(contentsOf: String(value).utf8)
            } else {
                tape.appendRaw(node, quoted: true, to: &out)
            }

        case .float:
            switch node.kind {
            case .number:
                guard JCS.appendNumberText(tape.rawBytes(node), isInteger: !node.flag, to: &out) else {
                    return invalid("the number \(tape.string(index) ?? "") is out of range")
                }
            case .string:
                let text = tape.string(index) ?? ""
                guard text == "NaN" || text == "Infinity" || text == "-Infinity" else {
                    return wrongType(node, "a number")
                }
                JCS.appendString(text, to: &out)
            default:
                return wrongType(node, "a number")
            }

        case .decimalBytes(let scale):
            guard node.kind == .string else {
                return wrongType(node, "a base64 string (decimal.handling.mode=precise)")
            }
            guard let unscaled = Base64.decode(tape.rawBytes(node)), !node.flag, unscaled.count <= maxUnscaledBytes else {
                return invalid("\"\(tape.string(index) ?? "")\" is not the base64 of an unscaled integer "
                    + "(decimal.handling.mode=precise)")
            }
            out.append(UInt8(ascii: "\""))
            DecimalText.append(unscaled: unscaled, scale: scale, to: &out)
            out.append(UInt8(ascii: "\""))

        case .variableScaleDecimal:
            guard node.kind == .object, let scaleIndex = tape.member(index, "scale"),
                let scale = tape.int64(scaleIndex), let valueIndex = tape.member(index, "value"),
                tape[valueIndex].kind == .string, let unscaled = Base64.decode(tape.rawBytes(tape[valueIndex]))
            else {
                return wrongType(node, "{\"scale\":…,\"value\":\"<base64>\"} (VariableScaleDecimal)")
            }
            guard abs(scale) <= maxDecimalScale, unscaled.count <= maxUnscaledBytes else {
                return invalid("the scale \(scale) or the size of the value is out of range")
            }
            out.append(UInt8(ascii: "\""))
            DecimalText.append(unscaled: unscaled, scale: Int(scale), to: &out)
            out.append(UInt8(ascii: "\""))

        case .decimalString(let scale):
            guard node.kind == .string || node.kind == .number else {
                return wrongType(node, "decimal text (decimal.handling.mode=string)")
            }
            // The common case: already plain decimal text with the column's scale, copied as it is.
            if tape.withRawBytes(node, { DecimalText.isPlainCanonical($0, scale: scale) }) {
                tape.appendRaw(node, quoted: true, to: &out)
                return nil
            }
            let raw = tape.rawBytes(node)
            if raw.elementsEqual("NaN".utf8) {  // numeric NaN
                out.append(contentsOf: "\"NaN\"".utf8)
                return nil
            }
            out.append(UInt8(ascii: "\""))
            guard DecimalText.appendNormalised(raw, scale: scale, to: &out) else {
                return invalid("\"\(tape.string(index) ?? "")\" is not decimal text"
                    + (scale.map { " with at most \($0) fraction digits" } ?? ""))
            }
            out.append(UInt8(ascii: "\""))

        case .decimalDouble(let scale):
            guard node.kind == .number,
                let value = Double(Substring(decoding: tape.rawBytes(node), as: UTF8.self)), value.isFinite
            else { return wrongType(node, "a number (decimal.handling.mode=double)") }
            out.append(UInt8(ascii: "\""))
            DecimalText.append(double: value, scale: scale, to: &out)
            out.append(UInt8(ascii: "\""))

        case .text:
            guard node.kind == .string else { return wrongType(node, "a string") }
            guard JCS.appendStringNode(tape, index, to: &out) else { return invalid("the string has a lone surrogate") }

        case .uuid:
            guard node.kind == .string, !node.flag else { return wrongType(node, "a UUID string") }
            out.append(UInt8(ascii: "\""))
            if tape.withRawBytes(node, { $0.contains(where: { $0 &- 65 < 26 }) }) {
                for byte in tape.rawBytes(node) {
                    out.append((65...90).contains(byte) ? byte | 0x20 : byte)
                }
            } else {
                tape.appendRaw(node, to: &out)  // already lowercase, as Debezium writes UUIDs
            }
            out.append(UInt8(ascii: "\""))

        case .timestamp(let unit):
            guard let value = tape.int64(index), let micros = unit.toMicros(value) else {
                return wrongType(node, "an integer timestamp (\(unit) since the epoch)")
            }
            guard (minDays...maxTimestampDays).contains(micros / Temporal.microsPerDay) else {
                return invalid("the timestamp \(value) is out of range")
            }
            out.append(UInt8(ascii: "\""))
            Temporal.appendTimestamp(micros: micros, to: &out)
            out.append(UInt8(ascii: "\""))

        case .timestamptz:
            guard node.kind == .string, !node.flag, let micros = Temporal.parseZonedTimestamp(tape.rawBytes(node))
            else { return wrongType(node, "an ISO 8601 timestamp with a zone") }
            out.append(UInt8(ascii: "\""))
            Temporal.appendTimestamp(micros: micros, to: &out)
            out.append(UInt8(ascii: "Z"))
            out.append(UInt8(ascii: "\""))

        case .date:
            guard let days = tape.int64(index) else { return wrongType(node, "an integer date (days since 1970)") }
            guard (minDays...maxDays).contains(days) else { return invalid("the date \(days) is out of range") }
            out.append(UInt8(ascii: "\""))
            Temporal.appendDate(days: days, to: &out)
            out.append(UInt8(ascii: "\""))

        case .time(let unit):
            guard let value = tape.int64(index), let micros = unit.toMicros(value), micros >= 0,
                micros <= Temporal.microsPerDay
            else { return wrongType(node, "an integer time of day (\(unit))") }
            out.append(UInt8(ascii: "\""))
            Temporal.appendTime(micros: micros, to: &out)
            out.append(UInt8(ascii: "\""))

        case .intervalMicros:
            guard let micros = tape.int64(index) else {
                return wrongType(node, "an integer interval in microseconds (interval.handling.mode=numeric)")
            }
            out.append(UInt8(ascii: "\""))
            Temporal.appendISO8601(Temporal.interval(fromMicroDuration: micros), to: &out)
            out.append(UInt8(ascii: "\""))

        case .intervalString:
            guard node.kind == .string, !node.flag, let interval = Temporal.parseISODuration(tape.rawBytes(node))
            else { return wrongType(node, "an ISO 8601 duration (interval.handling.mode=string)") }
            out.append(UInt8(ascii: "\""))
            Temporal.appendISO8601(interval, to: &out)
            out.append(UInt8(ascii: "\""))

        case .json:
            guard node.kind == .string else { return wrongType(node, "a string holding JSON") }
            var text: [UInt8] = []
            swap(&text, &scratch.text)
            text.removeAll(keepingCapacity: true)
            let range = Int(node.start)..<Int(node.end)
            if node.flag {
                guard JSONTape.unescape(tape.bytes, range, into: &text) else { return invalid("invalid escape") }
            } else {
                text.append(contentsOf: tape.bytes[range])
            }
            let inner: JSONTape
            do {
                inner = try JSONTape(parsing: text, reusing: &scratch.nodes)
            } catch {
                return invalid("the string is not JSON")
            }
            let canonical = JCS.appendCanonical(inner, 0, to: &out, members: &scratch.members)
            scratch.nodes = inner.releaseNodes()
            scratch.text = text
            guard canonical else {
                return invalid("the JSON is not I-JSON (duplicate names, lone surrogates or huge numbers)")
            }

        case .binary(let encoding):
            guard node.kind == .string, !node.flag else { return wrongType(node, "an encoded binary string") }
            if encoding == .base64, tape.withRawBytes(node, { Base64.isCanonical($0) }) {
                tape.appendRaw(node, quoted: true, to: &out)
                return nil
            }
            let raw = tape.rawBytes(node)
            switch encoding {
            case .base64, .base64URLSafe:
                guard let bytes = Base64.decode(raw) else { return invalid("the value is not base64") }
                out.append(UInt8(ascii: "\""))
                Base64.encode(bytes, to: &out)
                out.append(UInt8(ascii: "\""))
            case .hex:
                guard let bytes = Base64.decodeHex(raw) else { return invalid("the value is not hexadecimal") }
                out.append(UInt8(ascii: "\""))
                Base64.encode(bytes, to: &out)
                out.append(UInt8(ascii: "\""))
            }

        case .array(let element):
            guard node.kind == .array else { return wrongType(node, "an array") }
            out.append(UInt8(ascii: "["))
            var failure: ConversionFailure? = nil
            var first = true
            tape.forEachElement(index) { item in
                guard failure == nil else { return }
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                failure = append(tape, item, element, to: &out, scratch: &scratch)
            }
            if let failure { return failure }
            out.append(UInt8(ascii: "]"))

        case .unsupported(let what):
            return ConversionFailure(kind: .invalidValue, detail: what)
        }
        return nil
    }

    /// An integer's JSON text is already canonical, except `-0` (valid JSON, never what a row holds), which is `0`.
    private static func appendInteger(_ tape: JSONTape, _ node: JSONTape.Node, to out: inout some ByteSink) {
        if node.end - node.start == 2,
            tape.withRawBytes(node, { $0[0] == UInt8(ascii: "-") && $0[1] == UInt8(ascii: "0") })
        {
            out.append(UInt8(ascii: "0"))
        } else {
            tape.appendRaw(node, to: &out)
        }
    }

    private static func wrongType(_ node: JSONTape.Node, _ expected: String) -> ConversionFailure {
        let found: String
        switch node.kind {
        case .null: found = "null"
        case .true, .false: found = "a boolean"
        case .number: found = node.flag ? "a fractional number" : "an integer"
        case .string: found = "a string"
        case .object: found = "an object"
        case .array: found = "an array"
        }
        return ConversionFailure(kind: .wrongType, detail: "expected \(expected), found \(found)")
    }

    private static func invalid(_ detail: String) -> ConversionFailure {
        ConversionFailure(kind: .invalidValue, detail: detail)
    }
}
