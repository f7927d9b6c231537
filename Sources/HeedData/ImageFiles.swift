import Foundation
import HeedSupport

/// The image files a command is given: files as named, folders searched.
public enum ImageFiles {
    /// Each path that is a file, as given (the decoder tells JPEG from PNG by signature,
    /// whatever the name); each folder searched recursively for regular files (not links)
    /// with an image extension (`ImageFolder.extensions`, any case), skipping hidden
    /// files and folders (`.DS_Store`, macOS's `._name.jpg`), in sorted order of their
    /// paths below the folder. Paths keep the form they were given in.
    ///
    /// - Throws: `FileError` naming a path that does not exist, or a folder without images;
    ///   `EnvironmentError` for a bad `HEED_MAX_IMAGE_PIXELS`, so that it is one error
    ///   before any image rather than one per image.
    public static func collect(_ paths: [String]) throws -> [String] {
        _ = try RGBImage.maximumPixels
        let fileManager = FileManager.default
        var files: [String] = []
        for path in paths {
            var isFolder: ObjCBool = false
            guard fileManager.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw FileError(path: path, problem: "no such file or folder")
            }
            guard isFolder.boolValue else {
                files.append(path)
                continue
            }
            guard let below = try? fileManager.subpathsOfDirectory(atPath: path) else {
                throw FileError(path: path, problem: "folder cannot be read")
            }
            let found = below.sorted().filter { relative in
                let full = (path as NSString).appendingPathComponent(relative)
                return !relative.split(separator: "/").contains { $0.hasPrefix(".") }
                    && ImageFolder.extensions.contains((relative as NSString).pathExtension.lowercased())
                    && (try? fileManager.attributesOfItem(atPath: full)[.type] as? FileAttributeType) == .typeRegular
            }
            guard !found.isEmpty else {
                throw FileError(path: path, problem: "no .jpg, .jpeg or .png files in this folder or below it")
            }
            files += found.map { (path as NSString).appendingPathComponent($0) }
        }
        return files
    }
}
