import Foundation
import HeedSupport

/// A folder of images, one sub-folder per class (`root/<class>/<image>.jpg|.png`), as
/// fine-grained datasets (birds, cars, aircraft) are usually laid out and as
/// torchvision's `ImageFolder` reads them: classes in sorted order of their folder
/// names, images in sorted order of their file names.
public enum ImageFolder {
    /// File extensions read (case-insensitive); other files are ignored.
    public static let extensions: Set<String> = ["jpg", "jpeg", "png"]

    /// The images of a folder and their labels, found without decoding any: a training run
    /// decodes each when a batch needs it (``ImageDataset/init(name:classNames:files:labels:transform:)``).
    ///
    /// - Throws: `FileError` naming the folder or file: a missing folder, a folder without
    ///   class sub-folders or images, a name that is not UTF-8, an image that is not a
    ///   regular file; `EnvironmentError` for a bad `HEED_MAX_IMAGE_PIXELS`, before any image is read.
    public static func scan(_ root: URL) throws -> (classNames: [String], files: [URL], labels: [Int32]) {
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
        var files: [URL] = []
        var labels: [Int32] = []
        for (label, className) in classNames.enumerated() {
            let folder = root.appendingPathComponent(className)
            let images = try entries(of: folder)
                .filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) }
                .sorted()
            for image in images {
                let url = folder.appendingPathComponent(image)
                try requireRegularFile(url)
                files.append(url)
                labels.append(Int32(label))
            }
        }
        guard !files.isEmpty else {
            throw FileError(path: root.path, problem: "the class folders hold no .jpg, .jpeg or .png files")
        }
        return (classNames, files, labels)
    }

    /// The folder's images as a dataset decoded on demand, each made `transform.outputSize`
    /// by `transform`.
    ///
    /// - Throws: as ``scan(_:)``.
    public static func dataset(from root: URL, transform: PhotoTransform, name: String? = nil) throws -> ImageDataset {
        let (classNames, files, labels) = try scan(root)
        return ImageDataset(
            name: name ?? root.lastPathComponent, classNames: classNames, files: files, labels: labels, transform: transform)
    }

    /// The folder's images squashed to `width × height` (``PhotoTransform/resize(width:height:)``),
    /// decoded on demand.
    ///
    /// - Throws: as ``scan(_:)``.
    public static func load(from root: URL, width: Int, height: Int, name: String? = nil) throws -> ImageDataset {
        try dataset(from: root, transform: .resize(width: width, height: height), name: name)
    }

    /// A path that exists and is a regular file (or a link to one): a FIFO named like an
    /// image would block its decoder, a folder named like one would fail mid-run.
    static func requireRegularFile(_ url: URL) throws {
        var status = stat()
        guard stat(url.path, &status) == 0 else {
            throw FileError(path: url.path, problem: "cannot be read: \(String(cString: strerror(errno)))")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else { throw FileError(path: url.path, problem: "not a regular file") }
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
}
