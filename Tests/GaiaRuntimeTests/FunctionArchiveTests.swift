import Foundation
import GaiaRuntime
import Testing

/// Archives as GNU tar, Python's `tarfile` and Gaia's own writer make them: files come back byte
/// for byte, links inside the folder become copies, and anything else is refused with a reason.
struct FunctionArchiveTests {
    /// A scratch folder with `files` written into it.
    static func folder(_ files: [String: [UInt8]]) throws -> String {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("gaia-archive-\(UUID().uuidString)").path
        for (path, bytes) in files {
            let target = root + "/" + path
            try FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try Data(bytes).write(to: URL(fileURLWithPath: target))
        }
        return root
    }

    /// Runs a command in `directory`; its standard output.
    @discardableResult
    static func run(_ arguments: [String], in directory: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(arguments) failed")
        return Array(data)
    }

    static let binary = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
    static let longPath = "assets/" + String(repeating: "very-long-folder-name/", count: 6) + "weights.bin"

    @Test func gaiasOwnArchiveRoundTripsAndGNUTarReadsIt() throws {
        let files: [String: [UInt8]] = ["handler.py": Array("def handle(p, c):\n    return 1\n".utf8), "model/w.bin": Self.binary, Self.longPath: [0, 1, 2, 255]]
        let archive = try FunctionArchive.tarGz(files)
        #expect(try FunctionArchive.files(from: archive, maxBytes: 1 << 20) == files)
        #expect(try FunctionArchive.tarGz(files) == archive, "the same files give the same bytes")
        // GNU tar lists what Gaia wrote, the pax long name included.
        let scratch = try Self.folder(["function.tar.gz": archive])
        let listing = String(decoding: try Self.run(["tar", "tzf", "function.tar.gz"], in: scratch), as: UTF8.self)
        #expect(listing.split(separator: "\n").map(String.init).sorted() == files.keys.sorted(), "\(listing)")
    }

    @Test func gnuTarArchivesWithAFolderOnTopAndALinkInside() throws {
        guard (try? Self.run(["tar", "--version"], in: "/")) != nil else {
            try Test.cancel("no tar command on this machine")
        }
        let root = try Self.folder(["fn/handler.py": Array("x = 1\n".utf8), "fn/model/w.bin": Self.binary])
        try FileManager.default.createSymbolicLink(atPath: root + "/fn/alias.bin", withDestinationPath: "model/w.bin")
        try Self.run(["tar", "czf", "fn.tgz", "fn"], in: root)
        let files = try FunctionArchive.files(from: Array(try Data(contentsOf: URL(fileURLWithPath: root + "/fn.tgz"))), maxBytes: 1 << 20)
        // The one folder holding everything is taken off; the link is a copy of its file.
        #expect(files == ["handler.py": Array("x = 1\n".utf8), "model/w.bin": Self.binary, "alias.bin": Self.binary])
        // Uncompressed tar too.
        try Self.run(["tar", "cf", "fn.tar", "-C", "fn", "."], in: root)
        #expect(try FunctionArchive.files(from: Array(try Data(contentsOf: URL(fileURLWithPath: root + "/fn.tar"))), maxBytes: 1 << 20) == files)
    }

    @Test func pythonsTarfileWithPaxLongNames() throws {
        let root = try Self.folder(["handler.py": Array("x = 1\n".utf8), Self.longPath: Self.binary])
        try Self.run(["python3", "-c", "import tarfile\nwith tarfile.open('f.tgz', 'w:gz', format=tarfile.PAX_FORMAT) as t:\n    t.add('handler.py'); t.add('assets')"], in: root)
        let files = try FunctionArchive.files(from: Array(try Data(contentsOf: URL(fileURLWithPath: root + "/f.tgz"))), maxBytes: 1 << 20)
        #expect(files == ["handler.py": Array("x = 1\n".utf8), Self.longPath: Self.binary])
        try Self.run(["python3", "-c", "import tarfile\nwith tarfile.open('g.tgz', 'w:gz', format=tarfile.GNU_FORMAT) as t:\n    t.add('handler.py'); t.add('assets')"], in: root)
        #expect(try FunctionArchive.files(from: Array(try Data(contentsOf: URL(fileURLWithPath: root + "/g.tgz"))), maxBytes: 1 << 20) == files, "GNU long names")
    }

    /// An archive Python's tarfile writes from a script that adds `entries` (a link out, a FIFO…).
    func refusal(_ script: String, maxBytes: Int = 1 << 20) throws -> FunctionArchive.Refusal? {
        let root = try Self.folder(["handler.py": Array("x = 1\n".utf8)])
        try Self.run(["python3", "-c", "import io, os, tarfile\nt = tarfile.open('a.tgz', 'w:gz')\nt.add('handler.py')\n" + script + "\nt.close()"], in: root)
        do {
            _ = try FunctionArchive.files(from: Array(try Data(contentsOf: URL(fileURLWithPath: root + "/a.tgz"))), maxBytes: maxBytes)
            return nil
        } catch let refusal as FunctionArchive.Refusal {
            return refusal
        }
    }

    @Test func linksOutDevicesAndOversizeAreRefused() throws {
        let link = { (target: String) in "i = tarfile.TarInfo('model.bin'); i.type = tarfile.SYMTYPE; i.linkname = '\(target)'; t.addfile(i)" }
        for target in ["/etc/passwd", "../../secret", "a/../../x"] {
            let refused = try #require(try refusal(link(target)), "a link to \(target) is refused")
            #expect(refused.description.contains("out of the function's folder"), "\(refused)")
        }
        let dangling = try #require(try refusal(link("missing.bin")))
        #expect(dangling.description.contains("not a file in the archive"), "\(dangling)")
        let fifo = try #require(try refusal("i = tarfile.TarInfo('pipe'); i.type = tarfile.FIFOTYPE; t.addfile(i)"))
        #expect(fifo.description.contains("named pipe"), "\(fifo)")
        let big = try #require(try refusal("i = tarfile.TarInfo('big.bin'); i.size = 5000; t.addfile(i, io.BytesIO(bytes(5000)))", maxBytes: 4096))
        #expect(big.code == "too_large", "\(big)")
    }

    @Test func damagedArchivesAreRefused() throws {
        let archive = try FunctionArchive.tarGz(["handler.py": Array("x = 1\n".utf8), "w.bin": Self.binary])
        #expect(throws: FunctionArchive.Refusal.self) { try FunctionArchive.files(from: Array(archive.prefix(archive.count / 2)), maxBytes: 1 << 20) }
        #expect(throws: FunctionArchive.Refusal.self) { try FunctionArchive.files(from: Array("not an archive".utf8), maxBytes: 1 << 20) }
        #expect(throws: FunctionArchive.Refusal.self) { try FunctionArchive.files(from: [], maxBytes: 1 << 20) }
        // A flipped byte in a header fails its checksum; a gzip bomb stops at the limit.
        let root = try Self.folder(["handler.py": Array("x = 1\n".utf8)])
        let plain = try Self.run(["tar", "cf", "-", "handler.py"], in: root)
        var flipped = plain
        flipped[0] ^= 0x20
        #expect(throws: FunctionArchive.Refusal.self) { try FunctionArchive.files(from: flipped, maxBytes: 1 << 20) }
        let bomb = try Self.run(["sh", "-c", "head -c 50000000 /dev/zero | gzip"], in: root)
        let refused = #expect(throws: FunctionArchive.Refusal.self) { try FunctionArchive.files(from: bomb, maxBytes: 1 << 20) }
        #expect(refused?.code == "too_large", "\(String(describing: refused))")
    }
}
