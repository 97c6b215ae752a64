import Testing
@testable import PostgresBridge

@Suite struct PostgresBridgeTestsPlaceholder {
    @Test func moduleLoads() { #expect(Bool(true)) }
}
