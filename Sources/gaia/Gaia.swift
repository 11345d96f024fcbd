import ArgumentParser

/// The `gaia` command line.
@main
struct Gaia: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gaia",
        abstract: "Gaia: a serverless platform for AI inference that picks the hardware for your function.",
        subcommands: [AnalyzeCommand.self, ParseCommand.self]
    )
}
