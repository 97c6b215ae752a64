import Testing
@testable import CertyoEmulator

@Suite struct CertyoEmulatorTestsPlaceholder {
    @Test func moduleLoads() { #expect(Bool(true)) }
}
