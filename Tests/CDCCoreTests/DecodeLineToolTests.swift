import Foundation
import Testing

@testable import CDCCore

/// `certyo-cdc decode`'s logic, run as a function over fixture lines.
@Suite struct DecodeLineToolTests {
    static func rawLines(_ variant: Fixtures.Variant) throws -> [String] {
        try String(contentsOf: Fixtures.directory.appendingPathComponent("\(variant.name).jsonl"), encoding: .utf8)
            .split(separator: "\n").map(String.init)
    }

    @Test func samplesFormatGivesOneOutcomeLinePerRecord() throws {
        let variant = Fixtures.variants[0]
        var tool = DecodeLineTool(decoder: try Fixtures.decoder(variant))
        var outcomes: [String: Int] = [:]
        for (index, line) in try Self.rawLines(variant).enumerated() {
            let result = tool.process(line: Array(line.utf8), lineNumber: index + 1)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
            #expect(object["seq"] as? Int == index)
            let outcome = try #require(object["outcome"] as? String)
            outcomes[outcome, default: 0] += 1
            if index == 3 {
                let record = try #require(object["record"] as? [String: Any])
                #expect(record["recordId"] as? String == "[1000,1]")
                let payload = try JSONSerialization.data(withJSONObject: record["recordPayload"]!, options: .sortedKeys)
                let expected = ExpectedEvents.orderLine(1000, 1, product: 1, quantity: 2, price: "19.99", note: "first line")
                #expect(String(decoding: payload, as: UTF8.self).replacingOccurrences(of: "\\/", with: "/") == expected)
                #expect((object["recordHash"] as? String)?.hasPrefix("sha256:") == true)
            }
            if index == 10 {
                #expect(object["code"] as? String == "toast_placeholder")
                #expect((object["fix"] as? String)?.contains("REPLICA IDENTITY FULL") == true)
            }
        }
        #expect(outcomes == ["record": 20, "skip": 5, "deadLetter": 1])
    }

    @Test func kcatFormatAndCatalogSource() throws {
        let variant = Fixtures.variants[1]  // schemaless
        let sample = try #require(try JSONSerialization.jsonObject(with: Data(try Self.rawLines(variant)[25].utf8)) as? [String: Any])
        let kcat: [String: Any] = [
            "topic": sample["topic"]!, "partition": 2, "offset": 42, "tstype": "create", "ts": 1, "broker": 0,
            "headers": ["__debezium.context.taskId", "0"], "key": sample["key"]!, "payload": sample["value"]!,
        ]
        let line = try JSONSerialization.data(withJSONObject: kcat)
        var configuration = DebeziumDecoder.Configuration()
        try configuration.applyConnectorProperties(try Fixtures.connectorProperties(variant))

        var withoutCatalog = DecodeLineTool(decoder: DebeziumDecoder(configuration: configuration))
        let asked = try #require(try JSONSerialization.jsonObject(
            with: Data(withoutCatalog.process(line: Array(line), lineNumber: 1).output.utf8)) as? [String: Any])
        #expect(asked["outcome"] as? String == "needsCatalog")
        #expect((asked["message"] as? String)?.contains("--column-types") == true)

        var tool = DecodeLineTool(decoder: DebeziumDecoder(configuration: configuration),
                                  catalogSource: { Fixtures.catalog[$0] })
        let result = tool.process(line: Array(line), lineNumber: 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String: Any])
        #expect(object["outcome"] as? String == "record")
        #expect(object["offset"] as? Int == 42)
        #expect(object["partition"] as? Int == 2)
        #expect(result.outcome?.payloadText
            == ExpectedEvents.orderLine(9999, 1, product: 1, quantity: 1, price: "0.01", note: "end-of-workload"))
    }

    @Test func unreadableLinesAreReportedNotFatal() throws {
        var tool = DecodeLineTool(decoder: DebeziumDecoder())
        for bad in ["not json", #"{"value":"x"}"#, #"{"topic":"t"}"#] {
            let output = tool.process(line: Array(bad.utf8), lineNumber: 7).output
            let object = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
            #expect(object["outcome"] as? String == "invalidInput")
            #expect(object["line"] as? Int == 7)
        }
    }
}
