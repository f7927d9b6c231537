import Foundation

/// A file of golden values from PyTorch in `Tests/Fixtures/pytorch/`, written by
/// `Tests/Fixtures/generate_pytorch_fixtures.py` (whose header documents every file's
/// cases, settings and tensors). Tests need only the JSON, never PyTorch.
///
/// ```swift
/// let fixture = try PyTorchFixture.load("grid_sample")
/// for item in fixture.cases {
///     let theta = try item.tensor("theta")            // shape [N, 2, 3], values [Float]
///     let height = try item.intSetting("out_height")
/// }
/// ```
public struct PyTorchFixture: Decodable, Sendable {
    /// The file name without `.json`.
    public let family: String
    public let description: String
    /// The PyTorch version that computed the values.
    public let torch: String
    public let cases: [Case]

    /// One call of the op: its scalar settings and its named tensors.
    public struct Case: Decodable, Sendable {
        public let name: String
        public let settings: [String: Double]
        public let tensors: [String: FixtureTensor]

        /// The tensor called `name`, or an error listing those the case has.
        public func tensor(_ name: String) throws -> FixtureTensor {
            guard let tensor = tensors[name] else {
                throw FixtureError.missing("tensor '\(name)'", in: self.name, has: tensors.keys.sorted())
            }
            return tensor
        }

        /// The setting called `name`, or an error listing those the case has.
        public func setting(_ name: String) throws -> Double {
            guard let value = settings[name] else {
                throw FixtureError.missing("setting '\(name)'", in: self.name, has: settings.keys.sorted())
            }
            return value
        }

        /// An integer setting (a size, a stride, a 0/1 flag).
        public func intSetting(_ name: String) throws -> Int {
            let value = try setting(name)
            guard let integer = Int(exactly: value) else {
                throw FixtureError.malformed("setting '\(name)' of case \(self.name) is \(value), not an integer")
            }
            return integer
        }
    }

    /// The case called `name`.
    public func named(_ name: String) throws -> Case {
        guard let found = cases.first(where: { $0.name == name }) else {
            throw FixtureError.missing("case '\(name)'", in: family, has: cases.map(\.name))
        }
        return found
    }

    /// `Tests/Fixtures/pytorch`, found from this source file's path, so tests read the
    /// committed files wherever the package is checked out.
    public static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent("Fixtures/pytorch")

    /// Reads and decodes `<family>.json`.
    public static func load(_ family: String) throws -> PyTorchFixture {
        let url = directory.appendingPathComponent("\(family).json")
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw FixtureError.unreadable(url.path, "\(error.localizedDescription)")
        }
        return try JSONDecoder().decode(PyTorchFixture.self, from: data)
    }
}

/// A named float32 array with its shape (row-major).
public struct FixtureTensor: Decodable, Sendable {
    public let shape: [Int]
    public let values: [Float]

    private enum CodingKeys: String, CodingKey { case shape, values }

    /// Numbers are decoded as Double and rounded to Float: the generator writes each
    /// so that this recovers the float32 PyTorch stored exactly.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        shape = try container.decode([Int].self, forKey: .shape)
        values = try container.decode([Double].self, forKey: .values).map { Float($0) }
        guard values.count == shape.reduce(1, *) else {
            throw DecodingError.dataCorruptedError(
                forKey: .values, in: container,
                debugDescription: "\(values.count) values for shape \(shape)")
        }
    }
}

public enum FixtureError: Error, CustomStringConvertible {
    case unreadable(String, String)
    case missing(String, in: String, has: [String])
    case malformed(String)

    public var description: String {
        switch self {
        case .unreadable(let path, let reason): return "cannot read fixture \(path): \(reason)"
        case .missing(let what, let place, let has): return "no \(what) in \(place) (has: \(has.joined(separator: ", ")))"
        case .malformed(let detail): return "malformed fixture: \(detail)"
        }
    }
}
