import Foundation
import HeedSupport

/// A folder of images, one sub-folder per class (`root/<class>/<image>.jpg|.png`), as
/// fine-grained datasets (birds, cars, aircraft) are usually laid out and as
/// torchvision's `ImageFolder` reads them: classes in sorted order of their folder
/// names, images in sorted order of their file names.
public enum ImageFolder {
    /// File extensions read (case-insensitive); other files are ignored.
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Decodes every image, resized to `width × height`, in parallel.
    ///
    /// - Throws: `FileError` naming the folder or the first image that cannot be
    ///   decoded: a missing folder, a folder without class sub-folders or images,
    ///   a name that is not UTF-8, an image that is not a regular file, unreadable or corrupt;
    ///   `EnvironmentError` for a bad `HEED_MAX_IMAGE_PIXELS`, before any image is read.
    public static func load(from root: URL, width: Int, height: Int, name: String? = nil) throws -> ImageDataset {
        _ = try RGBImage.maximumPixels
        let fileManager = FileManager.default
        var isFolder: ObjCBool = false
        guard fileManager.fileExists(atPath: root.path, isDirectory: &isFolder), isFolder.boolValue else {
            throw FileError(path: root.path, problem: "no such folder (expected one sub-folder of images per class)")
        }
        let classNames = try entries(of: root)
            .filter { !$0.hasPrefix(".") }
            .filter { fileManager.fileExists(atPath: root.appendingPathComponent($0).path, isDirectory: &isFolder) && isFolder.boolValue }
            .sorted()
        guard !classNames.isEmpty else {
            throw FileError(path: root.path, problem: "no class sub-folders (expected root/<class>/<image>.jpg)")
        }
        var found: [(url: URL, label: Int32)] = []
        for (label, className) in classNames.enumerated() {
            let folder = root.appendingPathComponent(className)
            let images = try entries(of: folder)
                .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
                .sorted()
            found += images.map { (folder.appendingPathComponent($0), Int32(label)) }
        }
        let files = found
        guard !files.isEmpty else {
            throw FileError(path: root.path, problem: "the class folders hold no .jpg, .jpeg or .png files")
        }

        let imageSize = 3 * width * height
        let results = Results(count: files.count)
        DispatchQueue.concurrentPerform(iterations: files.count) { index in
            do {
                let image = try RGBImage.read(from: files[index].url).resized(width: width, height: height)
                results.set(index, .success(image.planar))
            } catch {
                results.set(index, .failure(error))
            }
        }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(files.count * imageSize)
        for result in results.values {
            pixels += try result!.get()
        }
        return ImageDataset(
            name: name ?? root.lastPathComponent, classNames: classNames, channels: 3,
            height: height, width: width, pixels: pixels, labels: files.map(\.label))
    }

    /// The names in `folder`, read as bytes: Foundation drops or mangles a name that is
    /// not UTF-8, so such a name is an error naming the folder and the name's bytes
    /// rather than a class or image silently lost.
    static func entries(of folder: URL) throws -> [String] {
        guard let directory = opendir(folder.path) else {
            throw FileError(path: folder.path, problem: "cannot be read: \(String(cString: strerror(errno)))")
        }
        defer { closedir(directory) }
        var names: [String] = []
        while let entry = readdir(directory) {
            let bytes = withUnsafeBytes(of: entry.pointee.d_name) { Array($0.prefix { $0 != 0 }) }
            guard let name = String(validating: bytes, as: UTF8.self) else {
                let shown = bytes.map { (0x20..<0x7F).contains($0) ? String(UnicodeScalar($0)) : "\\x" + String($0, radix: 16) }.joined()
                throw FileError(path: folder.path, problem: "holds a name that is not UTF-8: '\(shown)' (rename it)")
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Slots filled from concurrent decoders; each index is written once.
    private final class Results: @unchecked Sendable {
        private let lock = NSLock()
        private(set) var values: [Result<[UInt8], any Error>?]

        init(count: Int) { values = Array(repeating: nil, count: count) }

        func set(_ index: Int, _ value: Result<[UInt8], any Error>) {
            lock.withLock { values[index] = value }
        }
    }
}
