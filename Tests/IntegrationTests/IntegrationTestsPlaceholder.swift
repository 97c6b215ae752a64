import Testing
@testable import CertyoCDC

@Suite struct IntegrationTestsPlaceholder {
    @Test func moduleLoads() { #expect(Bool(true)) }
}
