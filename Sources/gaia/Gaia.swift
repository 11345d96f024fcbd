import ArgumentParser

/// The `gaia` command line.
@main
struct Gaia: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gaia",
        abstract: "Gaia: a serverless platform for AI inference that picks the hardware for your function.",
        subcommands: [
            ServeCommand.self, DeployCommand.self, UpdateCommand.self, InvokeCommand.self, ListCommand.self, DescribeCommand.self,
            InvocationsCommand.self, LogsCommand.self, RemoveCommand.self, DevicesCommand.self, SimulateCommand.self, KubeCommand.self, TokenCommand.self, AnalyzeCommand.self, ParseCommand.self,
        ]
    )
}
