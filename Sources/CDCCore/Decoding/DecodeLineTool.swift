/// The logic of `certyo-cdc decode`: one Kafka record per input line in, one JSON outcome per line out.
///
/// Input lines are either the debezium-samples format
/// `{"seq":0,"topic":"…","key":"<text>|null","value":"<text>|null","headers":[{"key":"…","value":"…"}]}`
/// or kcat's `-J` format `{"topic":"…","partition":0,"offset":5,"key":"…","payload":"…","headers":["k","v",…]}`.
/// Output lines are objects with `outcome` = `record` (with `record` and `recordHash`), `skip`, `deadLetter`,
/// `needsCatalog` or `invalidInput`, plus the record's coordinates (`seq`, or `topic`/`partition`/`offset`).
public struct DecodeLineTool: Sendable {
    public var decoder: DebeziumDecoder
    /// Where a table's columns come from when a schemaless message needs them (the `--column-types` file, or
    /// later the database). Returning `nil` reports `needsCatalog`.
    public var catalogSource: (@Sendable (TableName) -> TableColumns?)?

    public init(decoder: DebeziumDecoder, catalogSource: (@Sendable (TableName) -> TableColumns?)? = nil) {
        self.decoder = decoder
        self.catalogSource = catalogSource
    }

    /// One input line's result: the JSON line to print, and warnings to print on stderr.
    public struct LineResult: Sendable {
        public var output: String
        public var outcome: DecodeOutcome?
        public var warnings: [DecoderWarning]
    }

