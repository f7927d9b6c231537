import Foundation
import HeedSupport

/// CUB-200-2011's list-file layout: `images.txt` (`<id> <path below images/>`),
/// `image_class_labels.txt` (`<id> <class, from 1>`), `train_test_split.txt`
/// (`<id> <1: training, 0: test>`) and, optional, `classes.txt` (`<class> <name>`).
/// Without `classes.txt` a class is named after the folder of its first image.
public enum CUBLists {
    /// Whether `root` is laid out so (it holds `images.txt`).
    public static func holdsLists(_ root: URL) -> Bool {
        FileManager.default.fileExists(atPath: root.appendingPathComponent("images.txt").path)
    }

    /// One split of the set: files and their labels, in the order of `images.txt`.
    public struct Split: Sendable {
        public var files: [URL] = []
        public var labels: [Int32] = []
    }

    /// The class names and both splits, found without decoding any image.
    ///
    /// - Throws: `FileError` naming a list that is missing or has a bad line, an image id
    ///   a list lacks, a class outside the class list, or an image that is not a regular file.
    public static func scan(_ root: URL) throws -> (classNames: [String], train: Split, test: Split) {
        _ = try RGBImage.maximumPixels
        let paths = try list(root, "images.txt")
        let classes = try list(root, "image_class_labels.txt").mapValues { value in Int(value) }
        let splits = try list(root, "train_test_split.txt")
        let classList = root.appendingPathComponent("classes.txt")
        let namedClasses = FileManager.default.fileExists(atPath: classList.path) ? try list(root, "classes.txt") : nil

        var classCount = 0
        for (id, _) in paths {
            guard let value = classes[id] else {
                throw FileError(path: root.appendingPathComponent("image_class_labels.txt").path, problem: "no class for image \(id)")
            }
            guard let label = value, label >= 1 else {
                throw FileError(
                    path: root.appendingPathComponent("image_class_labels.txt").path, problem: "image \(id): class must be 1 or more")
            }
            classCount = max(classCount, label)
        }
        if let namedClasses {
            guard classCount <= namedClasses.count, (1...namedClasses.count).allSatisfy({ namedClasses[String($0)] != nil }) else {
                throw FileError(path: classList.path, problem: "does not name classes 1...\(max(classCount, namedClasses.count))")
            }
            classCount = namedClasses.count
        }
        var classNames = (1...max(classCount, 1)).map { namedClasses?[String($0)] ?? "" }
        var train = Split()
        var test = Split()
        for (id, path) in paths.sorted(by: { (Int($0.key) ?? 0, $0.key) < (Int($1.key) ?? 0, $1.key) }) {
            let label = classes[id]!! - 1
            guard let split = splits[id], split == "0" || split == "1" else {
                throw FileError(
                    path: root.appendingPathComponent("train_test_split.txt").path,
                    problem: "image \(id): expected 1 (training) or 0 (test)")
            }
            let url = root.appendingPathComponent("images").appendingPathComponent(path)
            try ImageFolder.requireRegularFile(url)
            if classNames[label].isEmpty {
                classNames[label] =
                    (path as NSString).deletingLastPathComponent.isEmpty
                    ? "class \(label + 1)" : (path as NSString).deletingLastPathComponent
            }
            if split == "1" {
                train.files.append(url)
                train.labels.append(Int32(label))
            } else {
                test.files.append(url)
                test.labels.append(Int32(label))
            }
        }
        guard !train.files.isEmpty, !test.files.isEmpty else {
            throw FileError(path: root.appendingPathComponent("train_test_split.txt").path, problem: "needs images in both splits")
        }
        classNames = classNames.enumerated().map { $0.element.isEmpty ? "class \($0.offset + 1)" : $0.element }
        return (classNames, train, test)
    }

    /// A list file's lines as `id → value`.
    private static func list(_ root: URL, _ name: String) throws -> [String: String] {
        let url = root.appendingPathComponent(name)
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw FileError(
                path: url.path,
                problem: "missing or unreadable (the CUB-200 layout needs images.txt, image_class_labels.txt, train_test_split.txt)")
        }
        guard let text = String(data: data, encoding: .utf8) else { throw FileError(path: url.path, problem: "not UTF-8 text") }
        var entries: [String: String] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = line.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            let parts = line.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[1].isEmpty else {
                throw FileError(path: url.path, problem: "line \(number + 1): expected '<id> <value>'")
            }
            guard entries.updateValue(parts[1], forKey: parts[0]) == nil else {
                throw FileError(path: url.path, problem: "line \(number + 1): image \(parts[0]) listed twice")
            }
        }
        guard !entries.isEmpty else { throw FileError(path: url.path, problem: "empty") }
        return entries
    }
}
