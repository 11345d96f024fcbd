import CompressNIO
import NIOCore

/// A function's folder as a tar archive, gzip-compressed or not: how folders with binary files
/// (model weights, data) deploy.
///
/// No Swift package in reach reads or writes tar, so this is the format's small core, per POSIX
/// `ustar` with the pax (`x`) and GNU (`L`, `K`) long-name records that GNU tar, bsdtar and
/// Python's `tarfile` write; gzip is zlib's, through CompressNIO. Reading trusts nothing: sizes are
/// bounded before anything is allocated, headers' checksums are checked, only regular files,
/// folders and links are taken, and a link becomes a copy of the file it names, which must be in
/// the archive (a link out of the folder is refused). Paths are then checked like any upload's.
public enum FunctionArchive {
    /// Why an archive was refused.
    public struct Refusal: Error, CustomStringConvertible, Sendable {
        /// `too_large` when a limit was passed, `invalid_archive` otherwise.
        public var code: String
        public var description: String
        init(_ code: String, _ description: String) {
            self.code = code
            self.description = description
        }
        init(_ description: String) { self.init("invalid_archive", description) }
    }

    /// The files of a tar archive (gzip-compressed or not) by relative path, at most `maxBytes` in
    /// all. A leading `./` is dropped, and so is one top folder that holds everything when the
    /// entry point is not at the top (`tar czf f.tgz myfunction/`). macOS's `._*` companions go.
    public static func files(from archive: [UInt8], maxBytes: Int, maxFiles: Int = 1000) throws -> [String: [UInt8]] {
        let tar: [UInt8]
        if archive.starts(with: [0x1F, 0x8B]) {
            // Headers and padding add at most 1,024 bytes per file beyond the files' own bytes.
            let limit = maxBytes + 1024 * (maxFiles + 2)
            do {
                var buffer = ByteBuffer(bytes: archive)
                let unpacked = try buffer.decompress(with: .gzip(), maxSize: limit)
                tar = Array(unpacked.readableBytesView)
            } catch let error as CompressNIOError where error == .bufferOverflow {
                throw Refusal("too_large", "the archive unpacks to more than the upload limit of \(maxBytes) bytes")
            } catch {
                throw Refusal("the archive is not valid gzip (\(error)); send a .tar.gz or .tar of the function's folder")
            }
        } else {
            tar = archive
        }
        return try read(tar, maxBytes: maxBytes, maxFiles: maxFiles)
    }

