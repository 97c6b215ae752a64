/// A parsed JSON document as a flat array of nodes that point into the original bytes ("tape").
///
/// Nothing is copied or allocated per value: strings stay as byte ranges of the input (with a flag when they
/// contain escapes), numbers stay as their text. Objects are followed by their members as key/value node pairs;
/// every node knows the index just past its subtree (`next`), so siblings are walked without recursion.
struct JSONTape: Sendable {
    enum Kind: UInt8, Sendable {
        case null, `false`, `true`, number, string, object, array
    }

    struct Node: Sendable {
        var kind: Kind
        /// For strings: contains a backslash escape. For numbers: has a fraction or an exponent.
        var flag: Bool
        /// Byte range of the value; for strings without the quotes.
        var start: Int32
        var end: Int32
        /// Index of the node after this one's subtree.
        var next: Int32
        /// Members (objects) or elements (arrays).
        var count: Int32
    }

    let bytes: [UInt8]
    private(set) var nodes: [Node] = []

    /// Why a document could not be parsed.
    struct ParseError: Error, Sendable, CustomStringConvertible {
        var offset: Int
        var message: String
        var description: String { "\(message) at byte \(offset)" }
    }

    /// Parses `bytes[range]` (the whole buffer by default) as exactly one JSON value.
    ///
    /// Object or array values of the top-level members named in `skipping` are not expanded: they become one
    /// node with their byte span and `flag` set (parse the span on its own when needed), which saves building
    /// nodes for the half of an envelope that an event does not use.
    init(parsing bytes: [UInt8], range: Range<Int>? = nil, skipping: [StaticString] = []) throws(ParseError) {
        self.bytes = bytes
        let range = range ?? 0..<bytes.count
        let capacity = JSONTape.nodeCapacity(range)
        var failure: ParseError? = nil
        let nodes = [Node](unsafeUninitializedCapacity: capacity) { storage, initialized in
            initialized = 0
            guard let base = storage.baseAddress else { return }
            do throws(ParseError) {
                initialized = try JSONTape.parse(bytes, range, skipping: skipping, into: base, capacity: capacity)
            } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        self.nodes = nodes
    }

    /// The same, writing the nodes into `storage` (taken out of it, and given back by ``releaseNodes()``) instead
    /// of a new array: a decoder parses every message into the same memory instead of allocating ~10x the
    /// message's size for each. `storage` only grows; its elements past the tape's end are stale and never read
    /// (every walk is bounded by a node's `next`).
    init(
        parsing bytes: [UInt8], range: Range<Int>? = nil, skipping: [StaticString] = [], reusing storage: inout [Node]
    ) throws(ParseError) {
        self.bytes = bytes
        let range = range ?? 0..<bytes.count
        let capacity = JSONTape.nodeCapacity(range)
        var nodes: [Node] = []
        swap(&nodes, &storage)
        if nodes.count < capacity {
            nodes.append(contentsOf: repeatElement(
                Node(kind: .null, flag: false, start: 0, end: 0, next: 0, count: 0), count: capacity - nodes.count))
        }
        // Unique here (taken out of `storage`), so this does not copy.
        try nodes.withUnsafeMutableBufferPointer { (buffer) throws(ParseError) -> Void in
            guard let base = buffer.baseAddress else { return }
            _ = try JSONTape.parse(bytes, range, skipping: skipping, into: base, capacity: capacity)
        }
        self.nodes = nodes
    }

    /// Hands the node memory back for the next parse (the tape must not be used afterwards).
    consuming func releaseNodes() -> [Node] { nodes }

    /// Every node but the first owns at least two bytes (a key its quotes; a value its separator and one byte),
    /// so `count / 2 + 2` nodes always fit.
    private static func nodeCapacity(_ range: Range<Int>) -> Int { range.count / 2 + 2 }

    /// Parses `bytes[range]` into `base` (room for `capacity` nodes); returns the node count.
    private static func parse(
        _ bytes: [UInt8], _ range: Range<Int>, skipping: [StaticString], into base: UnsafeMutablePointer<Node>,
        capacity: Int
    ) throws(ParseError) -> Int {
        try bytes.withUnsafeBufferPointer { (buffer) throws(ParseError) -> Int in
            var parser = Parser(buffer: buffer, position: range.lowerBound, end: range.upperBound,
                                skipping: skipping, nodes: base, capacity: capacity)
            parser.skipWhitespace()
            try parser.parseValue(depth: 0)
            parser.skipWhitespace()
            if parser.position != parser.end {
                throw ParseError(offset: parser.position, message: "unexpected bytes after the JSON value")
            }
            if let bad = JSONTape.firstInvalidUTF8(buffer, range) {
                throw ParseError(offset: bad, message: "invalid UTF-8")
            }
            return parser.nodeCount
        }
    }

    @inline(__always) subscript(_ index: Int) -> Node { nodes[index] }

    /// The member value of object `object` named `name` (compared with the raw, unescaped-free key bytes).
    func member(_ object: Int, _ name: StaticString) -> Int? {
        let node = nodes[object]
        guard node.kind == .object else { return nil }
        var index = object + 1
        let end = Int(node.next)
        while index < end {
            let key = nodes[index]
            if equals(key, name) { return index + 1 }
            index = Int(nodes[index + 1].next)
        }
        return nil
    }

    /// Calls `body(keyIndex, valueIndex)` for each member of an object, in order.
    @inline(__always)
    func forEachMember(_ object: Int, _ body: (Int, Int) throws -> Void) rethrows {
        var index = object + 1
        let end = Int(nodes[object].next)
        while index < end {
            try body(index, index + 1)
            index = Int(nodes[index + 1].next)
        }
    }

    /// Calls `body(elementIndex)` for each element of an array, in order.
    @inline(__always)
    func forEachElement(_ array: Int, _ body: (Int) throws -> Void) rethrows {
        var index = array + 1
        let end = Int(nodes[array].next)
        while index < end {
            try body(index)
            index = Int(nodes[index].next)
        }
    }

    /// Whether string node `node` (without escapes) equals `literal`.
    func equals(_ node: Node, _ literal: StaticString) -> Bool {
        guard node.kind == .string, !node.flag else { return false }
        let length = Int(node.end - node.start)
        guard length == literal.utf8CodeUnitCount else { return false }
        let start = Int(node.start)
        let pointer = literal.utf8Start
        return bytes.withUnsafeBufferPointer { buffer in
            guard start >= 0, start + length <= buffer.count, let base = buffer.baseAddress else { return false }
            for offset in 0..<length where base[start + offset] != pointer[offset] {
                return false
            }
            return true
        }
    }

    /// Whether the raw bytes of `node` equal `other`.
    func rawEquals(_ node: Node, _ other: [UInt8]) -> Bool {
        let length = Int(node.end - node.start)
        guard length == other.count else { return false }
        let start = Int(node.start)
        return bytes.withUnsafeBufferPointer { buffer in
            other.withUnsafeBufferPointer { other in
                guard start >= 0, start + length <= buffer.count, let base = buffer.baseAddress,
                    let otherBase = other.baseAddress
                else { return length == 0 }
                for offset in 0..<length where base[start + offset] != otherBase[offset] {
                    return false
                }
                return true
            }
        }
    }

    /// Appends the raw bytes of `node` (for strings: without the quotes), optionally between quotes. Copies from
    /// the buffer directly: no `ArraySlice`, so no retain of the input per value.
    @inline(__always)
    func appendRaw(_ node: Node, quoted: Bool = false, to out: inout some ByteSink) {
        if quoted { out.append(UInt8(ascii: "\"")) }
        bytes.withUnsafeBufferPointer { buffer in
            out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[Int(node.start)..<Int(node.end)]))
        }
        if quoted { out.append(UInt8(ascii: "\"")) }
    }

    /// Calls `body` with the raw bytes of `node` (do not let them escape).
    @inline(__always)
    func withRawBytes<R>(_ node: Node, _ body: (UnsafeBufferPointer<UInt8>) -> R) -> R {
        bytes.withUnsafeBufferPointer { buffer in
            body(UnsafeBufferPointer(rebasing: buffer[Int(node.start)..<Int(node.end)]))
        }
    }

    func rawBytes(_ node: Node) -> ArraySlice<UInt8> {
        bytes[Int(node.start)..<Int(node.end)]
    }

    /// The decoded text of a string node, or the raw text of a number/literal node.
    func string(_ index: Int) -> String? {
        let node = nodes[index]
        switch node.kind {
        case .string:
            if !node.flag { return String(decoding: rawBytes(node), as: UTF8.self) }
            var out: [UInt8] = []
            guard JSONTape.unescape(bytes, Int(node.start)..<Int(node.end), into: &out) else { return nil }
            return String(decoding: out, as: UTF8.self)
        case .number:
            return String(decoding: rawBytes(node), as: UTF8.self)
        default:
            return nil
        }
    }

    /// The value of an integer number node, when it fits in `Int64`.
    func int64(_ index: Int) -> Int64? {
        let node = nodes[index]
        guard node.kind == .number, !node.flag else { return nil }
        return JSONTape.parseInt64(bytes, Int(node.start)..<Int(node.end))
    }

    static func parseInt64(_ bytes: [UInt8], _ range: Range<Int>) -> Int64? {
        var index = range.lowerBound
        guard index < range.upperBound else { return nil }
        var negative = false
        if bytes[index] == UInt8(ascii: "-") {
            negative = true
            index += 1
        }
        guard index < range.upperBound else { return nil }
        var value: Int64 = 0
        if range.upperBound - index <= 18 {
            // At most 18 digits cannot overflow: no checked arithmetic (timestamps, LSNs, dates).
            while index < range.upperBound {
                let digit = bytes[index] &- 48
                guard digit < 10 else { return nil }
                value = value &* 10 &+ Int64(digit)
                index += 1
            }
            return negative ? 0 &- value : value
        }
        while index < range.upperBound {
            let digit = bytes[index] &- 48
            guard digit < 10 else { return nil }
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (sum, o2) = negative
                ? times.subtractingReportingOverflow(Int64(digit)) : times.addingReportingOverflow(Int64(digit))
            if o1 || o2 { return nil }
            value = sum
            index += 1
        }
        return value
    }

    /// Decodes the escapes of a JSON string body into UTF-8. Returns false on an invalid escape or a lone surrogate.
    static func unescape(_ bytes: [UInt8], _ range: Range<Int>, into out: inout some ByteSink) -> Bool {
        out.reserveCapacity(out.count + range.count)
        return bytes.withUnsafeBufferPointer { buffer in
            var index = range.lowerBound
            let end = range.upperBound
            while index < end {
                // Copy the run up to the next backslash in one append (a JSON column is mostly such runs).
                var runEnd = index
                while runEnd < end, buffer[runEnd] != UInt8(ascii: "\\") { runEnd += 1 }
                if runEnd > index {
                    out.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[index..<runEnd]))
                    index = runEnd
                    continue
                }
                guard index + 1 < end else { return false }
                let escape = buffer[index + 1]
                index += 2
                switch escape {
                case UInt8(ascii: "\""): out.append(UInt8(ascii: "\""))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "/"): out.append(UInt8(ascii: "/"))
                case UInt8(ascii: "b"): out.append(0x08)
                case UInt8(ascii: "f"): out.append(0x0C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "u"):
                    guard let high = hex4(buffer, index, end) else { return false }
                    index += 4
                    var scalar = UInt32(high)
                    if (0xD800...0xDBFF).contains(high) {
                        guard index + 6 <= end, buffer[index] == UInt8(ascii: "\\"),
                            buffer[index + 1] == UInt8(ascii: "u"),
                            let low = hex4(buffer, index + 2, end), (0xDC00...0xDFFF).contains(low)
                        else { return false }
                        index += 6
                        scalar = 0x10000 + ((UInt32(high) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(high) {
                        return false
                    }
                    appendUTF8(scalar, to: &out)
                default:
                    return false
                }
            }
            return true
        }
    }

    private static func hex4(_ bytes: UnsafeBufferPointer<UInt8>, _ index: Int, _ end: Int) -> UInt16? {
        guard index + 4 <= end else { return nil }
        var value: UInt16 = 0
        for offset in 0..<4 {
            let byte = bytes[index + offset]
            let digit: UInt8
            switch byte {
            case 48...57: digit = byte - 48
            case 65...70: digit = byte - 55
            case 97...102: digit = byte - 87
            default: return nil
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    static func appendUTF8(_ scalar: UInt32, to out: inout some ByteSink) {
        switch scalar {
        case 0..<0x80:
            out.append(UInt8(scalar))
        case 0x80..<0x800:
            out.append(UInt8(0xC0 | (scalar >> 6)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        case 0x800..<0x10000:
            out.append(UInt8(0xE0 | (scalar >> 12)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        default:
            out.append(UInt8(0xF0 | (scalar >> 18)))
            out.append(UInt8(0x80 | ((scalar >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((scalar >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (scalar & 0x3F)))
        }
    }
}

// MARK: - Parser

extension JSONTape {
    fileprivate struct Parser {
        let buffer: UnsafeBufferPointer<UInt8>
        var position: Int
        let end: Int
        var skipping: [StaticString] = []
        /// The tape being written (owned by the array under construction), `count` nodes so far.
        let nodes: UnsafeMutablePointer<Node>
        let capacity: Int
        var nodeCount = 0

        @inline(__always) mutating func append(_ node: Node) throws(ParseError) {
            guard nodeCount < capacity else { throw error("too many values") }  // cannot happen: see init
            (nodes + nodeCount).initialize(to: node)
            nodeCount += 1
        }

        static let maximumDepth = 512

        func isSkipped(_ key: Node) -> Bool {
            let length = Int(key.end - key.start)
            for name in skipping where name.utf8CodeUnitCount == length {
                var same = true
                for offset in 0..<length where buffer[Int(key.start) + offset] != name.utf8Start[offset] {
                    same = false
                    break
                }
                if same { return true }
            }
            return false
        }

        /// Skips an object or array (strings scanned eight bytes at a time); appends one node with its span.
        mutating func skipContainer() throws(ParseError) {
            let start = position
            let kind: Kind = buffer[position] == UInt8(ascii: "{") ? .object : .array
            var depth = 0
            while position < end {
                let byte = buffer[position]
                switch byte {
                case UInt8(ascii: "\""):
                    position += 1
                    while true {
                        position = JSONTape.scanPlainBytes(buffer, from: position, end: end)
                        guard position < end else { throw error("unterminated string") }
                        if buffer[position] == UInt8(ascii: "\"") { break }
                        if buffer[position] == UInt8(ascii: "\\") {
                            position += 2
                        } else {
                            throw error("control character in a string")
                        }
                    }
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    depth -= 1
                    if depth == 0 {
                        position += 1
                        let index = nodeCount
                        try append(Node(kind: kind, flag: true, start: Int32(start), end: Int32(position),
                                          next: Int32(index + 1), count: 0))
                        return
                    }
                default:
                    break
                }
                position += 1
            }
            throw error("unexpected end of JSON")
        }

        @inline(__always) mutating func skipWhitespace() {
            // Debezium writes no whitespace: one test in the common case.
            guard position < end, buffer[position] <= 0x20 else { return }
            while position < end {
                switch buffer[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }

        func error(_ message: String) -> ParseError { ParseError(offset: position, message: message) }

        /// A member or element value: strings and numbers (most values) parsed here, without a recursive call.
        @inline(__always) mutating func parseNestedValue(depth: Int) throws(ParseError) {
            guard position < end else { throw error("unexpected end of JSON") }
            let byte = buffer[position]
            if byte == UInt8(ascii: "\"") {
                try parseString()
            } else if byte &- UInt8(ascii: "0") < 10 || byte == UInt8(ascii: "-") {
                try parseNumber()
            } else {
                try parseValue(depth: depth)
            }
        }

        mutating func parseValue(depth: Int) throws(ParseError) {
            guard position < end else { throw error("unexpected end of JSON") }
            switch buffer[position] {
            case UInt8(ascii: "{"):
                guard depth < Parser.maximumDepth else { throw error("JSON nested too deeply") }
                let index = nodeCount
                try append(Node(kind: .object, flag: false, start: Int32(position), end: 0, next: 0, count: 0))
                position += 1
                skipWhitespace()
                var count: Int32 = 0
                if position < end, buffer[position] == UInt8(ascii: "}") {
                    position += 1
                } else {
                    while true {
                        guard position < end, buffer[position] == UInt8(ascii: "\"") else {
                            throw error("expected a member name")
                        }
                        try parseString()
                        skipWhitespace()
                        guard position < end, buffer[position] == UInt8(ascii: ":") else { throw error("expected ':'") }
                        position += 1
                        skipWhitespace()
                        if depth == 0, !skipping.isEmpty, position < end,
                            buffer[position] == UInt8(ascii: "{") || buffer[position] == UInt8(ascii: "["),
                            isSkipped(nodes[nodeCount - 1])
                        {
                            try skipContainer()
                        } else {
                            try parseNestedValue(depth: depth + 1)
                        }
                        count += 1
                        skipWhitespace()
                        guard position < end else { throw error("unexpected end of JSON in an object") }
                        if buffer[position] == UInt8(ascii: ",") {
                            position += 1
                            skipWhitespace()
                        } else if buffer[position] == UInt8(ascii: "}") {
                            position += 1
                            break
                        } else {
                            throw error("expected ',' or '}'")
                        }
                    }
                }
                nodes[index].end = Int32(position)
                nodes[index].next = Int32(nodeCount)
                nodes[index].count = count
            case UInt8(ascii: "["):
                guard depth < Parser.maximumDepth else { throw error("JSON nested too deeply") }
                let index = nodeCount
                try append(Node(kind: .array, flag: false, start: Int32(position), end: 0, next: 0, count: 0))
                position += 1
                skipWhitespace()
                var count: Int32 = 0
                if position < end, buffer[position] == UInt8(ascii: "]") {
                    position += 1
                } else {
                    while true {
                        try parseNestedValue(depth: depth + 1)
                        count += 1
                        skipWhitespace()
                        guard position < end else { throw error("unexpected end of JSON in an array") }
                        if buffer[position] == UInt8(ascii: ",") {
                            position += 1
                            skipWhitespace()
                        } else if buffer[position] == UInt8(ascii: "]") {
                            position += 1
                            break
                        } else {
                            throw error("expected ',' or ']'")
                        }
                    }
                }
                nodes[index].end = Int32(position)
                nodes[index].next = Int32(nodeCount)
                nodes[index].count = count
            case UInt8(ascii: "\""):
                try parseString()
            case UInt8(ascii: "t"):
                try literal("true", .true)
            case UInt8(ascii: "f"):
                try literal("false", .false)
            case UInt8(ascii: "n"):
                try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                try parseNumber()
            default:
                throw error("unexpected character")
            }
        }

        mutating func literal(_ text: StaticString, _ kind: Kind) throws(ParseError) {
            let length = text.utf8CodeUnitCount
            guard position + length <= end else { throw error("invalid literal") }
            for offset in 0..<length where buffer[position + offset] != text.utf8Start[offset] {
                throw error("invalid literal")
            }
            let index = nodeCount
            try append(
                Node(kind: kind, flag: false, start: Int32(position), end: Int32(position + length),
                     next: Int32(index + 1), count: 0))
            position += length
        }

        // parseString and parseNumber work on a local copy of `position` and store it back once: node stores go
        // through a pointer that the compiler cannot prove distinct from this struct, so `self.position` would
        // be reloaded after each of them.
        @inline(__always) mutating func parseString() throws(ParseError) {
            let buffer = self.buffer
            let end = self.end
            var at = position + 1  // after the opening quote
            let start = at
            var escaped = false
            while true {
                at = JSONTape.scanPlainBytes(buffer, from: at, end: end)
                guard at < end else {
                    position = at
                    throw error("unterminated string")
                }
                let byte = buffer[at]
                if byte == UInt8(ascii: "\"") { break }
                if byte == UInt8(ascii: "\\") {
                    escaped = true
                    at += 2
                    continue
                }
                position = at
                throw error("control character in a string")
            }
            position = at
            let index = nodeCount
            try append(
                Node(kind: .string, flag: escaped, start: Int32(start), end: Int32(at), next: Int32(index + 1),
                     count: 0))
            position = at + 1  // closing quote
        }

        @inline(__always) mutating func parseNumber() throws(ParseError) {
            let buffer = self.buffer
            let end = self.end
            let start = position
            var at = position
            var fractional = false
            defer { position = at }
            if buffer[at] == UInt8(ascii: "-") { at += 1 }
            guard at < end, buffer[at] &- 48 < 10 else { throw invalidNumber(at) }
            if buffer[at] == UInt8(ascii: "0") {
                at += 1
            } else {
                while at < end, buffer[at] &- 48 < 10 { at += 1 }
            }
            if at < end, buffer[at] == UInt8(ascii: ".") {
                fractional = true
                at += 1
                guard at < end, buffer[at] &- 48 < 10 else { throw invalidNumber(at) }
                while at < end, buffer[at] &- 48 < 10 { at += 1 }
            }
            if at < end, buffer[at] | 0x20 == UInt8(ascii: "e") {
                fractional = true
                at += 1
                if at < end, buffer[at] == UInt8(ascii: "+") || buffer[at] == UInt8(ascii: "-") {
                    at += 1
                }
                guard at < end, buffer[at] &- 48 < 10 else { throw invalidNumber(at) }
                while at < end, buffer[at] &- 48 < 10 { at += 1 }
            }
            let index = nodeCount
            guard index < capacity else { throw ParseError(offset: at, message: "too many values") }
            (nodes + index).initialize(to: Node(kind: .number, flag: fractional, start: Int32(start),
                                                end: Int32(at), next: Int32(index + 1), count: 0))
            nodeCount = index + 1
        }

        func invalidNumber(_ offset: Int) -> ParseError { ParseError(offset: offset, message: "invalid number") }
    }
}

// MARK: - Scanning

extension JSONTape {
    /// The offset of the first byte that is not well-formed UTF-8 (RFC 3629), or nil. ASCII runs are checked
    /// eight bytes at a time.
    static func firstInvalidUTF8(_ buffer: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Int? {
        guard let base = buffer.baseAddress else { return nil }
        let raw = UnsafeRawPointer(base)
        var index = range.lowerBound
        let end = range.upperBound
        while index < end {
            // ASCII runs: 32 bytes a step (four words OR-ed), then 8.
            while index + 32 <= end,
                (raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: index + 8, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: index + 16, as: UInt64.self)
                    | raw.loadUnaligned(fromByteOffset: index + 24, as: UInt64.self)) & 0x8080_8080_8080_8080 == 0
            {
                index += 32
            }
            while index + 8 <= end,
                raw.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
            {
                index += 8
            }
            guard index < end else { return nil }
            let lead = base[index]
            if lead < 0x80 {
                index += 1
                continue
            }
            let length: Int
            var low: UInt8 = 0x80
            var high: UInt8 = 0xBF
            switch lead {
            case 0xC2...0xDF: length = 2
            case 0xE0: length = 3; low = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: length = 3
            case 0xED: length = 3; high = 0x9F
            case 0xF0: length = 4; low = 0x90
            case 0xF1...0xF3: length = 4
            case 0xF4: length = 4; high = 0x8F
            default: return index
            }
            guard index + length <= end else { return index }
            let second = base[index + 1]
            guard second >= low && second <= high else { return index }
            for offset in 2..<max(length, 2) where base[index + offset] & 0xC0 != 0x80 {
                return index
            }
            index += length
        }
        return nil
    }

    /// The index of the first byte at or after `from` that is `"`, `\\` or a control character, eight bytes at a
    /// time (SWAR); `end` when there is none.
    @inline(__always)
    static func scanPlainBytes(_ buffer: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        var position = from
        guard let base = buffer.baseAddress else { return position }
        let raw = UnsafeRawPointer(base)
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while position + 8 <= end {
            let word = raw.loadUnaligned(fromByteOffset: position, as: UInt64.self)
            let quote = word ^ (ones &* 0x22)
            let backslash = word ^ (ones &* 0x5C)
            let hasQuote = (quote &- ones) & ~quote & highs
            let hasBackslash = (backslash &- ones) & ~backslash & highs
            let hasControl = (word &- ones &* 0x20) & ~word & highs
            let found = hasQuote | hasBackslash | hasControl
            if found != 0 {
                // The lowest flagged byte of each test is exact (a borrow only flags bytes above a true match), so
                // the lowest set bit of the union is the first `"`, `\\` or control byte (little-endian load).
                return position + (found.trailingZeroBitCount >> 3)
            }
            position += 8
        }
        while position < end {
            let byte = base[position]
            if byte == 0x22 || byte == 0x5C || byte < 0x20 { return position }
            position += 1
        }
        return position
    }
}

// MARK: - Skipping (no nodes)

extension JSONTape {
    /// The members of a top-level object as (name bytes range, value range), found without building nodes.
    ///
    /// Used to find the `schema` and `payload` halves of a schema-carrying message cheaply: the schema is then
    /// compared as bytes with the cached one instead of being parsed.
    static func topLevelMembers(_ bytes: [UInt8]) -> [(name: Range<Int>, value: Range<Int>)]? {
        bytes.withUnsafeBufferPointer { buffer -> [(name: Range<Int>, value: Range<Int>)]? in
            var skipper = Skipper(buffer: buffer, position: 0)
            skipper.whitespace()
            guard skipper.position < buffer.count, buffer[skipper.position] == UInt8(ascii: "{") else { return nil }
            skipper.position += 1
            var members: [(name: Range<Int>, value: Range<Int>)] = []
            skipper.whitespace()
            if skipper.position < buffer.count, buffer[skipper.position] == UInt8(ascii: "}") { return members }
            while true {
                guard skipper.position < buffer.count, buffer[skipper.position] == UInt8(ascii: "\"") else { return nil }
                let nameStart = skipper.position + 1
                guard skipper.skipString() else { return nil }
                let name = nameStart..<(skipper.position - 1)
                skipper.whitespace()
                guard skipper.position < buffer.count, buffer[skipper.position] == UInt8(ascii: ":") else { return nil }
                skipper.position += 1
                skipper.whitespace()
                let valueStart = skipper.position
                guard skipper.skipValue() else { return nil }
                members.append((name, valueStart..<skipper.position))
                skipper.whitespace()
                guard skipper.position < buffer.count else { return nil }
                if buffer[skipper.position] == UInt8(ascii: ",") {
                    skipper.position += 1
                    skipper.whitespace()
                } else if buffer[skipper.position] == UInt8(ascii: "}") {
                    return members
                } else {
                    return nil
                }
            }
        }
    }

    private struct Skipper {
        let buffer: UnsafeBufferPointer<UInt8>
        var position: Int

        mutating func whitespace() {
            while position < buffer.count {
                switch buffer[position] {
                case 0x20, 0x0A, 0x0D, 0x09: position += 1
                default: return
                }
            }
        }

        /// Skips a string starting at its opening quote; leaves `position` after the closing quote.
        mutating func skipString() -> Bool {
            position += 1
            while position < buffer.count {
                position = JSONTape.scanPlainBytes(buffer, from: position, end: buffer.count)
                guard position < buffer.count else { return false }
                let byte = buffer[position]
                if byte == UInt8(ascii: "\"") {
                    position += 1
                    return true
                }
                position += byte == UInt8(ascii: "\\") ? 2 : 1
            }
            return false
        }

        /// Skips one value (containers by depth counting; full validation happens when it is parsed).
        mutating func skipValue() -> Bool {
            guard position < buffer.count else { return false }
            switch buffer[position] {
            case UInt8(ascii: "\""):
                return skipString()
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                var depth = 0
                while position < buffer.count {
                    let byte = buffer[position]
                    switch byte {
                    case UInt8(ascii: "\""):
                        guard skipString() else { return false }
                        continue
                    case UInt8(ascii: "{"), UInt8(ascii: "["):
                        depth += 1
                    case UInt8(ascii: "}"), UInt8(ascii: "]"):
                        depth -= 1
                        if depth == 0 {
                            position += 1
                            return true
                        }
                    default:
                        break
                    }
                    position += 1
                }
                return false
            default:
                let start = position
                while position < buffer.count {
                    switch buffer[position] {
                    case UInt8(ascii: ","), UInt8(ascii: "}"), UInt8(ascii: "]"), 0x20, 0x0A, 0x0D, 0x09:
                        return position > start
                    default:
                        position += 1
                    }
                }
                return position > start
            }
        }
    }
}
