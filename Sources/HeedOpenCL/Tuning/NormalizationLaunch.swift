import HeedOps

/// How `Kernels/normalization.cl` is launched: its knobs (the `#ifndef` defines at the
/// top of the file), the values each may take on a device, and the defaults, so a tuner
/// can enumerate them and the tests can verify every one.
///
/// Each kernel runs one work-group of `itemsPerChannel` items per channel. On a CPU
/// (PoCL runs one work-group per thread) one item per channel reads its channel front to
/// back in vectors of `vectorWidth` floats; a GPU gets a group of 256 items sharing each
/// plane of the channel in consecutive vectors, and a tree sum in local memory.
public struct NormalizationLaunch: Hashable, Sendable, CustomStringConvertible {
    public enum Knob: String, CaseIterable, Sendable {
        /// `BN_WG`: work items per channel, the work-group size. A power of two from 1 to
        /// the device's maximum work-group size, at most 1024.
        case itemsPerChannel = "BN_WG"
        /// `BN_VECTOR`: floats per load and store: 1, 2, 4, 8 or 16.
        case vectorWidth = "BN_VECTOR"
    }

    public var itemsPerChannel: Int
    public var vectorWidth: Int

    public init(itemsPerChannel: Int, vectorWidth: Int) {
        self.itemsPerChannel = itemsPerChannel
        self.vectorWidth = vectorWidth
    }

    public subscript(knob: Knob) -> Int {
        get {
            switch knob {
            case .itemsPerChannel: itemsPerChannel
            case .vectorWidth: vectorWidth
            }
        }
        set {
            switch knob {
            case .itemsPerChannel: itemsPerChannel = newValue
            case .vectorWidth: vectorWidth = newValue
            }
        }
    }

    /// The program's defines: every knob, by its define's name.
    public var defines: [String: String] {
        Dictionary(uniqueKeysWithValues: Knob.allCases.map { ($0.rawValue, "\(self[$0])") })
    }

    public var description: String {
        Knob.allCases.map { "\($0.rawValue)=\(self[$0])" }.joined(separator: " ")
    }

    /// The values `knob` may take on `device`, smallest first.
    public static func values(of knob: Knob, for device: OpenCLDeviceInfo) -> [Int] {
        switch knob {
        case .itemsPerChannel:
            let largest = min(device.maxWorkGroupSize, 1024)
            return (0...10).map { 1 << $0 }.filter { $0 <= largest }
        case .vectorWidth:
            return [1, 2, 4, 8, 16]
        }
    }

    /// The launch without tuning, from the device's properties (`DeviceShapes.normalization`).
    public static func defaults(for device: OpenCLDeviceInfo) -> NormalizationLaunch {
        DeviceShapes(for: device).normalization
    }

    /// CPUs: one item per channel, so the channel's reduction is one contiguous loop and
    /// no barrier runs, loading two of the device's native vectors at a time (two
    /// independent chains of additions; 16 floats on AVX2, capped at 16).
    static func cpuDefaults(for device: OpenCLDeviceInfo) -> NormalizationLaunch {
        NormalizationLaunch(itemsPerChannel: 1, vectorWidth: width(2 * device.nativeFloatVectorWidth, for: device))
    }

    /// GPUs and other devices: 256 items per channel (or the largest power of two the
    /// device allows) in vectors of the width the driver prefers.
    static func gpuDefaults(for device: OpenCLDeviceInfo) -> NormalizationLaunch {
        let items = values(of: .itemsPerChannel, for: device).last { $0 <= 256 } ?? 1
        return NormalizationLaunch(itemsPerChannel: items, vectorWidth: width(device.preferredFloatVectorWidth, for: device))
    }

    /// The widest vector width of the knob's values that is at most `wanted`.
    private static func width(_ wanted: Int, for device: OpenCLDeviceInfo) -> Int {
        values(of: .vectorWidth, for: device).last { $0 <= max(wanted, 1) } ?? 1
    }

    /// The defaults, then every launch that differs from them in one knob, each knob
    /// through all its values: what the tests verify, so no reachable value goes untried.
    public static func oneKnobVariations(for device: OpenCLDeviceInfo) -> [NormalizationLaunch] {
        let base = defaults(for: device)
        return [base]
            + Knob.allCases.flatMap { knob in
                values(of: knob, for: device).filter { $0 != base[knob] }.map { value in
                    var launch = base
                    launch[knob] = value
                    return launch
                }
            }
    }

    /// Throws unless every knob holds one of its values for `device`.
    public func validate(for device: OpenCLDeviceInfo) throws {
        for knob in Knob.allCases where !Self.values(of: knob, for: device).contains(self[knob]) {
            throw HeedError.invalidArgument(
                op: "batch_norm",
                "\(knob.rawValue)=\(self[knob]) is not one of \(Self.values(of: knob, for: device)) on \(device.name)")
        }
    }

    /// The knobs as `name: value`, the form a tuning file stores.
    public var knobs: [String: Int] {
        Dictionary(uniqueKeysWithValues: Knob.allCases.map { ($0.rawValue, self[$0]) })
    }

    /// The launch a tuning file's knobs describe; throws when one is missing, unknown or
    /// not one of its values on `device`.
    public init(knobs: [String: Int], for device: OpenCLDeviceInfo) throws {
        let unknown = Set(knobs.keys).subtracting(Knob.allCases.map(\.rawValue)).sorted()
        guard unknown.isEmpty else { throw HeedError.invalidArgument(op: "batch_norm", "tuning has unknown knobs \(unknown)") }
        self.init(itemsPerChannel: 0, vectorWidth: 0)
        for knob in Knob.allCases {
            guard let value = knobs[knob.rawValue] else {
                throw HeedError.invalidArgument(op: "batch_norm", "tuning has no value for \(knob.rawValue)")
            }
            self[knob] = value
        }
        try validate(for: device)
    }
}