    /// The entries of an uncompressed tar.
    static func read(_ tar: [UInt8], maxBytes: Int, maxFiles: Int) throws -> [String: [UInt8]] {
        var files: [String: [UInt8]] = [:]
        var links: [(path: String, target: String)] = []
        var total = 0
        var offset = 0
        var longName: String?
        var longLink: String?
        var pax: [String: String] = [:]
        guard tar.count >= 512, !tar[..<512].allSatisfy({ $0 == 0 }) else {
            throw Refusal("the archive is empty or not a tar archive; send a .tar.gz or .tar of the function's folder")
        }
        while offset + 512 <= tar.count {
            let header = tar[offset..<offset + 512]
            if header.allSatisfy({ $0 == 0 }) { break }  // the end-of-archive blocks
            try checkSum(header)
            let size = try octal(header, 124, 12, "size")
            let type = header[header.startIndex + 156]
            let dataStart = offset + 512
            guard size <= tar.count - dataStart else { throw Refusal("the archive ends inside an entry; it is cut short") }
            let data = tar[dataStart..<dataStart + size]
            offset = dataStart + (size + 511) / 512 * 512
            switch type {
            case UInt8(ascii: "x"):  // pax attributes of the next entry
                pax = try paxRecords(data)
                continue
            case UInt8(ascii: "g"):  // pax attributes of the whole archive: nothing Gaia uses
                continue
            case UInt8(ascii: "L"):
                longName = text(data)
                continue
            case UInt8(ascii: "K"):
                longLink = text(data)
                continue
            default: break
            }
            var name = pax["path"] ?? longName ?? ustarName(header)
            let linkName = pax["linkpath"] ?? longLink ?? text(header[header.startIndex + 157..<header.startIndex + 257])
            pax = [:]
            longName = nil
            longLink = nil
            while name.hasPrefix("./") { name.removeFirst(2) }
            let isFolder = type == UInt8(ascii: "5") || name.hasSuffix("/")
            while name.hasSuffix("/") { name.removeLast() }
            if name.isEmpty || name == "." || isFolder { continue }
            if name.split(separator: "/").last?.hasPrefix("._") == true { continue }  // macOS metadata
            switch type {
            case 0, UInt8(ascii: "0"), UInt8(ascii: "7"):
                total += size
                guard total <= maxBytes else { throw Refusal("too_large", "the archive's files are over the upload limit of \(maxBytes) bytes") }
                files[name] = Array(data)
            case UInt8(ascii: "1"):  // a hard link names another entry by its path in the archive
                var target = linkName
                while target.hasPrefix("./") { target.removeFirst(2) }
                links.append((name, target))
            case UInt8(ascii: "2"):
                guard let target = resolve(linkName, from: name) else {
                    throw Refusal("'\(name.prefix(200))' links to '\(linkName.prefix(200))', out of the function's folder; only links inside it are taken")
                }
                links.append((name, target))
            default:
                throw Refusal("'\(name.prefix(200))' is a \(kind(type)); a function's archive holds files, folders and links only")
            }
            guard files.count + links.count <= maxFiles else {
                throw Refusal("the archive holds over \(maxFiles) files; the limit is \(maxFiles)")
            }
        }
        // A link is a copy of the file it names (links to links followed, a few deep).
        for _ in 0..<8 where !links.isEmpty {
            links = links.filter { link in
                guard let bytes = files[link.target] else { return true }
                files[link.path] = bytes
                total += bytes.count
                return false
            }
        }
        guard total <= maxBytes else { throw Refusal("too_large", "the archive's files (links copied) are over the upload limit of \(maxBytes) bytes") }
        if let link = links.first {
            throw Refusal("'\(link.path.prefix(200))' links to '\(link.target.prefix(200))', which is not a file in the archive")
        }
        return stripTopFolder(files)
    }

    /// The archive of `files` (sorted by path, no owners, time 0: the same files give the same bytes), gzip-compressed.
    public static func tarGz(_ files: [String: [UInt8]]) throws -> [UInt8] {
        var tar: [UInt8] = []
        for path in files.keys.sorted() {
            let bytes = files[path]!
            let name = Array(path.utf8)
            if name.count > 100 {  // pax's path record carries a long name
                var record = " path=\(path)\n"
                var length = record.utf8.count
                while "\(length)".utf8.count + record.utf8.count != length { length = "\(length)".utf8.count + record.utf8.count }
                record = "\(length)" + record
                tar += header(name: Array("PaxHeader".utf8), size: record.utf8.count, type: UInt8(ascii: "x"))
                tar += pad(Array(record.utf8))
            }
            tar += header(name: Array(name.prefix(100)), size: bytes.count, type: UInt8(ascii: "0"))
            tar += pad(bytes)
        }
        tar += [UInt8](repeating: 0, count: 1024)
        var buffer = ByteBuffer(bytes: tar)
        return Array(try buffer.compress(with: .gzip()).readableBytesView)
    }

    // MARK: Format

