import HeedOps

/// grouped_conv2d cases, every direction, made from the table (`TableVerification`):
/// one group (conv2d itself), 2 and 3 groups at odd sizes and strides, 32 groups as in
/// ResNeXt, and depthwise (G = C, and O = 2C), on small integers and uniform floats.
enum GroupedConvolutionVerification {
    static let shapes: [(GroupedConv2dDescriptor, bias: Bool)] = [
        (
            GroupedConv2dDescriptor(
                batch: 1, inChannels: 1, outChannels: 1, height: 1, width: 1,
                kernelHeight: 1, kernelWidth: 1, groups: 1), true
        ),
        (
            GroupedConv2dDescriptor(
                batch: 2, inChannels: 4, outChannels: 6, height: 7, width: 5,
                kernelHeight: 3, kernelWidth: 3, padding: 1, groups: 2), true
        ),
        (
            GroupedConv2dDescriptor(
                batch: 3, inChannels: 9, outChannels: 3, height: 9, width: 7,
                kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1, groups: 3), false
        ),
        (
            GroupedConv2dDescriptor(
                batch: 2, inChannels: 6, outChannels: 3, height: 10, width: 8,
                kernelHeight: 5, kernelWidth: 3, stride: 3, padding: 2, groups: 3), true
        ),
        (
            GroupedConv2dDescriptor(
                batch: 2, inChannels: 64, outChannels: 64, height: 5, width: 5,
                kernelHeight: 3, kernelWidth: 3, padding: 1, groups: 32), false
        ),
        (
            GroupedConv2dDescriptor(
                batch: 2, inChannels: 7, outChannels: 7, height: 6, width: 9,
                kernelHeight: 3, kernelWidth: 3, stride: 2, padding: 1, groups: 7), true
        ),
        (
            GroupedConv2dDescriptor(
                batch: 1, inChannels: 5, outChannels: 10, height: 4, width: 4,
                kernelHeight: 3, kernelWidth: 3, groups: 5), false
        ),
    ]

    static let cases: [VerificationCase] = shapes.flatMap { d, bias in
        [true, false].flatMap { integers in
            [
                TableVerification.sums(
                    GroupedConvolutionOps.forward, d, shape: shape(d, bias: bias),
                    leaving: bias ? [] : ["bias"], integers: integers),
                TableVerification.sums(GroupedConvolutionOps.backwardInput, d, shape: shape(d), integers: integers),
                TableVerification.sums(GroupedConvolutionOps.backwardWeight, d, shape: shape(d), integers: integers),
            ]
        }
    }

    static func shape(_ d: GroupedConv2dDescriptor, bias: Bool = false) -> String {
        let (x, w) = (d.inputShape.map(String.init), d.weightShape.map(String.init))
        return "\(x.joined(separator: "×")) ⋆ \(w.joined(separator: "×")) s\(d.stride) p\(d.padding) g\(d.groups)"
            + (bias ? " +bias" : "")
    }
}
