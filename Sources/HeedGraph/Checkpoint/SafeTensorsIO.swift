import Foundation
import HeedSupport

extension SafeTensors {
    // MARK: Reading

    /// The reference implementation's limit on the JSON header (100 MB): a longer one
    /// is refused before it is read.
    public static let maximumHeaderLength = 100_000_000

    /// Reads and validates a safetensors file.
    ///
    /// The header is read and checked first (see `decode`), then the file's size
    /// against what it promises, so a damaged header costs no more memory than itself.
    ///
    /// - Throws: `FileError` naming the file and the problem: missing or unreadable,
    ///   not a regular file, and every problem `decode` reports.
    public static func read(from url: URL) throws -> SafeTensors {
        let path = url.path
        let file = try RegularFile(path: path)
        let header = try file.read(min(8, file.size))
        let headerLength = try checkedHeaderLength(header, fileSize: file.size, path: path)
        let layout = try Layout(header: header + (try file.read(headerLength)), path: path)
        try layout.check(dataLength: file.size - 8 - headerLength)
        return layout.tensors(from: ArraySlice(try file.read(layout.dataLength)))
    }

    /// Parses the bytes of a safetensors file; `path` names it in errors.
    ///
    /// Every size, offset and shape product is computed with overflow checks. Refused:
    /// a header that is not strict JSON or repeats a key, a shape or offset that is not
    /// a non-negative integer (`1.5`, `true`), an unknown dtype, a byte range that does
    /// not match its shape, overlapping tensors (zero-length ones may sit anywhere
    /// another tensor does not), and a data section longer or shorter than the tensors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> SafeTensors {
        let headerLength = try checkedHeaderLength(Array(bytes.prefix(8)), fileSize: bytes.count, path: path)
        let layout = try Layout(header: Array(bytes.prefix(8 + headerLength)), path: path)
        try layout.check(dataLength: bytes.count - 8 - headerLength)
        return layout.tensors(from: bytes[(8 + headerLength)...])
    }

    /// The header's length from the file's first 8 bytes, checked against the file's size.
    private static func checkedHeaderLength(_ first: [UInt8], fileSize: Int, path: String) throws -> Int {
        func fail(_ problem: String) -> FileError { FileError(path: path, problem: problem) }
        guard first.count == 8 else { throw fail("not a safetensors file: \(fileSize) bytes, shorter than the 8-byte header length") }
        let length = first.reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard length <= UInt64(fileSize - 8) else {
            throw fail("not a safetensors file or truncated: header of \(length) bytes, file has \(fileSize)")
        }
        guard length <= UInt64(maximumHeaderLength) else {
            throw fail("header of \(length) bytes is longer than the limit of \(maximumHeaderLength)")
        }
        return Int(length)
    }

    /// A parsed, checked header: each tensor's type, shape and byte range, and the metadata.
    private struct Layout {
        var entries: [(name: String, dtype: DType, shape: [Int], range: Range<Int>)] = []
        var metadata: [String: String] = [:]
        /// The file, named in errors.
        let path: String
        /// Where the last tensor ends: the data section's length.
        var dataLength = 0

        /// `header`: the file's first bytes, the length field and the JSON.
        init(header: [UInt8], path: String) throws {
            func fail(_ problem: String) -> FileError { FileError(path: path, problem: problem) }
            self.path = path
            let json: HeaderJSON
            do {
                json = try HeaderJSON.parse(header[8...])
            } catch {
                throw fail("corrupt header: \(error.problem)")
            }
            guard case .object(let members) = json else { throw fail("corrupt header: not a JSON object") }
            for (name, value) in members {
                let quoted = "'\(name.asciiEscaped)'"
                if name == "__metadata__" {
                    guard case .object(let pairs) = value else { throw fail("corrupt header: __metadata__ is not a string map") }
                    for (key, value) in pairs {
                        guard case .string(let text) = value else {
                            throw fail("corrupt header: __metadata__ '\(key.asciiEscaped)' is not a string")
                        }
                        metadata[key] = text
                    }
                    continue
                }
                guard case .object(let fields) = value else { throw fail("corrupt header entry for tensor \(quoted): not an object") }
                let info = Dictionary(uniqueKeysWithValues: fields.map { ($0.key, $0.value) })
                guard case .string(let dtypeName) = info["dtype"] else {
                    throw fail("corrupt header entry for tensor \(quoted): no string 'dtype'")
                }
                guard let dtype = DType(rawValue: dtypeName) else {
                    throw fail("tensor \(quoted) has unsupported dtype \(dtypeName.asciiEscaped)")
                }
                func integers(_ field: String) throws -> [Int] {
                    guard case .array(let elements) = info[field] else {
                        throw fail("corrupt header entry for tensor \(quoted): no array '\(field)'")
                    }
                    return try elements.map { element in
                        guard case .number(let text) = element, let value = Int(text), value >= 0 else {
                            throw fail("tensor \(quoted) has \(field) \(element.literal): each must be an integer from 0 to \(Int.max)")
                        }
                        return value
                    }
                }
                let shape = try integers("shape")
                let offsets = try integers("data_offsets")
                guard offsets.count == 2 else {
                    throw fail("corrupt header entry for tensor \(quoted): data_offsets has \(offsets.count) values, not 2")
                }
                let (begin, end) = (offsets[0], offsets[1])
                guard begin <= end else { throw fail("tensor \(quoted) has data_offsets [\(begin), \(end)] that end before they begin") }
                var expected = dtype.byteSize
                for dimension in shape {
                    let (product, overflow) = expected.multipliedReportingOverflow(by: dimension)
                    guard !overflow else { throw fail("tensor \(quoted) of shape \(shape) \(dtypeName) has more bytes than \(Int.max)") }
                    expected = product
                }
                guard end - begin == expected else {
                    throw fail("tensor \(quoted) of shape \(shape) \(dtypeName) needs \(expected) bytes, header gives \(end - begin)")
                }
                entries.append((name, dtype, shape, begin..<end))
                dataLength = max(dataLength, end)
            }
            // Tensors must not overlap (the format forbids it; an overlap means a damaged
            // header). Sorted by both bounds and the name, so the check and its message
            // do not depend on the order of the header: a zero-length tensor at the
            // start or end of another is not an overlap.
            let sorted = entries.sorted {
                ($0.range.lowerBound, $0.range.upperBound, $0.name) < ($1.range.lowerBound, $1.range.upperBound, $1.name)
            }
            for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.range.upperBound > next.range.lowerBound {
                throw fail("tensors '\(previous.name.asciiEscaped)' and '\(next.name.asciiEscaped)' overlap in the data section")
            }
        }

        /// Refuses a data section longer or shorter than the tensors (the reference
        /// implementation refuses both).
        func check(dataLength actual: Int) throws {
            guard actual == dataLength else {
                throw FileError(
                    path: path, problem: "header promises \(dataLength) bytes of tensor data, the file has \(actual) (truncated file?)")
            }
        }

        /// The tensors, their bytes cut from `data`, the data section.
        func tensors(from data: ArraySlice<UInt8>) -> SafeTensors {
            var result = SafeTensors(metadata: metadata)
            for entry in entries {
                let bytes = Array(data[data.startIndex + entry.range.lowerBound..<data.startIndex + entry.range.upperBound])
                result.tensors[entry.name] = Entry(dtype: entry.dtype, shape: entry.shape, bytes: bytes)
            }
            return result
        }
    }

    // MARK: Writing

    /// The file's bytes: tensors in name order, header padded with spaces to a
    /// multiple of 8 bytes (as the reference implementation does, so data is aligned).
    public func encoded() throws -> [UInt8] {
        var header: [String: Any] = [:]
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let entry = tensors[name]!
            precondition(
                entry.bytes.count == entry.elementCount * entry.dtype.byteSize,
                "tensor '\(name)': \(entry.bytes.count) bytes for shape \(entry.shape) \(entry.dtype)")
            header[name] = ["dtype": entry.dtype.rawValue, "shape": entry.shape, "data_offsets": [offset, offset + entry.bytes.count]]
            offset += entry.bytes.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        while json.count % 8 != 0 { json.append(UInt8(ascii: " ")) }
        var bytes = (0..<8).map { UInt8(truncatingIfNeeded: UInt64(json.count) >> (8 * $0)) }
        bytes.reserveCapacity(8 + json.count + offset)
        bytes += json
        for name in names { bytes += tensors[name]!.bytes }
        return bytes
    }

    /// Writes the file atomically: to a temporary file in the same folder, flushed to
    /// disk, then renamed over `url`. A crash or a full disk leaves either the old
    /// file or the new one, never half of one.
    public func write(to url: URL) throws {
        try AtomicFile.write(try encoded(), to: url)
    }
}
