import HeedData
import HeedGraph
import HeedModels
import HeedOpenCL
import HeedOpenCLTestSupport
import HeedOps
import HeedTestSupport
import HeedVerify
import XCTest

final class Coarse2FineTests: XCTestCase {
    private let trunk = WideResNetConfiguration(depth: 10, width: 1, classes: 4)
    private let attention = AttentionConfiguration(depth: 3, width: 2, orthogonalInitialization: true)

    private func network(on backend: any Backend, fineGradient: Bool = true) throws -> Network {
        try ModelConfiguration(
            backbone: .wideResNet(trunk), attention: attention,
            coarse2fine: Coarse2FineConfiguration(fineStartEpoch: 0, fineGradient: fineGradient)
        )
        .makeModel(on: backend, seed: 3)
    }

    /// Four 16×16 synthetic images and their labels.
    private func batch(on backend: any Backend) throws -> (images: Tensor, labels: any DeviceBuffer) {
        var configuration = SyntheticFineGrained.Configuration()
        configuration.size = 16
        configuration.detailSize = 3
        configuration.classes = 4
        configuration.trainCount = 4
        configuration.testCount = 1
        let data = SyntheticFineGrained.make(configuration, seed: 5).train
        let loader = BatchLoader(dataset: data, batchSize: 4, shuffle: false, dropLast: false, normalization: .measured(on: data), seed: 1)
        let batch = loader.batch(epoch: 0, index: 0)
        return (try Tensor(batch.images, shape: [4, 3, 16, 16], on: backend), try backend.makeBuffer(batch.labels))
    }

    /// Each attention head's weight, viewed as K × 9C, has orthonormal rows times √2:
    /// W·Wᵀ = 2·I within 1e-5 (float32 storage of Double-exact rows).
    func testAttentionHeadsStartWithOrthonormalRows() throws {
        let model = try network(on: TestDevices.reference)
        for module in try XCTUnwrap(model.attention).modules {
            let weight = try module.attentionHead.conv.weight.values().map(Double.init)
            let (rows, columns) = (module.heads, weight.count / module.heads)
            for i in 0..<rows {
                for j in 0..<rows {
                    let dot = (0..<columns).reduce(0.0) { $0 + weight[i * columns + $1] * weight[j * columns + $1] }
                    XCTAssertEqual(dot, i == j ? 2 : 0, accuracy: 1e-5, "W·Wᵀ[\(i), \(j)]")
                }
            }
        }
    }

    /// θ = [[1, 0, 0], [0, 1, 0]] samples every pixel centre: the zoomed image is the image.
    func testIdentityZoomReproducesTheImage() throws {
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let (images, _) = try batch(on: backend)
            let identity = try Tensor([Float]([1, 0, 0, 0, 1, 0]).repeated(4), shape: [4, 2, 3], on: backend)
            let zoomed = try images.gridSample(identity.affineGrid(height: 16, width: 16))
            let (a, b) = (try zoomed.values(), try images.values())
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-6 * max(1, abs(y)), backend.name) }
        }
    }

    /// The fine loss reaches the inverse mapping (only through θ) and adds to the
    /// attention heads' gradient through θ; with `fineGradient` off, neither happens.
    func testFineGradientFlowsThroughTheZoomOnlyWhenEnabled() throws {
        let backend = try TestDevices.requireOpenCL()
        var attentionHeadGradients: [[Float]] = []
        for fineGradient in [true, false] {
            let model = try network(on: backend, fineGradient: fineGradient)
            let (images, labels) = try batch(on: backend)
            let views = try model.views(images)
            try views.fine.output.nllLoss(labels: labels).backward()
            let mapping = try XCTUnwrap(model.coarse2fine).inverseMapping.weight.gradient?.values() ?? []
            if fineGradient {
                XCTAssertTrue(mapping.contains { $0 != 0 }, "the fine loss must reach the inverse mapping")
            } else {
                XCTAssertTrue(mapping.allSatisfy { $0 == 0 }, "no fine gradient: the inverse mapping gets none")
            }
            attentionHeadGradients.append(try XCTUnwrap(XCTUnwrap(model.attention).modules[0].attentionHead.conv.weight.gradient).values())
        }
        // Both runs share the direct path (the fine view's own att2); only the first adds the path through θ.
        let difference = zip(attentionHeadGradients[0], attentionHeadGradients[1]).map { abs($0 - $1) }.maxPropagatingNaN() ?? 0
        XCTAssertGreaterThan(difference, 0, "the zoom path must add to att2's attention-head gradient")
    }

    /// One whole Coarse2Fine step (both views, both losses, the regulariser) gives the
    /// same loss and parameter gradients on OpenCL as on the reference: 1e-4 relative for
    /// the loss, 1e-3 of each gradient's largest element (float32 through two passes of
    /// ~20 layers and the sampler against a Double-accumulating reference).
    func testOneStepAgreesOnOpenCLAndTheReference() throws {
        var results: [(loss: Float, gradients: [String: [Float]])] = []
        for backend in [TestDevices.reference, try TestDevices.requireOpenCL()] as [any Backend] {
            let model = try network(on: backend)
            let (images, labels) = try batch(on: backend)
            let (loss, _) = try model.trainingLoss(images: images, labels: labels)
            try loss.backward()
            var gradients: [String: [Float]] = [:]
            for (name, parameter) in model.namedParameters { gradients[name] = try parameter.gradient?.values() }
            results.append((try loss.item(), gradients))
        }
        let (reference, device) = (results[0], results[1])
        XCTAssertEqual(device.loss, reference.loss, accuracy: 1e-4 * abs(reference.loss))
        XCTAssertEqual(Set(device.gradients.keys), Set(reference.gradients.keys))
        XCTAssertNotNil(reference.gradients["inverse_mapping.weight"])
        for (name, expected) in reference.gradients {
            let actual = try XCTUnwrap(device.gradients[name])
            let scale = expected.map(abs).maxPropagatingNaN() ?? 0
            let worst = zip(actual, expected).map { abs($0 - $1) }.maxPropagatingNaN() ?? 0
            XCTAssertLessThanOrEqual(worst, 1e-3 * scale, name)
        }
    }
}

extension Array {
    fileprivate func repeated(_ times: Int) -> [Element] { (0..<times).flatMap { _ in self } }
}
