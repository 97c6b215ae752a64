import Testing
@testable import CDCCore

@Suite struct CDCCoreTestsPlaceholder {
    @Test func moduleLoads() { #expect(Bool(true)) }
}
