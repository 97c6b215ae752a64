import Testing
@testable import CertyoClient

@Suite struct CertyoClientTestsPlaceholder {
    @Test func moduleLoads() { #expect(Bool(true)) }
}