    private static func header(name: [UInt8], size: Int, type: UInt8) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ bytes: [UInt8], at offset: Int) { h.replaceSubrange(offset..<offset + bytes.count, with: bytes) }
        func field(_ value: Int, width: Int) -> [UInt8] {
            let digits = String(value, radix: 8)
            return Array((String(repeating: "0", count: max(0, width - 1 - digits.count)) + digits).utf8) + [0]
        }
        put(name, at: 0)
        put(field(0o644, width: 8), at: 100)
        put(field(0, width: 8), at: 108)
        put(field(0, width: 8), at: 116)
        put(field(size, width: 12), at: 124)
        put(field(0, width: 12), at: 136)
        h[156] = type
        put(Array("ustar\u{0}00".utf8), at: 257)
        put(Array(repeating: UInt8(ascii: " "), count: 8), at: 148)
        let sum = h.reduce(0) { $0 + Int($1) }
        put(field(sum, width: 7) + [UInt8(ascii: " ")], at: 148)
        return h
    }

    private static func pad(_ bytes: [UInt8]) -> [UInt8] {
        bytes + [UInt8](repeating: 0, count: (512 - bytes.count % 512) % 512)
    }

    private static func checkSum(_ header: ArraySlice<UInt8>) throws {
        let stored = try octal(header, 148, 8, "checksum")
        var sum = 0
        for (i, byte) in header.enumerated() { sum += (148..<156).contains(i) ? 32 : Int(byte) }
        guard sum == stored else { throw Refusal("the archive is not a tar archive (a header's checksum is wrong)") }
    }

    /// A numeric field: octal digits, NUL- or space-terminated (base-256 sizes, over 8 GiB, are refused).
    private static func octal(_ header: ArraySlice<UInt8>, _ offset: Int, _ width: Int, _ what: String) throws -> Int {
        var value = 0
        var digits = 0
        for byte in header[header.startIndex + offset..<header.startIndex + offset + width] {
            if byte == 0 || byte == UInt8(ascii: " ") {
                if digits > 0 { break } else { continue }
            }
            guard (UInt8(ascii: "0")...UInt8(ascii: "7")).contains(byte), digits < 11 else {
                throw Refusal("the archive is not a tar archive (a header's \(what) is not a number)")
            }
            value = value * 8 + Int(byte - UInt8(ascii: "0"))
            digits += 1
        }
        return value
    }

    private static func text(_ bytes: ArraySlice<UInt8>) -> String {
        String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
    }

    private static func ustarName(_ header: ArraySlice<UInt8>) -> String {
        let s = header.startIndex
        let name = text(header[s..<s + 100])
        guard header[s + 257..<s + 262].elementsEqual("ustar".utf8) else { return name }
        let prefix = text(header[s + 345..<s + 500])
        return prefix.isEmpty ? name : prefix + "/" + name
    }

    /// pax records: `LENGTH key=value\n`, LENGTH counting the whole record.
    private static func paxRecords(_ data: ArraySlice<UInt8>) throws -> [String: String] {
        var records: [String: String] = [:]
        var rest = data
        while !rest.isEmpty {
            guard let space = rest.firstIndex(of: UInt8(ascii: " ")),
                let length = Int(String(decoding: rest[rest.startIndex..<space], as: UTF8.self)),
                length <= rest.count, space < rest.startIndex + length - 1
            else { throw Refusal("the archive has an unreadable pax header") }
            let record = rest[(space + 1)..<(rest.startIndex + length - 1)]  // without the newline
            if let equals = record.firstIndex(of: UInt8(ascii: "=")) {
                records[String(decoding: record[..<equals], as: UTF8.self)] = String(decoding: record[(equals + 1)...], as: UTF8.self)
            }
            rest = rest[(rest.startIndex + length)...]
        }
        return records
    }

    /// A symbolic link's target as a path in the archive, or nil when it leaves the folder.
    static func resolve(_ target: String, from link: String) -> String? {
        guard !target.hasPrefix("/") else { return nil }
        var parts = link.split(separator: "/").dropLast().map(String.init)
        for part in target.split(separator: "/") {
            switch part {
            case ".": continue
            case "..":
                guard !parts.isEmpty else { return nil }
                parts.removeLast()
            default: parts.append(String(part))
            }
        }
        return parts.isEmpty ? nil : parts.joined(separator: "/")
    }

    private static func kind(_ type: UInt8) -> String {
        switch type {
        case UInt8(ascii: "3"): "character device"
        case UInt8(ascii: "4"): "block device"
        case UInt8(ascii: "6"): "named pipe"
        default: "tar entry of type '\(String(UnicodeScalar(type)))'"
        }
    }

    /// `myfunction/handler.py`, … → `handler.py`, … when one folder holds everything and no entry point is at the top.
    private static func stripTopFolder(_ files: [String: [UInt8]]) -> [String: [UInt8]] {
        let tops = Set(files.keys.map { $0.split(separator: "/", maxSplits: 1).first.map(String.init) ?? $0 })
        guard tops.count == 1, let top = tops.first, files.keys.allSatisfy({ $0.hasPrefix(top + "/") }) else { return files }
        return Dictionary(uniqueKeysWithValues: files.map { (String($0.key.dropFirst(top.count + 1)), $0.value) })
    }
}
