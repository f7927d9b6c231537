import HeedOps

/// Batch normalisation: kernels of `Kernels/normalization.cl`, launched as
/// `NormalizationLaunch` says (one work-group per channel).
extension OpenCLBackend {
    /// The launch the normalization kernels use on this backend: `NormalizationLaunch.override`
    /// when one is set (the tuner and the tests), else the device's defaults.
    var normalizationLaunch: NormalizationLaunch {
        get throws {
            guard let chosen = NormalizationLaunch.override else { return .defaults(for: device) }
            try chosen.validate(for: device)
            return chosen
        }
    }

    public static let normalization: [OpImplementation<OpenCLBackend>] = [
        OpImplementation(NormalizationOps.forwardTraining) { backend, d, b in
            try backend.launchBatchNorm(
                "batch_norm_forward_training", d, NormalizationOps.forwardTraining.errorName,
                buffers: [b.input, b.weight, b.bias, b.runningMean, b.runningVariance, b.output, b.savedMean, b.savedInverseStd],
                settings: [.float(d.epsilon), .float(d.momentum)])
        },
        OpImplementation(NormalizationOps.forwardInference) { backend, d, b in
            try backend.launchBatchNorm(
                "batch_norm_forward_inference", d, NormalizationOps.forwardInference.errorName,
                buffers: [b.input, b.weight, b.bias, b.runningMean, b.runningVariance, b.output],
                settings: [.float(d.epsilon)])
        },
        OpImplementation(NormalizationOps.backward) { backend, d, b in
            try backend.launchBatchNorm(
                "batch_norm_backward", d, NormalizationOps.backward.errorName,
                buffers: [
                    b.input, b.outputGradient, b.weight, b.savedMean, b.savedInverseStd, b.inputGradient, b.weightGradient,
                    b.biasGradient,
                ],
                settings: [])
        },
    ]

    /// Launches one group per channel: the buffers, then channels, spatial and batch, then `settings`.
    private func launchBatchNorm(
        _ kernel: String, _ d: BatchNormDescriptor, _ op: String, buffers: [OpenCLBuffer], settings: [KernelArgument]
    ) throws {
        // The kernels index elements with 32-bit ints.
        _ = try KernelArgument.int(d.count, op)
        let shape = try normalizationLaunch
        try launch(
            family: "normalization", kernel: kernel, defines: shape.defines,
            global: [d.channels * shape.itemsPerChannel], local: [shape.itemsPerChannel],
            arguments: buffers.map { .buffer($0) } + [try .int(d.channels, op), try .int(d.spatial, op), try .int(d.batch, op)]
                + settings)
    }
}

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

    /// The launch without tuning, from the device's properties. CPUs: one item per
    /// channel, so the channel's reduction is one contiguous loop and no barrier runs,
    /// loading two of the device's native vectors at a time (two independent chains of
    /// additions; 16 floats on AVX2, capped at 16). GPUs and other devices: 256 items
    /// (or the largest power of two the device allows) in vectors of the width the driver
    /// prefers.
    public static func defaults(for device: OpenCLDeviceInfo) -> NormalizationLaunch {
        let widths = values(of: .vectorWidth, for: device)
        func width(_ wanted: Int) -> Int { widths.last { $0 <= max(wanted, 1) } ?? 1 }
        if device.kind == .cpu {
            return NormalizationLaunch(itemsPerChannel: 1, vectorWidth: width(2 * device.nativeFloatVectorWidth))
        }
        let items = values(of: .itemsPerChannel, for: device).last { $0 <= 256 } ?? 1
        return NormalizationLaunch(itemsPerChannel: items, vectorWidth: width(device.preferredFloatVectorWidth))
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

    /// The launch to use instead of the device's defaults while a task runs (tuning,
    /// tests): `NormalizationLaunch.$override.withValue(launch) { … }`.
    @TaskLocal public static var override: NormalizationLaunch?
}
