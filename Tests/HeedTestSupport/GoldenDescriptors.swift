import HeedOps
import XCTest

/// The descriptors the golden fixtures' cases describe, read once for both the reference's
/// tests (HeedReferenceTests) and the OpenCL backend's (HeedOpenCLTests).
extension PyTorchFixture.Case {
    /// A `batch_norm.json` case: input (N, C, …), eps and momentum.
    public func batchNormDescriptor() throws -> BatchNormDescriptor {
        let x = try tensor("input")
        return BatchNormDescriptor(
            batch: x.shape[0], channels: x.shape[1], spatial: x.shape.dropFirst(2).reduce(1, *),
            epsilon: Float(try setting("eps")), momentum: Float(try setting("momentum")))
    }

    /// A `softmax.json` case: over the last axis of its input, log-softmax for the `log_` cases.
    public func softmaxDescriptor() throws -> SoftmaxDescriptor {
        let x = try tensor("input")
        let axis = try intSetting("dim")
        XCTAssertEqual(axis, x.shape.count - 1, "the fixtures normalise the last axis")
        let kind: SoftmaxKind = name.hasPrefix("log_") ? .logSoftmax : .softmax
        return SoftmaxDescriptor(kind, outer: x.values.count / x.shape[axis], axis: x.shape[axis])
    }

    /// A `conv2d.json` case: its input and weight shapes, stride and padding, and the
    /// output shape PyTorch gave.
    public func conv2dDescriptor() throws -> Conv2dDescriptor {
        let d = try Conv2dDescriptor(
            input: try tensor("input").shape, weight: try tensor("weight").shape, stride: try intSetting("stride"),
            padding: try intSetting("padding"))
        XCTAssertEqual(d.outputShape, try tensor("output").shape, name)
        return d
    }
}
