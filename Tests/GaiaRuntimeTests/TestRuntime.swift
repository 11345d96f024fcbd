import Foundation
import GaiaStore
import Testing

@testable import GaiaRuntime

/// A runtime for a test: its data in a fresh temporary directory (`gaia-LABEL-…`), an in-memory
/// database unless one is given, workers run by `python` (default: the tests' python3), and its
/// configuration adjusted by `configure`.
func testRuntime(
    _ label: String, python: String? = nil, database: GaiaDatabase? = nil, _ configure: (inout RuntimeConfiguration) -> Void = { _ in }
) throws -> FunctionRuntime {
    let python = try python ?? #require(WorkerProcessTests.python, "python3 is required for runtime tests")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-\(label)-\(UUID().uuidString)").path
    var configuration = RuntimeConfiguration(dataDirectory: dir, python: python)
    configure(&configuration)
    return FunctionRuntime(configuration: configuration, database: try database ?? GaiaDatabase.inMemory())
}
