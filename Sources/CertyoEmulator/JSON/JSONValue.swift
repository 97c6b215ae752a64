#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A parsed JSON value, kept exactly as the text said it (member order and duplicate names included).
///
/// The emulator parses request bodies into this tree with its own strict parser (``JSONParser``) and hashes
/// `recordPayload` with its own RFC 8785 serializer (``JCS``); it deliberately shares no JSON code with the rest of
/// certyo-cdc, so that a canonicalisation bug there cannot hide behind an emulator that agrees with it.
///
/// A value that is valid JSON (RFC 8259) but not I-JSON (RFC 7493) parses as ``invalid(_:)``: the body stays
/// readable, and only the field that holds such a value is rejected (reason `not_canonicalizable`).
indirect enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// A binary64 number, correctly rounded from the text; never infinite or NaN.
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in text order; names are unique (compared by their exact UTF-8 bytes).
    case object([JSONMember])
    /// JSON that I-JSON forbids; the issue says why.
    case invalid(JSONIssue)

    /// The JSON type name used in error messages.
    var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .number: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        case .invalid: "non-I-JSON value"
        }
    }

    /// The first I-JSON issue anywhere inside this value, or `nil` when the whole value can be canonicalised.
    var firstIssue: JSONIssue? {
        switch self {
        case .null, .bool, .number, .string: return nil
        case .invalid(let issue): return issue
        case .array(let elements):
            for element in elements {
                if let issue = element.firstIssue { return issue }
            }
            return nil
        case .object(let members):
            for member in members {
                if let issue = member.value.firstIssue { return issue }
            }
            return nil
        }
    }

    /// The value of the first member called `name` (exact bytes), when this is an object.
    subscript(member name: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        for member in members where member.name.isExactly(name) {
            return member.value
        }
        return nil
    }
}

/// One member of a JSON object.
struct JSONMember: Sendable {
    var name: String
    var value: JSONValue
}

/// Why a well-formed JSON value is not I-JSON (RFC 7493), and so has no RFC 8785 canonical form.
struct JSONIssue: Error, Sendable, Equatable, CustomStringConvertible {
    enum Kind: Sendable, Equatable {
        case duplicateName(String)
        case loneSurrogate(UInt16)
        case invalidUTF8
        case nonFiniteNumber(String)
    }

    var kind: Kind

    var description: String {
        switch kind {
        case .duplicateName(let name): "an object repeats the member name \"\(name.prefix(64))\""
        case .loneSurrogate(let unit):
            "a string holds the lone surrogate \\u\(String(unit, radix: 16, uppercase: false))"
        case .invalidUTF8: "a string holds bytes that are not UTF-8"
        case .nonFiniteNumber(let text): "the number \(text.prefix(32)) is too large for binary64"
        }
    }
}

/// A string that compares and hashes by its exact UTF-8 bytes.
///
/// Swift's `String` equality follows Unicode canonical equivalence (`"é" == "e\u{301}"`), but JSON names, record ids
/// and idempotency keys are distinct whenever their code points differ, so every key the emulator stores is one of
/// these.
struct ExactString: Hashable, Sendable, Comparable, CustomStringConvertible {
    var value: String

    init(_ value: String) {
        var value = value
        value.makeContiguousUTF8()
        self.value = value
    }

    static func == (lhs: ExactString, rhs: ExactString) -> Bool {
        lhs.value.isExactly(rhs.value)
    }

    static func < (lhs: ExactString, rhs: ExactString) -> Bool {
        lhs.value.utf8.lexicographicallyPrecedes(rhs.value.utf8)
    }

    func hash(into hasher: inout Hasher) {
        let hashed: Void? = value.utf8.withContiguousStorageIfAvailable {
            hasher.combine(bytes: UnsafeRawBufferPointer($0))
        }
        if hashed == nil {
            for byte in value.utf8 { hasher.combine(byte) }
        }
        hasher.combine(value.utf8.count)
    }

    var description: String { value }
}

extension String {
    /// Equality of the exact UTF-8 bytes (Swift's `==` follows Unicode canonical equivalence instead).
    func isExactly(_ other: String) -> Bool {
        var lhs = self
        var rhs = other
        return lhs.withUTF8 { left in
            rhs.withUTF8 { right in
                left.count == right.count
                    && (left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0)
            }
        }
    }
}
