import Foundation
import HeedSupport

extension SafeTensors {
    // MARK: Reading

    /// Reads and validates a safetensors file.
    ///
    /// - Throws: `FileError` naming the file and the problem: missing or
    ///   unreadable, shorter than its header says, malformed JSON, unknown dtype,
    ///   byte ranges that do not match the shape or lie outside the file.
    public static func read(from url: URL) throws -> SafeTensors {
        let path = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            let reason = FileManager.default.fileExists(atPath: path) ? "cannot be read" : "no such file"
            throw FileError(path: path, problem: reason)
        }
        return try decode([UInt8](data), path: path)
    }

    /// Parses the bytes of a safetensors file; `path` names it in errors.
    public static func decode(_ bytes: [UInt8], path: String) throws -> SafeTensors {
        func fail(_ problem: String) -> FileError { FileError(path: path, problem: problem) }
        guard bytes.count >= 8 else { throw fail("not a safetensors file: \(bytes.count) bytes, shorter than the 8-byte header length") }
        let headerLength = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        guard headerLength <= UInt64(bytes.count - 8) else {
            throw fail("not a safetensors file or truncated: header of \(headerLength) bytes, file has \(bytes.count)")
        }
        let dataStart = 8 + Int(headerLength)
        guard let json = try? JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])),
            let header = json as? [String: Any]
        else { throw fail("corrupt header: not a JSON object") }

        var result = SafeTensors()
        var ranges: [(String, Range<Int>)] = []
        let dataLength = bytes.count - dataStart
        for (name, value) in header {
            if name == "__metadata__" {
                guard let metadata = value as? [String: String] else { throw fail("corrupt header: __metadata__ is not a string map") }
                result.metadata = metadata
                continue
            }
            guard let info = value as? [String: Any],
                let dtypeName = info["dtype"] as? String,
                let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                let offsets = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                offsets.count == 2, shape.count == (info["shape"] as? [Any])?.count
            else { throw fail("corrupt header entry for tensor '\(name)'") }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("tensor '\(name)' has unsupported dtype \(dtypeName)")
            }
            guard shape.allSatisfy({ $0 >= 0 }) else { throw fail("tensor '\(name)' has a negative dimension in \(shape)") }
            let (begin, end) = (offsets[0], offsets[1])
            guard 0 <= begin, begin <= end, end <= dataLength else {
                throw fail("tensor '\(name)' spans bytes \(begin)..<\(end) but the data section has \(dataLength) (truncated file?)")
            }
            let expected = shape.reduce(1, *) * dtype.byteSize
            guard end - begin == expected else {
                throw fail("tensor '\(name)' of shape \(shape) \(dtypeName) needs \(expected) bytes, header gives \(end - begin)")
            }
            ranges.append((name, begin..<end))
            result.tensors[name] = Entry(dtype: dtype, shape: shape, bytes: Array(bytes[dataStart + begin..<dataStart + end]))
        }
        // Tensors must not overlap (the format forbids it; an overlap means a damaged header).
        let sorted = ranges.sorted { $0.1.lowerBound < $1.1.lowerBound }
        for (previous, next) in zip(sorted, sorted.dropFirst()) where previous.1.upperBound > next.1.lowerBound {
            throw fail("tensors '\(previous.0)' and '\(next.0)' overlap in the data section")
        }
        return result
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
