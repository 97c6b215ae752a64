/// Keeps passwords out of every text this module produces.
enum Redaction {
    static let mask = "***"

    /// Replaces each secret, then anything shaped like `password=...` or `scheme://user:password@`, with `***`.
    static func scrub(_ text: String, secrets: [String]) -> String {
        var result = text
        for secret in secrets.filter({ !$0.isEmpty }).sorted(by: { $0.count > $1.count }) {
            result = result.replacing(secret, with: mask)
        }
        return scrubURLPasswords(scrubKeywordPasswords(result))
    }

    /// Best-effort password extraction from a DSN libpq could not parse, so its error message can be scrubbed.
    static func guessPasswords(inDSN dsn: String) -> [String] {
        var found: [String] = []
        if let userinfo = urlUserinfo(in: dsn), let colon = userinfo.firstIndex(of: ":") {
            let password = String(userinfo[userinfo.index(after: colon)...])
            found.append(password)
            found.append(password.percentDecoded())
        }
        var rest = Substring(dsn)
        while let range = keywordValueRange(in: rest) {
            found.append(String(rest[range]).trimmingQuotes())
            rest = rest[range.upperBound...]
        }
        return found.filter { !$0.isEmpty }
    }

    /// `password = value` / `sslpassword='va lue'` → `password=***`.
    private static func scrubKeywordPasswords(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let range = keywordValueRange(in: rest) {
            result += rest[..<range.lowerBound]
            result += mask
            rest = rest[range.upperBound...]
        }
        result += rest
        return result
    }

    /// The range of the value after the first `password` keyword followed by `=` in `text`.
    private static func keywordValueRange(in text: Substring) -> Range<Substring.Index>? {
        var searchStart = text.startIndex
        while let keyword = text[searchStart...].findText("password", ignoringCase: true) {
            var index = keyword.upperBound
            while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
            guard index < text.endIndex, text[index] == "=" else {
                searchStart = keyword.upperBound
                continue
            }
            index = text.index(after: index)
            while index < text.endIndex, text[index] == " " { index = text.index(after: index) }
            let valueStart = index
            if index < text.endIndex, text[index] == "'" {
                index = text.index(after: index)
                while index < text.endIndex, text[index] != "'" {
                    if text[index] == "\\" { index = text.index(after: index) }
                    if index < text.endIndex { index = text.index(after: index) }
                }
                if index < text.endIndex { index = text.index(after: index) }
            } else {
                while index < text.endIndex, !text[index].isWhitespace, text[index] != "&", text[index] != "\"" {
                    index = text.index(after: index)
                }
            }
            guard index > valueStart else {
                searchStart = keyword.upperBound
                continue
            }
            return valueStart..<index
        }
        return nil
    }

    /// `postgresql://user:secret@host` → `postgresql://user:***@host`.
    private static func scrubURLPasswords(_ text: String) -> String {
        var result = ""
        var rest = Substring(text)
        while let scheme = rest.findText("://") {
            result += rest[..<scheme.upperBound]
            rest = rest[scheme.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0.isWhitespace }) ?? rest.endIndex
            guard let at = rest[..<authorityEnd].lastIndex(of: "@"),
                let colon = rest[..<at].firstIndex(of: ":")
            else { continue }
            result += rest[...colon]
            result += mask
            rest = rest[at...]
        }
        result += rest
        return result
    }

    private static func urlUserinfo(in dsn: String) -> Substring? {
        guard let scheme = dsn.findText("://") else { return nil }
        let rest = dsn[scheme.upperBound...]
        let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
        guard let at = rest[..<authorityEnd].lastIndex(of: "@") else { return nil }
        return rest[..<at]
    }
}

// MARK: - String helpers

extension StringProtocol {
    /// Finds `needle`, optionally ignoring ASCII case.
    func findText(_ needle: String, ignoringCase: Bool = false) -> Range<Index>? {
        guard !needle.isEmpty else { return nil }
        let needleCharacters = Array(needle)
        var start = startIndex
        while start < endIndex {
            var index = start
            var matched = 0
            while matched < needleCharacters.count, index < endIndex,
                ignoringCase
                    ? self[index].lowercased() == needleCharacters[matched].lowercased()
                    : self[index] == needleCharacters[matched]
            {
                matched += 1
                index = self.index(after: index)
            }
            if matched == needleCharacters.count { return start..<index }
            start = self.index(after: start)
        }
        return nil
    }
}

extension String {
    /// Newlines, tabs and runs of spaces become one space; leading and trailing spaces go.
    func singleLine() -> String {
        split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }

    func trimmingSpaces() -> String {
        String(drop(while: { $0.isWhitespace }).reversed().drop(while: { $0.isWhitespace }).reversed())
    }

    func trimmingQuotes() -> String {
        guard count >= 2, first == "'", last == "'" else { return self }
        return String(dropFirst().dropLast())
    }

    /// RFC 3986 percent-encoding of everything but unreserved characters (how a password appears in a URL).
    func percentEncodedForURL() -> String {
        var encoded = ""
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
                UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                encoded += "%"
                encoded.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                encoded.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return encoded
    }

    /// Decodes `%XX` escapes; leaves malformed ones as they are.
    func percentDecoded() -> String {
        var bytes: [UInt8] = []
        let source = Array(utf8)
        var index = 0
        while index < source.count {
            if source[index] == UInt8(ascii: "%"), index + 2 < source.count,
                let high = hexValue(source[index + 1]), let low = hexValue(source[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

private func hexValue(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
    default: return nil
    }
}
