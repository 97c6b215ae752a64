/// Decimal text for `numeric` and `money` values: from a two's-complement unscaled integer and a scale (Kafka
/// Connect's `Decimal`, Debezium's `VariableScaleDecimal`), or normalised from decimal text.
enum DecimalText {
    /// Whether `text` is already `-?(0|[1-9][0-9]*)(\.[0-9]+)?` with `scale` fraction digits (any count when
    /// `scale` is nil) and is not a negative zero: the common case, copied as it is.
    @inline(__always)
    static func isPlainCanonical<C: Collection>(_ text: C, scale: Int?) -> Bool where C.Element == UInt8 {
        var index = text.startIndex
        guard index != text.endIndex else { return false }
        var negative = false
        if text[index] == UInt8(ascii: "-") {
            negative = true
            index = text.index(after: index)
        }
        var integerDigits = 0
        var firstDigit: UInt8 = 0
        var fractionDigits = -1
        var nonZero = false
        while index != text.endIndex {
            let byte = text[index]
            if byte == UInt8(ascii: ".") {
                guard fractionDigits < 0, integerDigits > 0 else { return false }
                fractionDigits = 0
            } else if byte &- 48 < 10 {
                if fractionDigits >= 0 {
                    fractionDigits += 1
                } else {
                    if integerDigits == 0 { firstDigit = byte }
                    integerDigits += 1
                }
                if byte != UInt8(ascii: "0") { nonZero = true }
            } else {
                return false
            }
            index = text.index(after: index)
        }
        guard integerDigits > 0, fractionDigits != 0 else { return false }
        if integerDigits > 1 && firstDigit == UInt8(ascii: "0") { return false }
        if negative && !nonZero { return false }
        if let scale { return max(fractionDigits, 0) == scale }
        return true
    }

