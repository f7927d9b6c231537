// heed-loader-bench: the streaming photo loader alone (no device), for benchmarks/loader.sh.
//
//   heed-loader-bench generate --count N --into DIR   photo-like 500x375 JPEGs in class folders
//   heed-loader-bench run --data-dir DIR              one epoch of training batches: images/s, peak RSS
import ArgumentParser
import Foundation
import HeedData
import HeedOps

@main
struct LoaderBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heed-loader-bench", abstract: "Benchmark Heed's streaming photo loader.", subcommands: [Generate.self, Run.self])
}

/// Photo-like JPEGs: smooth colour fields (a few soft blobs on a gradient) plus mild
/// noise, so they compress and decode about as camera photos of that size do.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write photo-like JPEGs into class folders.")

    @Option(help: "How many images.") var count: Int
    @Option(help: "The folder (class sub-folders c00, c01, ... are made in it).") var into: String
    @Option(help: "Classes.") var classes = 20
    @Option(help: "Image width.") var width = 500
    @Option(help: "Image height.") var height = 375
    @Option(help: "JPEG quality.") var quality = 90

    func validate() throws {
        guard (1...10_000_000).contains(count) else { throw ValidationError("--count must be 1...10000000") }
        guard (1...1000).contains(classes) else { throw ValidationError("--classes must be 1...1000") }
        guard (8...4096).contains(width), (8...4096).contains(height) else {
            throw ValidationError("--width and --height must be 8...4096")
        }
        guard (1...100).contains(quality) else { throw ValidationError("--quality must be 1...100") }
    }

    func run() throws {
        let root = URL(fileURLWithPath: into)
        let failure = Failure()
        DispatchQueue.concurrentPerform(iterations: count) { index in
            let image = Self.photo(width: width, height: height, seed: UInt64(index))
            let url = root.appendingPathComponent(String(format: "c%02d/%06d.jpg", index % classes, index))
            do { try image.writeJPEG(to: url, quality: quality) } catch { failure.record(error) }
        }
        if let error = failure.error { throw error }
        print("wrote \(count) \(width)x\(height) JPEGs (quality \(quality)) in \(classes) classes under \(root.path)")
    }

    static func photo(width: Int, height: Int, seed: UInt64) -> RGBImage {
        var random = SeededGenerator(seed: seed)
        let blobs = (0..<4).map { _ in
            (
                x: Double.random(in: 0...Double(width), using: &random), y: Double.random(in: 0...Double(height), using: &random),
                radius: Double.random(in: 30...150, using: &random),
                colour: (0..<3).map { _ in Double.random(in: -120...120, using: &random) }
            )
        }
        let base = (0..<3).map { _ in Double.random(in: 60...190, using: &random) }
        let slope = (0..<3).map { _ in Double.random(in: -0.2...0.2, using: &random) }
        // A Gaussian blob is separable: its weight at (x, y) is a column factor times a row factor.
        let columns = blobs.map { blob in
            (0..<width).map { exp(-(Double($0) - blob.x) * (Double($0) - blob.x) / (2 * blob.radius * blob.radius)) }
        }
        let rows = blobs.map { blob in
            (0..<height).map { exp(-(Double($0) - blob.y) * (Double($0) - blob.y) / (2 * blob.radius * blob.radius)) }
        }
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                for c in 0..<3 {
                    var value = base[c] + slope[c] * Double(x - y)
                    for b in blobs.indices { value += blobs[b].colour[c] * columns[b][x] * rows[b][y] }
                    value += Double(Int(random.next() & 15) - 8)
                    pixels[(y * width + x) * 3 + c] = UInt8(max(0, min(255, value.rounded())))
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}

/// One epoch of the training loader (RandomResizedCrop + flip, normalised floats), batches
/// taken as fast as they come: the rate a training step would be fed at, and the memory it costs.
struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Time one epoch of training batches from a folder of class folders.")

    @Option(help: "A folder of class sub-folders of images.") var dataDir: String
    @Option(help: "Network input side.") var imageSize = 224
    @Option(help: "Images per batch.") var batchSize = 64
    @Option(help: "Decoding threads (default: the CPU count).") var workers = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Batches prepared ahead.") var prefetch = 2

    func validate() throws {
        guard (8...4096).contains(imageSize) else { throw ValidationError("--image-size must be 8...4096") }
        guard (1...65_536).contains(batchSize) else { throw ValidationError("--batch-size must be 1...65536") }
        guard (1...256).contains(workers), (1...64).contains(prefetch) else {
            throw ValidationError("--workers 1...256, --prefetch 1...64")
        }
    }

    func run() throws {
        let dataset = try ImageFolder.dataset(from: URL(fileURLWithPath: dataDir), transform: .randomResizedCrop(size: imageSize))
        let imageNet = Normalization(mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225])
        let loader = BatchLoader(
            dataset: dataset, batchSize: batchSize, shuffle: true, dropLast: true, normalization: imageNet, seed: 1, workers: workers,
            prefetch: prefetch)
        let afterScan = peakResidentMiB()
        let start = Date()
        var images = 0
        var checksum: Float = 0
        // The peak so far after a tenth, a half and all of the epoch: flat once the pipeline is full.
        var peaks: [Double] = []
        for (index, batch) in loader.batches(epoch: 0).enumerated() {
            images += batch.count
            checksum += batch.images[0]
            if index + 1 == max(loader.batchCount / 10, 1) || index + 1 == max(loader.batchCount / 2, 1) { peaks.append(peakResidentMiB()) }
        }
        peaks.append(peakResidentMiB())
        let seconds = Date().timeIntervalSince(start)
        print(
            String(
                format: "loader: %d images -> %dx%d RandomResizedCrop+flip, batch %d, %d workers, %d ahead: %.1f images/s (%.1f s); "
                    + "peak RSS %.1f MiB (%.1f MiB after listing the folder; %@ MiB after 10 %%, 50 %% of the epoch) [checksum %.3f]",
                images, imageSize, imageSize, batchSize, workers, prefetch, Double(images) / seconds, seconds, peaks.last!, afterScan,
                peaks.dropLast().map { String(format: "%.1f", $0) }.joined(separator: ", ") as NSString, checksum))
    }

    /// The process's peak resident set so far (getrusage's ru_maxrss: KiB on Linux).
    private func peakResidentMiB() -> Double {
        var usage = rusage()
        getrusage(Int32(RUSAGE_SELF.rawValue), &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// The first error of concurrent writers.
private final class Failure: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var error: (any Error)?

    func record(_ error: any Error) { lock.withLock { if self.error == nil { self.error = error } } }
}
