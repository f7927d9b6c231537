import HeedGraph
import HeedOps

/// A bias-free convolution of torchvision's ResNet (`nn.Conv2d(..., bias=False)`), grouped
/// when `groups` > 1 (ResNeXt's 3×3), initialised as torchvision does:
/// `kaiming_normal_(mode="fan_out", nonlinearity="relu")`, N(0, 2 / (out · k²)).
/// Parameter `weight` (out, in / groups, k, k).
public final class ResNetConvolution: Module {
    public let weight: Tensor
    public let stride: Int
    public let padding: Int
    public let groups: Int

    init(
        _ inChannels: Int, _ outChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1,
        on backend: any Backend, random: inout SeededGenerator
    ) throws {
        let fanOut = outChannels * kernelSize * kernelSize
        let count = outChannels * (inChannels / groups) * kernelSize * kernelSize
        weight = try Tensor(
            parameter: Initialization.normal(count: count, std: (2 / Double(fanOut)).squareRoot(), random: &random),
            shape: [outChannels, inChannels / groups, kernelSize, kernelSize], on: backend)
        self.stride = stride
        self.padding = padding
        self.groups = groups
        super.init()
        register(parameter: weight, as: "weight")
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        guard groups > 1 else { return try x.conv2d(weight: weight, bias: nil, stride: stride, padding: padding) }
        return try x.groupedConv2d(weight: weight, bias: nil, stride: stride, padding: padding, groups: groups)
    }

    /// The output side for an input side.
    func outputSide(_ side: Int) -> Int {
        (side + 2 * padding - weight.shape[2]) / stride + 1
    }

    /// Floating-point operations (2 per multiply-add) per image for an input of `height × width`.
    func flops(height: Int, width: Int) -> Int {
        2 * weight.count * outputSide(height) * outputSide(width)
    }
}

/// torchvision's `downsample`: `nn.Sequential(conv1x1(stride), BatchNorm2d)`, children `0` and `1`.
public final class Downsample: Module {
    public let conv: ResNetConvolution
    public let bn: BatchNorm

    init(_ inChannels: Int, _ outChannels: Int, stride: Int, on backend: any Backend, random: inout SeededGenerator) throws {
        conv = try ResNetConvolution(inChannels, outChannels, kernelSize: 1, stride: stride, on: backend, random: &random)
        bn = try BatchNorm(outChannels, on: backend)
        super.init()
        register(child: conv, as: "0")
        register(child: bn, as: "1")
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try bn(conv(x))
    }
}

/// torchvision's residual blocks, post-activation ("ResNet v1.5"):
///
///     BasicBlock:  out = relu(bn1(conv1(x)))            conv1 3×3, stride
///                  out = bn2(conv2(out))                conv2 3×3
///     Bottleneck:  out = relu(bn1(conv1(x)))            conv1 1×1, to `width`
///                  out = relu(bn2(conv2(out)))          conv2 3×3, stride, groups
///                  out = bn3(conv3(out))                conv3 1×1, to planes · 4
///     both:        out = relu(out + (downsample?(x) ?? x))
///
/// Parameters `conv{1,2[,3]}.weight`, `bn{1,2[,3]}.*` and `downsample.{0,1}.*`, in
/// torchvision's order.
public final class ResidualBlock: Module {
    public let convolutions: [ResNetConvolution]
    public let norms: [BatchNorm]
    public let downsample: Downsample?

    /// - Parameters:
    ///   - planes: torchvision's `planes`; the block's output has planes · expansion channels.
    ///   - width: the channels inside a bottleneck (planes · width_per_group / 64 · groups).
    init(
        kind: ResNetConfiguration.Block, inChannels: Int, planes: Int, stride: Int, groups: Int, width: Int,
        on backend: any Backend, random: inout SeededGenerator
    ) throws {
        let outChannels = planes * kind.expansion
        switch kind {
        case .basic:
            convolutions = [
                try ResNetConvolution(inChannels, planes, kernelSize: 3, stride: stride, padding: 1, on: backend, random: &random),
                try ResNetConvolution(planes, planes, kernelSize: 3, padding: 1, on: backend, random: &random),
            ]
            norms = [try BatchNorm(planes, on: backend), try BatchNorm(planes, on: backend)]
        case .bottleneck:
            convolutions = [
                try ResNetConvolution(inChannels, width, kernelSize: 1, on: backend, random: &random),
                try ResNetConvolution(
                    width, width, kernelSize: 3, stride: stride, padding: 1, groups: groups, on: backend, random: &random),
                try ResNetConvolution(width, outChannels, kernelSize: 1, on: backend, random: &random),
            ]
            norms = [try BatchNorm(width, on: backend), try BatchNorm(width, on: backend), try BatchNorm(outChannels, on: backend)]
        }
        downsample =
            stride != 1 || inChannels != outChannels
            ? try Downsample(inChannels, outChannels, stride: stride, on: backend, random: &random) : nil
        super.init()
        for (index, (conv, norm)) in zip(convolutions, norms).enumerated() {
            register(child: conv, as: "conv\(index + 1)")
            register(child: norm, as: "bn\(index + 1)")
        }
        if let downsample { register(child: downsample, as: "downsample") }
    }

    /// The ReLUs after batch norms are fused into them, the last runs in place on the sum
    /// (which saves nothing); the shortcut is added in place to the last batch norm's
    /// output (batch norm saves its input, not its output).
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var out = x
        for (index, (conv, norm)) in zip(convolutions, norms).enumerated() {
            out = try norm(conv(out), relu: index < convolutions.count - 1)
        }
        let shortcut = try downsample.map { try $0(x) } ?? x
        return try out.adding(shortcut, inPlace: true).relu(inPlace: true)
    }

    /// Floating-point operations per image for an input of `height × width`, and the output's side.
    func flops(height: Int, width: Int) -> (flops: Int, height: Int, width: Int) {
        var (h, w, total) = (height, width, 0)
        for conv in convolutions {
            total += conv.flops(height: h, width: w)
            (h, w) = (conv.outputSide(h), conv.outputSide(w))
        }
        total += downsample?.conv.flops(height: height, width: width) ?? 0
        return (total, h, w)
    }
}

/// One of torchvision's `layer1` … `layer4`: an `nn.Sequential` of blocks `0`, `1`, …;
/// block 0 takes the stage's stride and, where the shape changes, a downsample.
public final class ResNetStage: Module {
    public let blocks: [ResidualBlock]

    init(
        _ architecture: ResNetConfiguration.Architecture, inChannels: Int, planes: Int, count: Int, stride: Int,
        on backend: any Backend, random: inout SeededGenerator
    ) throws {
        let width = planes * architecture.widthPerGroup / 64 * architecture.groups
        let outChannels = planes * architecture.block.expansion
        blocks = try (0..<count).map { index in
            try ResidualBlock(
                kind: architecture.block, inChannels: index == 0 ? inChannels : outChannels, planes: planes,
                stride: index == 0 ? stride : 1, groups: architecture.groups, width: width, on: backend, random: &random)
        }
        super.init()
        for (index, block) in blocks.enumerated() { register(child: block, as: "\(index)") }
    }

    /// Each block's output replaces the last, so that evaluation frees each once the next has read it.
    func callAsFunction(_ x: Tensor) throws -> Tensor {
        var x = x
        for block in blocks { x = try block(x) }
        return x
    }
}
