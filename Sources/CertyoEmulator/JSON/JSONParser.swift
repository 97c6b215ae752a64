/// A strict RFC 8259 parser that also flags what I-JSON (RFC 7493) forbids.
///
/// - Syntax errors (including trailing text and nesting deeper than ``maximumDepth``) throw ``JSONSyntaxError``.
/// - Duplicate member names, lone UTF-16 surrogates in `\u` escapes, bytes that are not UTF-8 inside strings, and
///   numbers that overflow binary64 do not throw: the value that holds them parses as ``JSONValue/invalid(_:)``.
/// - Numbers are converted with correct rounding (Swift's `Double(_:)` on the literal text).
struct JSONParser {
    /// The deepest nesting of arrays and objects accepted.
    static let maximumDepth = 128

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private var depth = 0

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Parses one JSON text.
    /// - Parameter bytes: The whole text, as UTF-8.
    /// - Returns: The value, with I-JSON violations marked ``JSONValue/invalid(_:)``.
    /// - Throws: A ``JSONSyntaxError`` if the bytes are not one JSON text.
    static func parse(_ bytes: UnsafeRawBufferPointer) throws(JSONSyntaxError) -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        parser.skipWhitespace()
        let value = try parser.parseValue()
        parser.skipWhitespace()
        guard parser.index == bytes.count else {
            throw parser.error("unexpected text after the JSON value")
        }
        return value
    }

    /// Parses one JSON text held in a byte collection.
    static func parse(_ bytes: some Collection<UInt8>) throws(JSONSyntaxError) -> JSONValue {
        let result: Result<JSONValue, JSONSyntaxError>? = bytes.withContiguousStorageIfAvailable { buffer in
            Result { () throws(JSONSyntaxError) in try parse(UnsafeRawBufferPointer(buffer)) }
        }
        if let result { return try result.get() }
        let copy = Array(bytes)
        let copied: Result<JSONValue, JSONSyntaxError> = copy.withUnsafeBytes { buffer in
            Result { () throws(JSONSyntaxError) in try parse(buffer) }
        }
        return try copied.get()
    }

    // MARK: - Values

    private mutating func parseValue() throws(JSONSyntaxError) -> JSONValue {
        guard index < bytes.count else { throw error("unexpected end of the text, a value was expected") }
        switch bytes[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""):
            let parsed = try parseString()
            if let issue = parsed.issue { return .invalid(issue) }
            return .string(parsed.value)
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw error("unexpected character, a value was expected")
        }
    }

    private mutating func parseObject() throws(JSONSyntaxError) -> JSONValue {
        try enterContainer()
        index += 1  // {
        var members: [JSONMember] = []
        var issue: JSONIssue?
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
                throw error("a member name (a string) was expected")
            }
            let name = try parseString()
            if issue == nil, let nameIssue = name.issue { issue = nameIssue }
            skipWhitespace()
            guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else {
                throw error("':' was expected after a member name")
            }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            members.append(JSONMember(name: name.value, value: value))
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of the text inside an object") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "}") {
                index += 1
                break
            }
            throw error("',' or '}' was expected in an object")
        }
        depth -= 1
        if issue == nil, let duplicate = Self.firstDuplicateName(members) {
            issue = JSONIssue(kind: .duplicateName(duplicate))
        }
        if let issue { return .invalid(issue) }
        return .object(members)
    }

    private static func firstDuplicateName(_ members: [JSONMember]) -> String? {
        if members.count < 2 { return nil }
        if members.count <= 12 {
            for i in 1..<members.count {
                for j in 0..<i where members[i].name.isExactly(members[j].name) {
                    return members[i].name
                }
            }
            return nil
        }
        var seen = Set<ExactString>(minimumCapacity: members.count)
        for member in members where !seen.insert(ExactString(member.name)).inserted {
            return member.name
        }
        return nil
    }

    private mutating func parseArray() throws(JSONSyntaxError) -> JSONValue {
        try enterContainer()
        index += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            guard index < bytes.count else { throw error("unexpected end of the text inside an array") }
            if bytes[index] == UInt8(ascii: ",") {
                index += 1
                continue
            }
            if bytes[index] == UInt8(ascii: "]") {
                index += 1
                break
            }
            throw error("',' or ']' was expected in an array")
        }
        depth -= 1
        return .array(elements)
    }

    private mutating func enterContainer() throws(JSONSyntaxError) {
        depth += 1
        if depth > Self.maximumDepth {
            throw error("arrays and objects are nested deeper than \(Self.maximumDepth) levels")
        }
    }

    // MARK: - Literals and numbers

    private mutating func expectLiteral(_ literal: StaticString) throws(JSONSyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("unexpected end of the text in a literal") }
        let start = literal.utf8Start
        for offset in 0..<count where bytes[index + offset] != start[offset] {
            throw error("invalid literal, true, false or null was expected")
        }
        index += count
    }

    private mutating func parseNumber() throws(JSONSyntaxError) -> JSONValue {
        let start = index
        var isInteger = true
        if bytes[index] == UInt8(ascii: "-") { index += 1 }
        guard index < bytes.count, isDigit(bytes[index]) else { throw error("a digit was expected in a number") }
        if bytes[index] == UInt8(ascii: "0") {
            index += 1
            if index < bytes.count, isDigit(bytes[index]) { throw error("a number may not have leading zeros") }
        } else {
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error("a digit was expected after the decimal point")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
                index += 1
            }
            guard index < bytes.count, isDigit(bytes[index]) else {
                throw error("a digit was expected in the exponent")
            }
            while index < bytes.count, isDigit(bytes[index]) { index += 1 }
        }
        let negative = bytes[start] == UInt8(ascii: "-")
        let digitCount = index - start - (negative ? 1 : 0)
        // Fast path: integers of at most 15 digits are exact in binary64.
        if isInteger, digitCount <= 15 {
            var magnitude: Int64 = 0
            for position in (start + (negative ? 1 : 0))..<index {
                magnitude = magnitude * 10 + Int64(bytes[position] &- UInt8(ascii: "0"))
            }
            return .number(negative ? -Double(magnitude) : Double(magnitude))
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        guard let value = Double(text) else { throw error("the number \(text.prefix(32)) could not be read") }
        guard value.isFinite else { return .invalid(JSONIssue(kind: .nonFiniteNumber(text))) }
        return .number(value)
    }

    @inline(__always)
    private func isDigit(_ byte: UInt8) -> Bool {
        byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: - Strings

    /// Parses a string starting at its opening quote.
    private mutating func parseString() throws(JSONSyntaxError) -> (value: String, issue: JSONIssue?) {
        index += 1  // opening quote
        let start = index
        // Fast path: printable ASCII without escapes.
        while index < bytes.count {
            let byte = bytes[index]
            if byte == UInt8(ascii: "\"") {
                let value = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
                index += 1
                return (value, nil)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            index += 1
        }
        var utf8: [UInt8] = Array(UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        var issue: JSONIssue?
        while true {
            guard index < bytes.count else { throw error("unexpected end of the text inside a string") }
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                return (String(decoding: utf8, as: UTF8.self), issue)
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8, issue: &issue)
            case 0..<0x20:
                throw error("a control character must be escaped inside a string")
            case 0x20..<0x80:
                utf8.append(byte)
                index += 1
            default:
                let length = validUTF8SequenceLength(at: index)
                if length == 0 {
                    if issue == nil { issue = JSONIssue(kind: .invalidUTF8) }
                    utf8.append(contentsOf: [0xEF, 0xBF, 0xBD])  // U+FFFD, so that parsing can go on
                    index += 1
                } else {
                    utf8.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[index..<(index + length)]))
                    index += length
                }
            }
        }
    }

    private mutating func parseEscape(into utf8: inout [UInt8], issue: inout JSONIssue?) throws(JSONSyntaxError) {
        index += 1  // backslash
        guard index < bytes.count else { throw error("unexpected end of the text in an escape") }
        let escaped = bytes[index]
        index += 1
        switch escaped {
        case UInt8(ascii: "\""): utf8.append(0x22)
        case UInt8(ascii: "\\"): utf8.append(0x5C)
        case UInt8(ascii: "/"): utf8.append(0x2F)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try readHex4()
            var scalar: UInt32
            if (0xD800...0xDBFF).contains(unit) {
                // A high surrogate must be followed by an escaped low surrogate.
                if index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u")
                {
                    let saved = index
                    index += 2
                    let low = try readHex4()
                    if (0xDC00...0xDFFF).contains(low) {
                        scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    } else {
                        index = saved
                        if issue == nil { issue = JSONIssue(kind: .loneSurrogate(unit)) }
                        scalar = 0xFFFD
                    }
                } else {
                    if issue == nil { issue = JSONIssue(kind: .loneSurrogate(unit)) }
                    scalar = 0xFFFD
                }
            } else if (0xDC00...0xDFFF).contains(unit) {
                if issue == nil { issue = JSONIssue(kind: .loneSurrogate(unit)) }
                scalar = 0xFFFD
            } else {
                scalar = UInt32(unit)
            }
            Self.appendUTF8(scalar, to: &utf8)
        default:
            index -= 1
            throw error("invalid escape sequence in a string")
        }
    }

    private mutating func readHex4() throws(JSONSyntaxError) -> UInt16 {
        guard index + 4 <= bytes.count else { throw error("unexpected end of the text in a \\u escape") }
        var value: UInt16 = 0
        for _ in 0..<4 {
            let byte = bytes[index]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("a \\u escape needs four hexadecimal digits")
            }
            value = value << 4 | UInt16(digit)
            index += 1
        }
        return value
    }

    /// The length of the well-formed UTF-8 sequence at `position` (RFC 3629: no overlong forms, no surrogates,
    /// nothing above U+10FFFF), or 0 when the bytes there are not one.
    private func validUTF8SequenceLength(at position: Int) -> Int {
        let first = bytes[position]
        let remaining = bytes.count - position
        func continuation(_ offset: Int) -> UInt8? {
            guard offset < remaining else { return nil }
            let byte = bytes[position + offset]
            return byte & 0xC0 == 0x80 ? byte : nil
        }
        switch first {
        case 0xC2...0xDF:
            return continuation(1) == nil ? 0 : 2
        case 0xE0...0xEF:
            guard let second = continuation(1), continuation(2) != nil else { return 0 }
            if first == 0xE0, second < 0xA0 { return 0 }  // overlong
            if first == 0xED, second > 0x9F { return 0 }  // surrogate
            return 3
        case 0xF0...0xF4:
            guard let second = continuation(1), continuation(2) != nil, continuation(3) != nil else { return 0 }
            if first == 0xF0, second < 0x90 { return 0 }  // overlong
            if first == 0xF4, second > 0x8F { return 0 }  // above U+10FFFF
            return 4
        default:
            return 0
        }
    }

    private static func appendUTF8(_ scalar: UInt32, to utf8: inout [UInt8]) {
        switch scalar {
        case 0..<0x80:
            utf8.append(UInt8(scalar))
        case 0x80..<0x800:
            utf8.append(UInt8(0xC0 | (scalar >> 6)))
            utf8.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            utf8.append(UInt8(0xE0 | (scalar >> 12)))
            utf8.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            utf8.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            utf8.append(UInt8(0xF0 | (scalar >> 18)))
            utf8.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            utf8.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            utf8.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }

    // MARK: - Whitespace and errors

    @inline(__always)
    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func error(_ message: String) -> JSONSyntaxError {
        JSONSyntaxError(offset: index, message: message)
    }
}

/// The request body is not one JSON text.
struct JSONSyntaxError: Error, Sendable, CustomStringConvertible {
    /// The byte offset where reading stopped.
    var offset: Int
    var message: String

    var description: String { "\(message) (at byte \(offset))" }
}