    /// Appends the decimal text of the big-endian two's-complement integer `unscaled` divided by 10^`scale`.
    /// With `scale` ≤ 0 the value is an integer (negative scale multiplies).
    static func append(unscaled: [UInt8], scale: Int, to out: inout some ByteSink) {
        var digits = magnitudeDigits(unscaled)
        let negative = (unscaled.first ?? 0) & 0x80 != 0
        if scale < 0 {
            if digits != [UInt8(ascii: "0")] {
                digits.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -scale))
            }
            appendPlain(negative: negative, digits: digits, scale: 0, to: &out)
        } else {
            appendPlain(negative: negative, digits: digits, scale: scale, to: &out)
        }
    }

    /// Writes `digits` (an integer, no sign) as a decimal with `scale` fraction digits.
    static func appendPlain(negative: Bool, digits: [UInt8], scale: Int, to out: inout some ByteSink) {
        let isZero = digits.allSatisfy { $0 == UInt8(ascii: "0") }
        if negative && !isZero { out.append(UInt8(ascii: "-")) }
        if scale == 0 {
            out.append(contentsOf: digits)
            return
        }
        if digits.count > scale {
            out.append(contentsOf: digits[0..<(digits.count - scale)])
            out.append(UInt8(ascii: "."))
            out.append(contentsOf: digits[(digits.count - scale)...])
        } else {
            out.append(UInt8(ascii: "0"))
            out.append(UInt8(ascii: "."))
            for _ in 0..<(scale - digits.count) { out.append(UInt8(ascii: "0")) }
            out.append(contentsOf: digits)
        }
    }

    /// Decimal digits of the magnitude of a big-endian two's-complement integer (no leading zeros; "0" for zero).
    static func magnitudeDigits(_ bytes: [UInt8]) -> [UInt8] {
        guard !bytes.isEmpty else { return [UInt8(ascii: "0")] }
        var magnitude = bytes
        if bytes[0] & 0x80 != 0 {
            // two's complement negate: invert and add one
            var carry: UInt16 = 1
            for index in stride(from: magnitude.count - 1, through: 0, by: -1) {
                let sum = UInt16(~magnitude[index]) + carry
                magnitude[index] = UInt8(truncatingIfNeeded: sum)
                carry = sum >> 8
            }
        }
        if magnitude.count <= 8 {
            var value: UInt64 = 0
            for byte in magnitude { value = value << 8 | UInt64(byte) }
            return Array(String(value).utf8)
        }
        // Repeated division by 10^9 over 32-bit limbs (most significant first).
        var limbs: [UInt32] = []
        let padded = [UInt8](repeating: 0, count: (4 - magnitude.count % 4) % 4) + magnitude
        var index = 0
        while index < padded.count {
            limbs.append(
                UInt32(padded[index]) << 24 | UInt32(padded[index + 1]) << 16 | UInt32(padded[index + 2]) << 8
                    | UInt32(padded[index + 3]))
            index += 4
        }
        var chunks: [UInt32] = []
        while limbs.contains(where: { $0 != 0 }) {
            var remainder: UInt64 = 0
            for limbIndex in 0..<limbs.count {
                let current = remainder << 32 | UInt64(limbs[limbIndex])
                limbs[limbIndex] = UInt32(current / 1_000_000_000)
                remainder = current % 1_000_000_000
            }
            chunks.append(UInt32(remainder))
        }
        guard let last = chunks.last else { return [UInt8(ascii: "0")] }
        var text = Array(String(last).utf8)
        for chunk in chunks.dropLast().reversed() {
            let part = Array(String(chunk).utf8)
            text.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: 9 - part.count))
            text.append(contentsOf: part)
        }
        return text
    }

    /// Normalises decimal text (`-12.5`, `1E+3`, `0.000123`) to plain notation, with exactly `scale` fraction
    /// digits when a scale is given (padding with zeros; extra non-zero digits are an error).
    /// Returns false when the text is not a decimal number.
    static func appendNormalised<C: Collection>(_ text: C, scale: Int?, to out: inout some ByteSink) -> Bool
    where C.Element == UInt8 {
        if isPlainCanonical(text, scale: scale) {
            out.append(contentsOf: text)
            return true
        }
        var negative = false
        var integerDigits: [UInt8] = []
        var fractionDigits: [UInt8] = []
        var exponent = 0
        var state = 0  // 0 integer, 1 fraction, 2 exponent
        var exponentText: [UInt8] = []
        var first = true
        for byte in text {
            defer { first = false }
            switch byte {
            case UInt8(ascii: "-") where first: negative = true
            case UInt8(ascii: "+") where first: break
            case 48...57:
                switch state {
                case 0: integerDigits.append(byte)
                case 1: fractionDigits.append(byte)
                default: exponentText.append(byte)
                }
            case UInt8(ascii: ".") where state == 0: state = 1
            case UInt8(ascii: "e"), UInt8(ascii: "E"):
                guard state < 2 else { return false }
                state = 2
            case UInt8(ascii: "-"), UInt8(ascii: "+"):
                guard state == 2, exponentText.isEmpty else { return false }
                exponentText.append(byte)
            default:
                return false
            }
        }
        guard !integerDigits.isEmpty || !fractionDigits.isEmpty else { return false }
        if state == 2 {
            guard let value = Int(String(decoding: exponentText, as: UTF8.self)), abs(value) < 100_000 else {
                return false
            }
            exponent = value
        }
        // digits × 10^(exponent - fraction count)
        var digits = integerDigits + fractionDigits
        var currentScale = fractionDigits.count - exponent
        if currentScale < 0 {
            digits.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: -currentScale))
            currentScale = 0
        }
        if let scale {
            if currentScale < scale {
                digits.append(contentsOf: repeatElement(UInt8(ascii: "0"), count: scale - currentScale))
            } else if currentScale > scale {
                let extra = currentScale - scale
                guard digits.suffix(extra).allSatisfy({ $0 == UInt8(ascii: "0") }) else { return false }
                digits.removeLast(extra)
            }
            currentScale = scale
        }
        // strip leading zeros of the integer part
        var leading = 0
        while leading < digits.count - currentScale - 1, digits[leading] == UInt8(ascii: "0") { leading += 1 }
        if leading > 0 { digits.removeFirst(leading) }
        if digits.isEmpty { digits = [UInt8(ascii: "0")] }
        appendPlain(negative: negative, digits: digits, scale: currentScale, to: &out)
        return true
    }

    /// Appends a double rounded to `scale` fraction digits (for `decimal.handling.mode=double`, which is lossy).
    static func append(double value: Double, scale: Int?, to out: inout some ByteSink) {
        if let scale {
            var text: [UInt8] = []
            JCS.appendNumber(value, to: &text)
            // Round through the shortest representation, then fix the fraction length.
            var shortest: [UInt8] = []
            _ = appendNormalisedRounding(text, scale: scale, to: &shortest)
            out.append(contentsOf: shortest)
        } else {
            var text: [UInt8] = []
            JCS.appendNumber(value, to: &text)
            _ = appendNormalised(text, scale: nil, to: &out)
        }
    }

    /// Like `appendNormalised`, rounding half away from zero when there are more fraction digits than `scale`.
    private static func appendNormalisedRounding(_ text: [UInt8], scale: Int, to out: inout some ByteSink) -> Bool {
        var plain: [UInt8] = []
        guard appendNormalised(text, scale: nil, to: &plain) else { return false }
        let negative = plain.first == UInt8(ascii: "-")
        var body = negative ? Array(plain.dropFirst()) : plain
        let point = body.firstIndex(of: UInt8(ascii: ".")) ?? body.count
        var fraction = point < body.count ? Array(body[(point + 1)...]) : []
        var integer = Array(body[0..<point])
        if fraction.count > scale {
            let roundUp = fraction[scale] >= UInt8(ascii: "5")
            fraction.removeLast(fraction.count - scale)
            if roundUp {
                var digits = integer + fraction
                var index = digits.count - 1
                while index >= 0 {
                    if digits[index] == UInt8(ascii: "9") {
                        digits[index] = UInt8(ascii: "0")
                        index -= 1
                    } else {
                        digits[index] += 1
                        break
                    }
                }
                if index < 0 { digits.insert(UInt8(ascii: "1"), at: 0) }
                integer = Array(digits[0..<(digits.count - scale)])
                fraction = Array(digits[(digits.count - scale)...])
            }
        }
        while fraction.count < scale { fraction.append(UInt8(ascii: "0")) }
        body = integer
        appendPlain(negative: negative, digits: body + fraction, scale: scale, to: &out)
        return true
    }
}
