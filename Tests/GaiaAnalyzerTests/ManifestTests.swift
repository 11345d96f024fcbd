import Foundation
import GaiaAnalyzer
import GaiaCore
import Testing

struct ManifestTests {
    @Test func jsonRoundTripsWithSnakeCaseKeys() throws {
        let m = analyze("import torch\nx = torch.randn(64, 64).cuda()\n", override: .gpuPreferred)
        let data = try m.jsonData()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"detected_mode\" : \"gpu\""))
        #expect(text.contains("\"mode_override\" : \"gpu_preferred\""))
        #expect(text.contains("\"max_tensor_elements\""))
        #expect(try FunctionManifest.fromJSON(data) == m)
    }

    @Test func yamlRoundTrips() throws {
        let m = analyze("import time\ndef handle(p, c):\n    time.sleep(1)\n")
        let yaml = try m.yaml()
        #expect(yaml.contains("mode: cpu"))
        #expect(yaml.contains("entry_point: handler.py"))
        #expect(try FunctionManifest.fromYAML(yaml) == m)
    }

    /// Numbers in YAML as people write them (issue 34: `-o yaml` printed `9e-1`).
    @Test func yamlWritesNumbersWithoutYamsExponents() throws {
        let m = analyze("import numpy as np\ndef handle(p, c):\n    a = np.ones((512, 512))\n    return float((a @ a).sum())\n")
        let yaml = try m.yaml()
        #expect(yaml.contains("confidence: \(m.confidence)"), "\(yaml)")
        #expect(!yaml.contains("e-1") && !yaml.contains("e+"), "\(yaml)")
        #expect(try FunctionManifest.fromYAML(yaml) == m)
        #expect(YAMLNumbers.decimal("a: 9e-1\nb: '9e-1'\n- 2.5e+0\nc: 4.0e-6") == "a: 0.9\nb: '9e-1'\n- 2.5\nc: 4e-06")
    }
}

struct FunctionSourceTests {
    @Test func clearErrorsForBadPaths() throws {
        #expect(throws: AnalyzerError.self) { try FunctionSource.load(path: "/no/such/function") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        do {
            _ = try FunctionSource.load(path: dir.path)
            Issue.record("an empty folder must be refused")
        } catch let error as AnalyzerError {
            #expect(error.description.contains("has no .py files"))
        }
        let text = dir.appendingPathComponent("notes.txt")
        try Data("hi".utf8).write(to: text)
        #expect(throws: AnalyzerError.self) { try FunctionSource.load(path: text.path) }
    }

    @Test func aFolderFindsItsEntryPoint() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-fn-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("pkg"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("def helper(): pass\n".utf8).write(to: dir.appendingPathComponent("pkg/util.py"))
        try Data("from pkg.util import helper\ndef handle(p, c):\n    return p\n".utf8).write(to: dir.appendingPathComponent("service.py"))
        let source = try FunctionSource.load(path: dir.path)
        #expect(source.entryPoint == "service.py")
        #expect(source.files.keys.sorted() == ["pkg/util.py", "service.py"])
    }
}
