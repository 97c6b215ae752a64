/// RFC 8785 (JSON Canonicalization Scheme) output written straight into a byte buffer.
///
/// Members are sorted by UTF-16 code units, numbers are written as ECMAScript's `Number.prototype.toString`
/// does, and strings are escaped minimally (only `"`, `\` and control characters).
enum JCS {
    /// Appends `"text"` with JCS's minimal escaping; `utf8` is already-unescaped UTF-8.
    static func appendString<C: Collection>(_ utf8: C, to out: inout some ByteSink) where C.Element == UInt8 {
        out.append(UInt8(ascii: "\""))
        for byte in utf8 {
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") {
                out.append(byte)
                continue
            }
            out.append(UInt8(ascii: "\\"))
            switch byte {
            case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
            case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
            case 0x08: out.append(UInt8(ascii: "b"))
            case 0x09: out.append(UInt8(ascii: "t"))
            case 0x0A: out.append(UInt8(ascii: "n"))
            case 0x0C: out.append(UInt8(ascii: "f"))
            case 0x0D: out.append(UInt8(ascii: "r"))
            default:
                out.append(contentsOf: [UInt8(ascii: "u"), 0x30, 0x30])
                out.append(hexDigit(byte >> 4))
                out.append(hexDigit(byte & 0xF))
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    static func appendString(_ text: String, to out: inout some ByteSink) {
        // Fast path: nothing to escape, copy the UTF-8 in one go.
        let copied: Bool? = text.utf8.withContiguousStorageIfAvailable { bytes in
            // Eight bytes a step (the tape's string scan looks for exactly these bytes).
            guard JSONTape.scanPlainBytes(bytes, from: 0, end: bytes.count) == bytes.count else { return false }
            out.append(UInt8(ascii: "\""))
            out.append(contentsOf: bytes)
            out.append(UInt8(ascii: "\""))
            return true
        }
        if copied != true { appendString(text.utf8, to: &out) }
    }

    @inline(__always) static func hexDigit(_ value: UInt8) -> UInt8 {
        value < 10 ? 48 + value : 87 + value
    }

    /// Appends a string node of `tape` canonically. Strings without escapes are copied as bytes.
    /// Returns false for an invalid escape or a lone surrogate (not I-JSON).
    static func appendStringNode(_ tape: JSONTape, _ index: Int, to out: inout some ByteSink) -> Bool {
        let node = tape[index]
        let range = Int(node.start)..<Int(node.end)
        if !node.flag {
            tape.appendRaw(node, quoted: true, to: &out)
            return true
        }
        var decoded: [UInt8] = []
        guard JSONTape.unescape(tape.bytes, range, into: &decoded) else { return false }
        appendString(decoded, to: &out)
        return true
    }

    /// Appends a JSON number given as text (any valid JSON number) in ECMAScript form, via binary64.
    /// Integers of up to 15 digits are copied as they are (they are exact in binary64).
    static func appendNumberText(_ bytes: ArraySlice<UInt8>, isInteger: Bool, to out: inout some ByteSink) -> Bool {
        if !isInteger, isCanonicalPlainDecimal(bytes) {
            out.append(contentsOf: bytes)
            return true
        }
        if isInteger {
            let digits = bytes.first == UInt8(ascii: "-") ? bytes.count - 1 : bytes.count
            if digits <= 15 {
                if bytes.count == 2, bytes.first == UInt8(ascii: "-"), bytes.last == UInt8(ascii: "0") {
                    out.append(UInt8(ascii: "0"))  // -0 → 0
                } else {
                    out.append(contentsOf: bytes)
                }
                return true
            }
        }
        guard let value = Double(Substring(decoding: bytes, as: UTF8.self)), value.isFinite else { return false }
        appendNumber(value, to: &out)
        return true
    }

    /// Whether JSON number text with a fraction (`2.5`, `-0.0125`) is already what ECMAScript prints for its
    /// binary64 value, so it can be copied without a round trip through `Double`.
    ///
    /// True for `-?(0|[1-9][0-9]*)\.[0-9]*[1-9]` with at most 15 significant digits (DBL_DIG: such a decimal is the
    /// shortest text of its double, so the shortest round-trip digits are its own) and, below 1, at most 5 zeros
    /// after the point (ECMAScript switches to exponent form at 1e-7). Everything else takes the `Double` path.
    static func isCanonicalPlainDecimal(_ bytes: ArraySlice<UInt8>) -> Bool {
        var index = bytes.startIndex
        let end = bytes.endIndex
        if index < end, bytes[index] == UInt8(ascii: "-") { index += 1 }
        let integerStart = index
        while index < end, bytes[index] &- 48 < 10 { index += 1 }
        let integerLength = index - integerStart
        guard integerLength >= 1, index < end, bytes[index] == UInt8(ascii: ".") else { return false }
        if integerLength > 1, bytes[integerStart] == UInt8(ascii: "0") { return false }
        index += 1
        let fractionStart = index
        while index < end, bytes[index] &- 48 < 10 { index += 1 }
        guard index == end, end > fractionStart, bytes[end - 1] != UInt8(ascii: "0") else { return false }
        if bytes[integerStart] == UInt8(ascii: "0") {
            var firstNonZero = fractionStart
            while bytes[firstNonZero] == UInt8(ascii: "0") { firstNonZero += 1 }  // ends: the last digit is not 0
            return firstNonZero - fractionStart <= 5 && end - firstNonZero <= 15
        }
        return integerLength + (end - fractionStart) <= 15
    }

    /// Appends a finite double as ECMAScript's `Number.prototype.toString` writes it.
    static func appendNumber(_ value: Double, to out: inout some ByteSink) {
        precondition(value.isFinite, "JCS numbers are finite")
        if value == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        if value < 0 { out.append(UInt8(ascii: "-")) }
        // Swift's description gives the shortest round-tripping digits; only its layout differs from ECMAScript.
        let text = Array(value.magnitude.description.utf8)
        var digits: [UInt8] = []
        digits.reserveCapacity(20)
        var pointPosition: Int? = nil
        var exponent = 0
        var index = 0
        while index < text.count {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                pointPosition = digits.count
            } else if byte == UInt8(ascii: "e") || byte == UInt8(ascii: "E") {
                exponent = Int(String(decoding: text[(index + 1)...], as: UTF8.self)) ?? 0
                break
            } else {
                digits.append(byte)
            }
            index += 1
        }
        // value = 0.d1d2...dk × 10^n
        var n = (pointPosition ?? digits.count) + exponent
        // strip leading zeros
        var leading = 0
        while leading < digits.count - 1, digits[leading] == UInt8(ascii: "0") {
            leading += 1
            n -= 1
        }
        if leading > 0 { digits.removeFirst(leading) }
        while digits.count > 1, digits.last == UInt8(ascii: "0") { digits.removeLast() }
        let k = digits.count
        if k <= n && n <= 21 {
            out.append(contentsOf: digits)
            for _ in 0..<(n - k) { out.append(UInt8(ascii: "0")) }
        } else if 0 < n && n <= 21 {
            out.append(contentsOf: digits[0..<n])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[n...])
        } else if -6 < n && n <= 0 {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            for _ in 0..<(-n) { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: digits)
        } else {
            out.append(digits[0])
            if k > 1 {
                out.append(UInt8(ascii: "."))
                out.append(contentsOf: digits[1...])
            }
            out.append(UInt8(ascii: "e"))
            let e = n - 1
            out.append(e < 0 ? UInt8(ascii: "-") : UInt8(ascii: "+"))
            out.append(contentsOf: String(e.magnitude).utf8)
        }
    }

