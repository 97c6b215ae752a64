import Testing
@testable import KafkaBridge

@Suite struct KafkaBridgeTestsPlaceholder {
    @Test func moduleLoads() { #expect(Bool(true)) }
}
