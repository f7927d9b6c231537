import Foundation
import HeedData
import HeedSupport
import XCTest

/// Crafted data files (ISSUE 15): each is a one-line error naming the file, found
/// before anything large is read or decoded, or is read correctly.
final class CraftedDataTests: XCTestCase {
    private let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/images")
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("heed-crafted-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: scratch)
    }

    private func problem(_ body: () throws -> Any) -> String? {
        do {
            _ = try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Sparse files of 2.1 GB: the size is checked, and a bad first record found, without reading the rest.
    func testLargeCIFARFilesAreCheckedBeforeTheyAreRead() throws {
        let url = scratch.appendingPathComponent("test_batch.bin")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: Data([10])))
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 2_100_000_000)
        XCTAssertEqual(
            problem { try CIFAR.load(.cifar10, split: .test, from: self.scratch) },
            "\(url.path): truncated or not cifar10: 2100000000 bytes is not a whole number of 3073-byte records")
        try handle.truncate(atOffset: 3073 * 700_000)
        try handle.close()
        XCTAssertEqual(
            problem { try CIFAR.load(.cifar10, split: .test, from: self.scratch) },
            "\(url.path): record 0 has label 10, outside 0..<10 for cifar10")
    }

    /// This process's resident memory in bytes (`VmRSS`).
    private func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/self/status", encoding: .utf8)
        let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try XCTUnwrap(Int(line.split(separator: " ")[1])) * 1024
    }

    /// A valid CIFAR file of 2.15 GB (sparse: 700,000 records of label 0, black) loads
    /// with memory for its labels, not its pixels, and its last image reads.
    func testLargeValidCIFARFilesStayOnDisk() throws {
        let url = scratch.appendingPathComponent("test_batch.bin")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: 3073 * 700_000)
        try handle.seek(toOffset: 3073 * 699_999)
        try handle.write(contentsOf: Data([7] + Array(repeating: 200, count: 3072)))
        try handle.close()
        let before = try residentBytes()
        let dataset = try CIFAR.load(.cifar10, split: .test, from: scratch)
        // Held: 2.8 MB of labels; the file would be 2150 MB.
        XCTAssertLessThan(try residentBytes() - before, 100_000_000)
        XCTAssertEqual(dataset.count, 700_000)
        XCTAssertEqual(dataset.labels.last, 7)
        XCTAssertEqual(Array(dataset.image(699_999)), Array(repeating: 200, count: 3072))
        XCTAssertEqual(Array(dataset.image(0)), Array(repeating: 0, count: 3072))
    }

    /// A split of more records than `CIFAR.maximumRecords` is refused from the file sizes,
    /// before its labels are read (the sparse file is 51.6 GB).
    func testCIFARSplitsOverTheRecordLimitAreRefusedFromTheirSize() throws {
        let url = scratch.appendingPathComponent("test.bin")
        XCTAssertTrue(FileManager.default.createFile(atPath: url.path, contents: nil))
        let handle = try FileHandle(forWritingTo: url)
        try handle.truncate(atOffset: UInt64(3074 * (CIFAR.maximumRecords + 1)))
        try handle.close()
        XCTAssertEqual(
            problem { try CIFAR.load(.cifar100, split: .test, from: self.scratch) },
            "\(url.path): 16777217 records make 16777217 in the test split, more than the limit of 16777216")
    }

    /// A file that shrinks after it was opened is an error naming it, at the read that finds it.
    func testReadsAtAnOffsetPastTheEndOfAShrunkFileAreErrors() throws {
        let url = scratch.appendingPathComponent("records")
        try Data(Array(0..<100)).write(to: url)
        let file = try RegularFile(path: url.path)
        XCTAssertEqual(try file.read(3, at: 97), [97, 98, 99])
        XCTAssertEqual(try file.read(2), [0, 1], "pread leaves the file position alone")
        try Data(Array(0..<50)).write(to: url)
        XCTAssertEqual(problem { try file.read(3, at: 97) }, "\(url.path): ends early (changed while reading?)")
        XCTAssertEqual(problem { try file.read(3, at: 49) }, "\(url.path): ends early (changed while reading?)")
        XCTAssertEqual(try file.read(3, at: 47), [47, 48, 49])
    }

    /// `HEED_MAX_IMAGE_PIXELS` set to anything but a whole number in range is an error naming it and its value.
    func testBadPixelLimitsInTheEnvironmentAreErrorsNamingTheVariable() {
        func limit(_ value: String?) -> String {
            let environment = value.map { ["HEED_MAX_IMAGE_PIXELS": $0] } ?? [:]
            do {
                return String(
                    try EnvironmentSetting.integer(
                        RGBImage.maximumPixelsVariable, in: 1...RGBImage.largestMaximumPixels, default: RGBImage.defaultMaximumPixels,
                        environment: environment))
            } catch {
                return "\(error)"
            }
        }
        XCTAssertEqual(limit(nil), "89478485")
        XCTAssertEqual(limit("48"), "48")
        XCTAssertEqual(limit("4294967296"), "4294967296")
        let expected = "is not a whole number from 1 to 4294967296"
        XCTAssertEqual(limit("lots"), "HEED_MAX_IMAGE_PIXELS='lots' \(expected)")
        XCTAssertEqual(limit(""), "HEED_MAX_IMAGE_PIXELS='' \(expected)")
        XCTAssertEqual(limit("-1"), "HEED_MAX_IMAGE_PIXELS='-1' \(expected)")
        XCTAssertEqual(limit("0"), "HEED_MAX_IMAGE_PIXELS='0' \(expected)")
        XCTAssertEqual(limit("1e9"), "HEED_MAX_IMAGE_PIXELS='1e9' \(expected)")
        XCTAssertEqual(limit("4294967297"), "HEED_MAX_IMAGE_PIXELS='4294967297' \(expected)")
        XCTAssertEqual(limit("99999999999999999999"), "HEED_MAX_IMAGE_PIXELS='99999999999999999999' \(expected)")
        XCTAssertEqual(limit("12\nx\u{e9}"), "HEED_MAX_IMAGE_PIXELS='12\\xax\\xc3\\xa9' \(expected)")
        XCTAssertEqual(
            limit(String(repeating: "9", count: 50)), "HEED_MAX_IMAGE_PIXELS='\(String(repeating: "9", count: 40))...' \(expected)")
        // This process's own setting (none, or whatever the environment gives) is a valid limit.
        XCTAssertNoThrow(try RGBImage.maximumPixels)
    }

    /// The CRC-32 of PNG chunks (ISO 3309).
    private func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    /// A PNG whose header says 20000×20000 is refused from the header: an empty IDAT
    /// chunk follows it, no pixels.
    func testImagesOverThePixelLimitAreRefusedFromTheirHeader() throws {
        func bigEndian(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * $0)) } }
        let header = Array("IHDR".utf8) + bigEndian(20000) + bigEndian(20000) + [8, 2, 0, 0, 0]
        let data = Array("IDAT".utf8)
        let png =
            [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] + bigEndian(13) + header + bigEndian(crc32(header))
            + bigEndian(0) + data + bigEndian(crc32(data))
        let url = scratch.appendingPathComponent("bomb.png")
        try Data(png).write(to: url)
        XCTAssertEqual(
            problem { try RGBImage.read(from: url) },
            "\(url.path): image of 20000x20000 pixels is more than the limit of 89478485 (HEED_MAX_IMAGE_PIXELS)")
        let jpeg = fixtures.appendingPathComponent("gradient.jpg")
        XCTAssertEqual(
            problem { try RGBImage.read(from: jpeg, maximumPixels: 47) },
            "\(jpeg.path): image of 8x6 pixels is more than the limit of 47 (HEED_MAX_IMAGE_PIXELS)")
        XCTAssertNil(problem { try RGBImage.read(from: jpeg, maximumPixels: 48) })
    }

    /// A FIFO named like an image is an error naming it, not a loader waiting forever.
    func testAFIFOInAnImageFolderIsAnError() throws {
        let folder = scratch.appendingPathComponent("birds")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("gradient.png"), to: folder.appendingPathComponent("a.png"))
        XCTAssertEqual(mkfifo(folder.appendingPathComponent("x.png").path, 0o600), 0)
        XCTAssertEqual(
            problem { try ImageFolder.load(from: self.scratch, width: 4, height: 4) },
            "\(folder.appendingPathComponent("x.png").path): not a regular file")
    }

    /// Names that are not UTF-8 (Latin-1 `café`) are errors naming their folder, for a
    /// class folder and for an image alike, not dropped or mangled.
    func testNamesThatAreNotUTF8AreErrors() throws {
        func make(_ parent: URL, _ name: [UInt8], folder: Bool) {
            let path = Array(parent.path.utf8) + [UInt8(ascii: "/")] + name + [0]
            path.withUnsafeBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { path in
                    let made = folder ? mkdir(path.baseAddress!, 0o700) : creat(path.baseAddress!, 0o600)
                    XCTAssertGreaterThanOrEqual(made, 0)
                    if !folder { close(made) }
                }
            }
        }
        let latin1: [UInt8] = [0x63, 0x61, 0x66, 0xE9]
        let birds = scratch.appendingPathComponent("birds")
        try FileManager.default.createDirectory(at: birds, withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: fixtures.appendingPathComponent("gradient.png"), to: birds.appendingPathComponent("a.png"))
        make(scratch, latin1, folder: true)
        XCTAssertEqual(
            problem { try ImageFolder.load(from: self.scratch, width: 4, height: 4) },
            "\(scratch.path): holds a name that is not UTF-8: 'caf\\xe9' (rename it)")
        let other = scratch.appendingPathComponent("other")
        try FileManager.default.createDirectory(at: other.appendingPathComponent("birds"), withIntermediateDirectories: true)
        make(other.appendingPathComponent("birds"), latin1 + Array(".png".utf8), folder: false)
        XCTAssertEqual(
            problem { try ImageFolder.load(from: other, width: 4, height: 4) },
            "\(other.appendingPathComponent("birds").path): holds a name that is not UTF-8: 'caf\\xe9.png' (rename it)")
    }

    /// An Adobe CMYK JPEG (generate_cmyk.c) decodes to the gradient's RGB values.
    func testCMYKJPEGsAreConvertedToRGB() throws {
        let image = try RGBImage.read(from: fixtures.appendingPathComponent("gradient-cmyk.jpg"))
        XCTAssertEqual([image.width, image.height], [8, 6])
        for y in 0..<6 {
            for x in 0..<8 {
                let expected = [30 * x, 40 * y, 200 - 20 * x]
                for c in 0..<3 {
                    XCTAssertEqual(Int(image.pixels[(y * 8 + x) * 3 + c]), expected[c], accuracy: 8, "(\(x), \(y)) channel \(c)")
                }
            }
        }
    }
}
