import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOps

/// Classifies images with a trained network as its training run's evaluation saw its
/// test images: each image through the run's evaluation transform (`InputTransform`),
/// then the network in evaluation mode, a batch at a time.
///
/// ```swift
/// let predictor = try Predictor(network: network, transform: transform, backend: backend)
/// let best = try predictor.predict([RGBImage.read(from: url)])[0].top(1)
/// ```
public struct Predictor {
    public let network: Network
    public let transform: InputTransform
    public let backend: any Backend

    /// Puts `network` in evaluation mode.
    ///
    /// - Throws: `HeedError.invalidArgument` unless `transform` has 3 channels (RGB) as
    ///   the network's input has.
    public init(network: Network, transform: InputTransform, backend: any Backend) throws {
        guard transform.normalization.mean.count == 3 else {
            throw HeedError.invalidArgument(
                op: "predict", "the input transform normalises \(transform.normalization.mean.count) channels, images have 3 (RGB)")
        }
        network.eval()
        self.network = network
        self.transform = transform
        self.backend = backend
    }

    /// What the network makes of each image, in order: one batch, however many images.
    public func predict(_ images: [RGBImage]) throws -> [Prediction] {
        guard !images.isEmpty else { return [] }
        let inputs = try Tensor(
            images.flatMap(transform.input(for:)), shape: [images.count, 3, transform.height, transform.width], on: backend)
        // Read back here, a blocking read per call: every image's output is returned, and
        // `heed predict` prints each one (evaluation's counts stay on the device instead).
        let (output, theta) = try Tensor.withoutGradients { () -> ([Float], [Float]?) in
            guard network.coarse2fine != nil else { return (try network.logProbabilities(images: inputs).values(), nil) }
            let views = try network.views(inputs)
            return (try views.output.values(), try views.theta.values())
        }
        let classes = network.classCount
        return images.indices.map { item in
            Prediction(
                output: Array(output[item * classes..<(item + 1) * classes]),
                zoom: theta.map { ZoomWindow(theta: $0, item: item) })
        }
    }
}

/// What a network makes of one image.
public struct Prediction: Sendable, Equatable {
    /// The network's output for the image, one value per class: the log-softmax of the
    /// logits (baseline), the gated mixture of log-probabilities (attention networks,
    /// docs/design.md §4) or the mean of both views' mixtures (Coarse2Fine).
    public let output: [Float]
    /// Where the Coarse2Fine zoom looked; nil for other networks.
    public let zoom: ZoomWindow?

    public init(output: [Float], zoom: ZoomWindow?) {
        self.output = output
        self.zoom = zoom
    }

    /// The class probabilities: exp(output) normalised over the classes (softmax). For
    /// the baseline that is exp(output) itself; an attention network's mixture of
    /// log-probabilities is not normalised, and this makes it so. Monotonic in the
    /// output, so the most probable class is the one `heed evaluate` counts.
    public var probabilities: [Double] {
        let largest = Double(output.max() ?? 0)
        let exps = output.map { exp(Double($0) - largest) }
        let total = exps.reduce(0, +)
        return exps.map { $0 / total }
    }

    /// The indices of the `k` most probable classes (at most all), most probable first;
    /// of equal outputs the lower index first, as `heed evaluate`'s argmax takes it.
    public func top(_ k: Int) -> [Int] {
        Array(output.indices.sorted { output[$0] > output[$1] || (output[$0] == output[$1] && $0 < $1) }.prefix(k))
    }
}

/// The Coarse2Fine zoom of one image, θ = [[s, 0, tx], [0, s, ty]] (docs/design.md §5):
/// the zoomed view covers tx ± s and ty ± s in the sampling grid's coordinates, which
/// run from -1 (the left or top edge of the image) to 1 (the right or bottom edge).
public struct ZoomWindow: Sendable, Equatable {
    /// s: the share of each side the view covers.
    public let scale: Float
    /// tx and ty: the view's centre.
    public let x: Float
    public let y: Float

    public init(scale: Float, x: Float, y: Float) {
        self.scale = scale
        self.x = x
        self.y = y
    }

    /// Item `item`'s zoom in the values of θ, (B, 2, 3).
    public init(theta: [Float], item: Int) {
        self.init(scale: theta[item * 6], x: theta[item * 6 + 2], y: theta[item * 6 + 5])
    }

    /// The view's box in the pixels of an image of `width × height` (any size: the
    /// network's input is that image resized), from the top-left corner.
    public func box(width: Int, height: Int) -> (x0: Double, y0: Double, x1: Double, y1: Double) {
        func pixels(_ u: Float, _ side: Int) -> Double { (Double(u) + 1) / 2 * Double(side) }
        return (pixels(x - scale, width), pixels(y - scale, height), pixels(x + scale, width), pixels(y + scale, height))
    }
}
