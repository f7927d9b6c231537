import Foundation
import HeedOps

/// Compiled OpenCL programs on disk, so a second process skips the compiler.
///
/// PoCL compiles each program with LLVM, seconds apiece; loading a binary takes
/// milliseconds. A file holds the complete key it was built for (device name, driver
/// version, build options and the whole source text) and is used only when that key
/// matches exactly, so a hash collision or a stale file can never load a wrong
/// program. Files are written to a temporary name and renamed, so a reader sees a
/// whole file or none; a damaged file is treated as missing and overwritten.
///
/// Folder: `$HEED_CACHE_DIR/programs`, else `$XDG_CACHE_HOME/heed/programs`, else
/// `~/.cache/heed/programs`.
struct ProgramBinaryStore: Sendable {
    static let environmentVariable = "HEED_CACHE_DIR"
    static let xdgEnvironmentVariable = "XDG_CACHE_HOME"
    private static let magic = Array("HEEDPRG1".utf8)

    let directory: URL

    init(directory: URL) {
        self.directory = directory
    }

    /// The folder for `environment` (`OpenCLSettings`), as described above.
    static func defaultDirectory(environment: [String: String]) -> URL {
        cacheRoot(environment: environment).appendingPathComponent("programs")
    }

    /// Heed's cache folder: `$HEED_CACHE_DIR`, else `$XDG_CACHE_HOME/heed`, else
    /// `~/.cache/heed` (compiled programs and tuning files live under it).
    static func cacheRoot(environment: [String: String]) -> URL {
        if let root = environment[environmentVariable], !root.isEmpty {
            return URL(fileURLWithPath: root)
        }
        let cacheRoot =
            environment[xdgEnvironmentVariable].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return cacheRoot.appendingPathComponent("heed")
    }

    /// The binary stored for `key`, or nil when there is none or it does not match.
    func load(key: String) -> [UInt8]? {
        guard let data = try? Data(contentsOf: fileURL(for: key)) else { return nil }
        let bytes = [UInt8](data)
        var cursor = 0
        func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard n >= 0, cursor + n <= bytes.count else { return nil }
            defer { cursor += n }
            return bytes[cursor..<cursor + n]
        }
        func takeLength() -> Int? {
            guard let raw = take(8) else { return nil }
            return Int(raw.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        }
        guard take(Self.magic.count).map(Array.init) == Self.magic,
            let keyLength = takeLength(), let storedKey = take(keyLength),
            Array(storedKey) == Array(key.utf8),
            let binaryLength = takeLength(), let binary = take(binaryLength),
            cursor == bytes.count, !binary.isEmpty
        else { return nil }
        return Array(binary)
    }

    /// Stores `binary` for `key`. A cache that cannot be written is not an error:
    /// the program was built and works; the next process builds it again.
    func store(key: String, binary: [UInt8]) {
        let keyBytes = Array(key.utf8)
        var file = Self.magic
        file += Self.lengthBytes(keyBytes.count) + keyBytes
        file += Self.lengthBytes(binary.count) + binary
        let target = fileURL(for: key)
        let temporary = directory.appendingPathComponent(".\(target.lastPathComponent).\(getpid()).\(UInt64.random(in: 0...UInt64.max))")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try Data(file).write(to: temporary)
            guard rename(temporary.path, target.path) == 0 else {
                try? FileManager.default.removeItem(at: temporary)
                return
            }
        } catch {
            try? FileManager.default.removeItem(at: temporary)
        }
    }

    func fileURL(for key: String) -> URL {
        directory.appendingPathComponent(String(format: "%016llx.clbin", Self.fnv1a64(key)))
    }

    private static func lengthBytes(_ n: Int) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: UInt64(n) >> (8 * $0)) }
    }

    /// FNV-1a, 64-bit: for file names (`load` compares the full key) and `ProgramSource`'s digest.
    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash &*= 0x0000_0100_0000_01b3
        }
        return hash
    }
}
