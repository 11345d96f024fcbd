import ArgumentParser
import Foundation
import GaiaAnalyzer
import GaiaCore
import GaiaRuntime
import GaiaServer
import GaiaStore
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals

/// `gaia serve`: the embedded platform: HTTP API, worker pools, control loop, SQLite store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the Gaia platform on this machine (HTTP API on --host:--port).",
        discussion: "Stops gracefully on SIGINT or SIGTERM: stops accepting, finishes in-flight requests, stops every worker."
    )

    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "Port to listen on.") var port = 8080
    @Option(help: "Where the database, functions' files and instance logs live.") var dataDir = ".gaia"
    @Option(help: "The Python interpreter workers run (resolved once to the real executable).") var python = "python3"
    @Option(help: "Deploy every function folder of this directory at start (e.g. examples).") var examples: String?
    @Option(help: "Seconds between control-loop ticks (autoscaling).") var tick: Double = 1

    func run() async throws {
        var logger = Logger(label: "gaia")
        logger.logLevel = .info
        let interpreter: String
        do {
            interpreter = try PythonInterpreter.resolve(python)
        } catch {
            throw CLIError(description: "\(error)")
        }
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        let dataDirectory = URL(fileURLWithPath: dataDir).standardizedFileURL.path
        let database = try GaiaDatabase(path: dataDirectory + "/gaia.sqlite")
        let runtime = FunctionRuntime(
            configuration: RuntimeConfiguration(dataDirectory: dataDirectory, python: interpreter), database: database)
        try await runtime.restore()
        if let examples {
            for folder in try FileManager.default.contentsOfDirectory(atPath: examples).sorted() {
                let path = examples + "/" + folder
                guard let source = try? FunctionSource.load(path: path) else { continue }
                do {
                    let manifest = try await runtime.deploy(DeployRequest(name: folder, files: source.files))
                    logger.info("deployed example", metadata: ["function.name": "\(folder)", "mode": "\(manifest.mode)"])
                } catch {
                    logger.warning("example not deployed", metadata: ["function.name": "\(folder)", "error": "\(error)"])
                }
            }
        }
        let app = Application(
            router: GaiaServer.router(runtime: runtime),
            configuration: .init(address: .hostname(host, port: port), serverName: "gaia"),
            logger: logger)
        let group = ServiceGroup(
            services: [app, ControlLoop(runtime: runtime, interval: .milliseconds(Int(tick * 1000)))],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        logger.info("gaia serving", metadata: ["address": "http://\(host):\(port)", "data.dir": "\(dataDirectory)", "python": "\(interpreter)"])
        try await group.run()
    }
}
