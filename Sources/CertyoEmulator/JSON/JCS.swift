/// RFC 8785 (JSON Canonicalization Scheme) serialisation, written for the emulator alone.
///
/// - Object members are sorted by the UTF-16 code units of their names (not by Swift's `String` order).
/// - Numbers are written as ECMAScript's `Number::toString` writes binary64 values (``ecmaScriptString(_:)``).
/// - Strings use the minimal escaping of RFC 8785 §3.2.2.2; everything else is written as raw UTF-8.
enum JCS {
    /// The canonical UTF-8 bytes of a value.
    /// - Throws: The ``JSONIssue`` of the first part that has no canonical form.
    static func canonicalBytes(_ value: JSONValue) throws(JSONIssue) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        try write(value, into: &out)
        return out
    }

    static func write(_ value: JSONValue, into out: inout [UInt8]) throws(JSONIssue) {
        switch value {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let flag): out.append(contentsOf: (flag ? "true" : "false").utf8)
        case .number(let number): out.append(contentsOf: ecmaScriptString(number).utf8)
        case .string(let string): writeString(string, into: &out)
        case .invalid(let issue): throw issue
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            for (position, element) in elements.enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                try write(element, into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (position, member) in sortedByUTF16(members).enumerated() {
                if position > 0 { out.append(UInt8(ascii: ",")) }
                writeString(member.name, into: &out)
                out.append(UInt8(ascii: ":"))
                try write(member.value, into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    /// Members in the order of RFC 8785 §3.2.3: by the UTF-16 code units of the names.
    static func sortedByUTF16(_ members: [JSONMember]) -> [JSONMember] {
        if members.count < 2 { return members }
        let keyed = members.map { (units: Array($0.name.utf16), member: $0) }
        return keyed.sorted { $0.units.lexicographicallyPrecedes($1.units) }.map(\.member)
    }

    /// Writes a string with RFC 8785 escaping: `\b \t \n \f \r \" \\`, other controls as `\u00xx` (lower-case hex),
    /// everything else as raw UTF-8.
    static func writeString(_ string: String, into out: inout [UInt8]) {
        var string = string
        string.withUTF8 { utf8 in
            out.append(0x22)
            var clean = 0  // start of the run of bytes that need no escaping
            var position = 0
            let count = utf8.count
            while position < count {
                let byte = utf8[position]
                if byte >= 0x20 && byte != 0x22 && byte != 0x5C {
                    position += 1
                    continue
                }
                if clean < position { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean..<position])) }
                switch byte {
                case 0x22: out.append(0x5C); out.append(0x22)
                case 0x5C: out.append(0x5C); out.append(0x5C)
                case 0x08: out.append(0x5C); out.append(0x62)  // \b
                case 0x09: out.append(0x5C); out.append(0x74)  // \t
                case 0x0A: out.append(0x5C); out.append(0x6E)  // \n
                case 0x0C: out.append(0x5C); out.append(0x66)  // \f
                case 0x0D: out.append(0x5C); out.append(0x72)  // \r
                default:  // other controls: \u00xx, lower-case hex
                    out.append(contentsOf: [0x5C, 0x75, 0x30, 0x30])
                    out.append(hexDigits[Int(byte >> 4)])
                    out.append(hexDigits[Int(byte & 0x0F)])
                }
                position += 1
                clean = position
            }
            if clean < count { out.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean..<count])) }
            out.append(0x22)
        }
    }

    private static let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A finite binary64 value as ECMAScript's `Number::toString` writes it (ECMA-262 §6.1.6.1.20), which RFC 8785
    /// adopts: the shortest digits that round-trip, with no exponent for magnitudes in [1e-6, 1e21), `-0` as `0`.
    ///
    /// Swift's `description` already yields the shortest round-trip digits (closest to the value), but formats them
    /// its own way (`1e-07`, `100.0`, `1e+16`), so this reads the digits and exponent back out of it and re-formats
    /// them by the ECMAScript rules.
    static func ecmaScriptString(_ value: Double) -> String {
        precondition(value.isFinite, "non-finite numbers have no JSON form")
        if value == 0 { return "0" }
        let text = value.magnitude.description
        // Split "1.2345e+20" into mantissa "1.2345" and exponent 20.
        var mantissa = Substring(text)
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<e]
            exponent = Int(text[text.index(after: e)...])!
        }
        var digits: [UInt8] = []
        var fractionLength = 0
        var seenPoint = false
        for byte in mantissa.utf8 {
            if byte == UInt8(ascii: ".") {
                seenPoint = true
            } else {
                digits.append(byte)
                if seenPoint { fractionLength += 1 }
            }
        }
        // value = digits × 10^(exponent - fractionLength); normalise to k digits with no leading/trailing zeros.
        var scale = exponent - fractionLength
        while digits.count > 1, digits.last == UInt8(ascii: "0") {
            digits.removeLast()
            scale += 1
        }
        if let firstNonZero = digits.firstIndex(where: { $0 != UInt8(ascii: "0") }) {
            digits.removeFirst(firstNonZero)
        }
        let k = digits.count
        let n = k + scale  // value = 0.d1…dk × 10^n
        var out: [UInt8] = value < 0 ? [UInt8(ascii: "-")] : []
        if k <= n && n <= 21 {
            out.append(contentsOf: digits)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: n - k))
        } else if 0 < n && n <= 21 {
            out.append(contentsOf: digits[0..<n])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[n...])
        } else if -6 < n && n <= 0 {
            out.append(contentsOf: "0.".utf8)
            out.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -n))
            out.append(contentsOf: digits)
        } else {
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(UInt8(ascii: "e"))
            out.append(UInt8(ascii: n - 1 >= 0 ? "+" : "-"))
            out.append(contentsOf: String((n - 1).magnitude).utf8)
        }
        return String(decoding: out, as: UTF8.self)
    }
}