    /// Re-emits any parsed JSON value canonically (sorted members, ECMAScript numbers, minimal escapes).
    /// Returns false when the value is not I-JSON (non-finite number, lone surrogate, duplicate member names).
    static func appendCanonical(_ tape: JSONTape, _ index: Int, to out: inout some ByteSink) -> Bool {
        var members: [MemberSpan] = []
        return appendCanonical(tape, index, to: &out, members: &members)
    }

    /// A member of an object being sorted: its name's byte span and its value's node.
    typealias MemberSpan = (start: Int32, end: Int32, value: Int32)

    /// The same, with `members` as the sorting space (a stack shared by nested objects, reused across calls by
    /// the decoder so that an object costs no allocation).
    static func appendCanonical(
        _ tape: JSONTape, _ index: Int, to out: inout some ByteSink, members: inout [MemberSpan]
    ) -> Bool {
        let node = tape[index]
        switch node.kind {
        case .null: out.append(contentsOf: "null".utf8)
        case .true: out.append(contentsOf: "true".utf8)
        case .false: out.append(contentsOf: "false".utf8)
        case .number:
            return appendNumberText(tape.rawBytes(node), isInteger: !node.flag, to: &out)
        case .string:
            return appendStringNode(tape, index, to: &out)
        case .array:
            out.append(UInt8(ascii: "["))
            var first = true
            var ok = true
            tape.forEachElement(index) { element in
                if !first { out.append(UInt8(ascii: ",")) }
                first = false
                if !appendCanonical(tape, element, to: &out, members: &members) { ok = false }
            }
            out.append(UInt8(ascii: "]"))
            return ok
        case .object:
            if let done = appendObjectByBytes(tape, index, to: &out, members: &members) { return done }
            var named: [(key: [UInt16], name: [UInt8], value: Int)] = []
            named.reserveCapacity(Int(node.count))
            var ok = true
            tape.forEachMember(index) { key, value in
                let keyNode = tape[key]
                var name: [UInt8] = []
                if keyNode.flag {
                    if !JSONTape.unescape(tape.bytes, Int(keyNode.start)..<Int(keyNode.end), into: &name) { ok = false }
                } else {
                    name.append(contentsOf: tape.rawBytes(keyNode))
                }
                named.append((utf16(name), name, value))
            }
            guard ok else { return false }
            named.sort { lessUTF16($0.key, $1.key) }
            out.append(UInt8(ascii: "{"))
            for (offset, member) in named.enumerated() {
                if offset > 0 {
                    if member.key == named[offset - 1].key { return false }  // duplicate name: not I-JSON
                    out.append(UInt8(ascii: ","))
                }
                appendString(member.name, to: &out)
                out.append(UInt8(ascii: ":"))
                if !appendCanonical(tape, member.value, to: &out, members: &members) { return false }
            }
            out.append(UInt8(ascii: "}"))
        }
        return true
    }

