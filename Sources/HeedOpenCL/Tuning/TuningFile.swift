import Foundation
import HeedOps

/// What `heed tune` found for one device, as the readable JSON file every command loads.
///
/// One file per device and driver, in `$HEED_CACHE_DIR/tuning` (else
/// `$XDG_CACHE_HOME/heed/tuning`, else `~/.cache/heed/tuning`). Each kernel family's
/// entry holds the hash of the program source it was measured with: an entry whose
/// source has changed since (a new Heed, `HEED_KERNEL_DIR`) is not used, because its
/// winner may be no winner, or even wrong, for the new kernel.
///
/// ```json
/// {"format": 1, "device": "pthread-haswell-AMD EPYC", "driverVersion": "3.1", "platform": "Portable Computing Language",
///  "created": "2026-12-01T12:00:00Z",
///  "families": {"gemm_cpu": {"sourceHash": "1f0c…", "knobs": {"MR": 6, "VW": 8, "NV": 2, "mc": 144, "nc": 256, "kc": 256},
///                            "defaultSeconds": 0.91, "tunedSeconds": 0.83, "candidates": 41}}}
/// ```
public struct TuningFile: Codable, Equatable, Sendable {
    public static let currentFormat = 1

    /// One kernel family's winner.
    public struct Family: Codable, Equatable, Sendable {
        /// `ProgramBinaryStore.fnv1a64` of the family's program source, in hex.
        public var sourceHash: String
        public var knobs: [String: Int]
        /// Device seconds of the tuning workload with the device defaults and with the winner.
        public var defaultSeconds: Double?
        public var tunedSeconds: Double?
        /// Candidates that were measured (those that failed the reference check not counted).
        public var candidates: Int?

        public init(sourceHash: String, knobs: [String: Int], defaultSeconds: Double?, tunedSeconds: Double?, candidates: Int?) {
            self.sourceHash = sourceHash
            self.knobs = knobs
            self.defaultSeconds = defaultSeconds
            self.tunedSeconds = tunedSeconds
            self.candidates = candidates
        }
    }

    public var format: Int
    public var device: String
    public var driverVersion: String
    public var platform: String
    /// ISO 8601, UTC.
    public var created: String
    public var families: [String: Family]

    public init(device: OpenCLDeviceInfo, created: Date = Date(), families: [String: Family] = [:]) {
        format = Self.currentFormat
        self.device = device.name
        driverVersion = device.driverVersion
        platform = device.platformName
        self.created = ISO8601DateFormatter().string(from: created)
        self.families = families
    }

    // MARK: Where

    /// `HEED_TUNING`: `defaults` ignores tuning files; a path names the file to use.
    public static let environmentVariable = "HEED_TUNING"

    /// The folder of tuning files for `environment` (`OpenCLSettings`).
    public static func directory(environment: [String: String]) -> URL {
        ProgramBinaryStore.cacheRoot(environment: environment).appendingPathComponent("tuning")
    }

    /// The file for `device` in `directory`: the device's name, made safe for a file
    /// name, and a hash of its platform, name and driver version (one file per driver).
    public static func url(for device: OpenCLDeviceInfo, in directory: URL) -> URL {
        let slug = String(device.name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(64))
        let key = ProgramBinaryStore.fnv1a64("\(device.platformName)\n\(device.name)\n\(device.driverVersion)")
        return directory.appendingPathComponent(String(format: "%@-%08llx.json", slug, key & 0xffff_ffff))
    }

    // MARK: Reading and writing

    /// The file at `url`; throws `TuningFileError` when it cannot be read or is not a tuning file.
    public static func read(from url: URL) throws -> TuningFile {
        let data: Data
        do {
            let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
            guard attributes[.type] as? FileAttributeType == .typeRegular else { throw TuningFileError.damaged(url, "not a regular file") }
            // A tuning file is a few hundred bytes; anything far larger is not one.
            guard (attributes[.size] as? Int ?? 0) <= 1 << 20 else { throw TuningFileError.damaged(url, "larger than 1 MiB") }
            data = try Data(contentsOf: url)
        } catch let error as TuningFileError {
            throw error
        } catch {
            throw TuningFileError.damaged(url, "cannot be read")
        }
        let file: TuningFile
        do {
            file = try JSONDecoder().decode(TuningFile.self, from: data)
        } catch {
            throw TuningFileError.damaged(url, "not a tuning file (\(Self.describe(error)))")
        }
        guard file.format == currentFormat else {
            throw TuningFileError.damaged(url, "format \(file.format), expected \(currentFormat)")
        }
        return file
    }

    /// Writes the file whole or not at all (a temporary file renamed over `url`).
    public func write(to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = try encoder.encode(self)
        let directory = url.deletingLastPathComponent()
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(getpid()).tmp")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try data.write(to: temporary)
            guard rename(temporary.path, url.path) == 0 else {
                throw TuningFileError.unwritable(url, String(cString: strerror(errno)))
            }
        } catch let error as TuningFileError {
            try? FileManager.default.removeItem(at: temporary)
            throw error
        } catch {
            try? FileManager.default.removeItem(at: temporary)
            throw TuningFileError.unwritable(url, (error as NSError).localizedDescription)
        }
    }

    private static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "no \(key.stringValue)"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "wrong type at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        case DecodingError.dataCorrupted: "not JSON"
        default: "unreadable"
        }
    }
}

public enum TuningFileError: Error, Equatable, CustomStringConvertible {
    case damaged(URL, String)
    case unwritable(URL, String)

    public var description: String {
        switch self {
        case .damaged(let url, let why): "tuning file \(url.path): \(why)"
        case .unwritable(let url, let why): "cannot write tuning file \(url.path): \(why)"
        }
    }
}
