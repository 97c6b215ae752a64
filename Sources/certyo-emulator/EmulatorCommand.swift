import ArgumentParser

@main
struct EmulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certyo-emulator",
        abstract: "A faithful local Certyo API for tests and the demo."
    )
}