    /// Decodes one input line. Never throws: unreadable lines give an `invalidInput` line.
    public mutating func process(line: [UInt8], lineNumber: Int) -> LineResult {
        var out: [UInt8] = [UInt8(ascii: "{")]
        let message: SourceMessage
        switch Self.parseLine(line) {
        case .failure(let problem):
            out.append(contentsOf: #""line":\#(lineNumber),"outcome":"invalidInput","message":"#.utf8)
            JCS.appendString(problem.message, to: &out)
            out.append(UInt8(ascii: "}"))
            return LineResult(output: String(decoding: out, as: UTF8.self), outcome: nil, warnings: [])
        case .success(let parsed):
            message = parsed.message
            if let seq = parsed.seq {
                out.append(contentsOf: #""seq":\#(seq),"#.utf8)
            } else {
                out.append(contentsOf: #""line":\#(lineNumber),"partition":\#(message.partition),"offset":\#(message.offset),"#.utf8)
            }
            out.append(contentsOf: #""topic":"#.utf8)
            JCS.appendString(message.topic, to: &out)
            out.append(UInt8(ascii: ","))
        }
        var outcome = decoder.decode(message)
        if case .needsCatalog(let table) = outcome, let columns = catalogSource?(table) {
            decoder.updateCatalog(columns, for: table)
            outcome = decoder.decode(message)
        }
        Self.appendOutcome(outcome, to: &out)
        out.append(UInt8(ascii: "}"))
        return LineResult(output: String(decoding: out, as: UTF8.self), outcome: outcome,
                          warnings: decoder.drainWarnings())
    }

    static func appendOutcome(_ outcome: DecodeOutcome, to out: inout [UInt8]) {
        switch outcome {
        case .record(let record):
            out.append(contentsOf: #""outcome":"record","recordHash":"#.utf8)
            JCS.appendString(record.recordHash, to: &out)
            out.append(contentsOf: #","record":{"database":"#.utf8)
            JCS.appendString(record.database, to: &out)
            out.append(contentsOf: #","collection":"#.utf8)
            JCS.appendString(record.collection, to: &out)
            out.append(contentsOf: #","recordId":"#.utf8)
            JCS.appendString(record.recordId, to: &out)
            out.append(contentsOf: #","recordPayload":"#.utf8)
            out.append(contentsOf: record.recordPayload)
            out.append(contentsOf: #","operationType":"#.utf8)
            JCS.appendString(record.operationType.rawValue, to: &out)
            if let timestamp = record.sourceTimestamp {
                out.append(contentsOf: #","sourceTimestamp":"#.utf8)
                JCS.appendString(timestamp, to: &out)
            }
            out.append(contentsOf: #","idempotencyKey":"#.utf8)
            JCS.appendString(record.idempotencyKey, to: &out)
            out.append(UInt8(ascii: "}"))
        case .skip(let reason):
            out.append(contentsOf: #""outcome":"skip","code":"#.utf8)
            JCS.appendString(reason.code, to: &out)
            out.append(contentsOf: #","message":"#.utf8)
            JCS.appendString(reason.message, to: &out)
        case .deadLetter(let reason):
            out.append(contentsOf: #""outcome":"deadLetter","code":"#.utf8)
            JCS.appendString(reason.code, to: &out)
            out.append(contentsOf: #","message":"#.utf8)
            JCS.appendString(reason.message, to: &out)
            if let fix = reason.fix {
                out.append(contentsOf: #","fix":"#.utf8)
                JCS.appendString(fix, to: &out)
            }
        case .needsCatalog(let table):
            out.append(contentsOf: #""outcome":"needsCatalog","table":"#.utf8)
            JCS.appendString(table.description, to: &out)
            out.append(contentsOf: #","message":"#.utf8)
            JCS.appendString(
                "schemaless message for \(table): its column types are unknown; pass --column-types FILE "
                    + "describing \(table), or use schemas.enable=true", to: &out)
        }
    }

    struct LineError: Error {
        var message: String
    }

    struct ParsedLine {
        var seq: Int64?
        var message: SourceMessage
    }

    /// Reads one line of either input format into a ``SourceMessage``.
    static func parseLine(_ line: [UInt8]) -> Result<ParsedLine, LineError> {
        let tape: JSONTape
        do {
            tape = try JSONTape(parsing: line)
        } catch {
            return .failure(LineError(message: "the line is not JSON: \(error)"))
        }
        guard tape[0].kind == .object else { return .failure(LineError(message: "the line is not a JSON object")) }
        guard let topicIndex = tape.member(0, "topic"), let topic = tape.string(topicIndex) else {
            return .failure(LineError(message: "the line has no \"topic\""))
        }
        func bytes(_ index: Int?) -> [UInt8]? {
            guard let index, tape[index].kind == .string else { return nil }
            return tape.string(index).map { Array($0.utf8) }
        }
        let key = bytes(tape.member(0, "key"))
        let value: [UInt8]?
        let valueIndex = tape.member(0, "value") ?? tape.member(0, "payload")
        guard let valueIndex else {
            return .failure(LineError(message: "the line has neither \"value\" (samples format) nor \"payload\" (kcat -J)"))
        }
        value = bytes(valueIndex)
        var headers: [SourceMessage.Header] = []
        if let headersIndex = tape.member(0, "headers"), tape[headersIndex].kind == .array {
            var pending: String? = nil
            tape.forEachElement(headersIndex) { element in
                if tape[element].kind == .object {
                    let name = tape.member(element, "key").flatMap { tape.string($0) } ?? ""
                    headers.append(.init(name: name, value: bytes(tape.member(element, "value"))))
                } else if let name = pending {
                    headers.append(.init(name: name, value: bytes(element)))
                    pending = nil
                } else {
                    pending = tape.string(element) ?? ""
                }
            }
        }
        let seq = tape.member(0, "seq").flatMap { tape.int64($0) }
        let partition = tape.member(0, "partition").flatMap { tape.int64($0) } ?? 0
        let offset = tape.member(0, "offset").flatMap { tape.int64($0) } ?? 0
        let message = SourceMessage(topic: topic, partition: Int32(truncatingIfNeeded: partition), offset: offset,
                                    key: key, value: value, headers: headers)
        return .success(ParsedLine(seq: seq, message: message))
    }
}
