import ArgumentParser

@main
struct CertyoCDCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certyo-cdc",
        abstract: "Moves PostgreSQL row changes from Debezium/Kafka into Certyo, and proves them later.",
        subcommands: [
            RunCommand.self, DemoCommand.self, DecodeCommand.self, DoctorCommand.self, ProveCommand.self,
            ListenCommand.self, PollCommand.self, SetupCommand.self,
        ]
    )
}