    /// The common case of ``appendCanonical(_:_:to:)`` for an object, without a buffer per member name: when no
    /// name has an escape or a character at or above U+E000, UTF-8 byte order is UTF-16 code unit order (they differ
    /// only between U+E000...U+FFFF and supplementary characters), so members are sorted by their raw bytes, which
    /// are also their canonical text. Returns `nil` (nothing written) when that does not hold.
    private static func appendObjectByBytes(
        _ tape: JSONTape, _ index: Int, to out: inout some ByteSink, members: inout [MemberSpan]
    ) -> Bool? {
        // This object's members are pushed on top of `members` and popped on return; nested objects push above
        // them, so `members[base..<top]` stays this object's while its values are written.
        let base = members.count
        defer { members.removeLast(members.count - base) }
        var plain = true
        tape.forEachMember(index) { key, value in
            let node = tape[key]
            if node.flag { plain = false }
            members.append((node.start, node.end, Int32(value)))
        }
        guard plain else { return nil }
        let top = members.count
        return tape.bytes.withUnsafeBufferPointer { bytes -> Bool? in
            for member in members[base..<top] {
                for offset in Int(member.start)..<Int(member.end) where bytes[offset] >= 0xEE { return nil }
            }
            func compare(_ a: MemberSpan, _ b: MemberSpan) -> Int {
                let lengthA = Int(a.end - a.start)
                let lengthB = Int(b.end - b.start)
                var offset = 0
                while offset < lengthA, offset < lengthB {
                    let byteA = bytes[Int(a.start) + offset]
                    let byteB = bytes[Int(b.start) + offset]
                    if byteA != byteB { return byteA < byteB ? -1 : 1 }
                    offset += 1
                }
                return lengthA - lengthB
            }
            members[base..<top].sort { compare($0, $1) < 0 }
            out.append(UInt8(ascii: "{"))
            for offset in base..<top {
                let member = members[offset]
                if offset > base {
                    if compare(members[offset - 1], member) == 0 { return false }  // duplicate name: not I-JSON
                    out.append(UInt8(ascii: ","))
                }
                // The name with its quotes, straight from the input (a name without escapes is its own JCS text).
                out.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[(Int(member.start) - 1)...Int(member.end)]))
                out.append(UInt8(ascii: ":"))
                if !appendCanonical(tape, Int(member.value), to: &out, members: &members) { return false }
            }
            out.append(UInt8(ascii: "}"))
            return true
        }
    }

    static func utf16(_ utf8: [UInt8]) -> [UInt16] {
        Array(String(decoding: utf8, as: UTF8.self).utf16)
    }

    static func lessUTF16(_ a: [UInt16], _ b: [UInt16]) -> Bool {
        a.lexicographicallyPrecedes(b)
    }
}

/// JSON text writing for other modules (request bodies), with the same minimal escaping as the canonical rows.
public enum JSONText {
    /// Appends `text` as a JSON string literal (RFC 8785 minimal escaping; everything else as raw UTF-8).
    public static func appendString(_ text: String, to buffer: inout [UInt8]) {
        JCS.appendString(text, to: &buffer)
    }

    /// Appends `"name":"value"`.
    public static func appendMember(_ name: String, string value: String, to buffer: inout [UInt8]) {
        JCS.appendString(name, to: &buffer)
        buffer.append(UInt8(ascii: ":"))
        JCS.appendString(value, to: &buffer)
    }
}
