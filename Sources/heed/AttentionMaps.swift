import ArgumentParser
import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOps
import HeedTraining
import HeedVisualization

/// `heed attention-maps`: pictures of where each attention head looks.
struct AttentionMaps: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attention-maps",
        abstract: "Draw each attention head's mask over its input images.",
        discussion: """
            For every image writes image_<i>.png, one picture with the input, the global gate \
            values and a row per module with each head's mask over the image (viridis: yellow is \
            that head's highest weight) and its gate value; and image_<i>_att<g>_head<k>.png, each \
            overlay alone at the image's size. Images come from --input (tensor `input`, \
            (N, 3, H, W), normalised as in training) or from a dataset with --indices.
            """)

    @OptionGroup var saved: SavedModelOptions
    @OptionGroup(title: "Data (with --indices)") var data: DataOptions
    @OptionGroup var device: DeviceOptions

    @Option(name: .long, help: "Images: safetensors with tensor `input` (N, 3, H, W).")
    var input: String?

    @Option(name: .long, parsing: .upToNextOption, help: "Test-set images to draw, e.g. --indices 0 5 9.")
    var indices: [Int] = []

    @Option(name: .long, help: "Folder for the pictures.")
    var out: String

    @Option(name: .long, help: "Pixels per image pixel in the grid picture.")
    var scale: Int = 4

    func validate() throws {
        guard (input == nil) != indices.isEmpty else { throw ValidationError("give either --input FILE or --indices I J ...") }
        try OptionError.require("--scale", scale, in: 1...16)
    }

    func run() throws {
        let backend = try device.openBackend()
        let model = try saved.load(on: backend)
        let network = model.network
        guard let attention = network.attention else {
            throw ValidationError("\(saved.checkpoint) is a baseline network (attention depth 0): it has no attention maps")
        }
        let (images, pictures, labels, normalization) = try loadImages(model: model)
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let inputTensor = try Tensor(images.values, shape: images.shape, on: backend)
        // Coarse2Fine: the coarse view's maps, plus the zoom box and the zoomed image.
        let views = try Tensor.withoutGradients { network.coarse2fine == nil ? nil : try network.views(inputTensor) }
        let analysis = try views?.coarse ?? Tensor.withoutGradients { try network.analyse(inputTensor) }
        // Read back: every image's output, gates and masks are drawn and printed.
        let output = try (views?.output ?? analysis.output).values()
        let theta = try views?.theta.values()
        let zoomed = try views?.zoomed.values()
        let globalGates = try analysis.globalGates.values()
        let sources = attention.modules.count + 1
        let moduleData = try analysis.modules.map { (masks: try $0.masks.values(), shape: $0.masks.shape, gates: try $0.gates.values()) }

        for (item, picture) in pictures.enumerated() {
            // Named by test-set index when drawn from a dataset, else by position in --input.
            let number = input == nil ? indices[item] : item
            var maps: [ModuleMaps] = []
            for (index, module) in moduleData.enumerated() {
                let (k, h, w) = (module.shape[1], module.shape[2], module.shape[3])
                let heads = (0..<k).map { head in Array(module.masks[((item * k) + head) * h * w..<((item * k) + head + 1) * h * w]) }
                let name = "att\(attention.taps[index].index)"
                maps.append(
                    ModuleMaps(name: name, heads: heads, height: h, width: w, gates: Array(module.gates[item * k..<(item + 1) * k])))
                for (head, mask) in heads.enumerated() {
                    try AttentionMapRenderer.overlay(image: picture, mask: mask, maskWidth: w, maskHeight: h)
                        .writePNG(to: folder.appendingPathComponent("image_\(number)_\(name)_head\(head + 1).png"))
                }
            }
            let scores = output[item * network.classCount..<(item + 1) * network.classCount]
            let predicted = scores.indices.max { scores[$0] < scores[$1] }! - scores.startIndex
            var title = "image \(number): predicted \(predicted)"
            if let labels { title += ", label \(labels[item])" }
            var zoomBox: (x0: Float, y0: Float, x1: Float, y1: Float)?
            var zoomedPicture: RGBImage?
            if let theta, let zoomed {
                let zoom = ZoomWindow(theta: theta, item: item)
                zoomBox = (zoom.x - zoom.scale, zoom.y - zoom.scale, zoom.x + zoom.scale, zoom.y + zoom.scale)
                let planes = picture.width * picture.height * 3
                zoomedPicture = self.picture(
                    from: Array(zoomed[item * planes..<(item + 1) * planes]),
                    height: picture.height, width: picture.width, normalization: normalization)
                title += String(format: ", zoom s %.2f", zoom.scale)
            }
            let grid = AttentionMapRenderer.grid(
                image: picture, modules: maps, title: title,
                globalGates: Array(globalGates[item * sources..<(item + 1) * sources]),
                zoomBox: zoomBox, zoomedImage: zoomedPicture, cellScale: scale)
            let url = folder.appendingPathComponent("image_\(number).png")
            try grid.writePNG(to: url)
            print("wrote \(url.path)")
        }
    }

    /// The network's inputs, the pictures to draw on, the labels and normalisation when known.
    private func loadImages(
        model: SavedModel
    ) throws
        -> (values: (values: [Float], shape: [Int]), pictures: [RGBImage], labels: [Int32]?, normalization: Normalization?)
    {
        if let input {
            let file = try SafeTensors.read(from: URL(fileURLWithPath: input))
            guard let tensor = file.tensors["input"], tensor.shape.count == 4, tensor.shape[1] == 3 else {
                throw ValidationError("\(input): needs tensor `input` of shape (N, 3, H, W)")
            }
            let values = tensor.floats()
            let (n, h, w) = (tensor.shape[0], tensor.shape[2], tensor.shape[3])
            let pictures = (0..<n).map {
                picture(from: Array(values[$0 * 3 * h * w..<($0 + 1) * 3 * h * w]), height: h, width: w, normalization: nil)
            }
            return ((values, tensor.shape), pictures, nil, nil)
        }
        let seed = model.seed ?? 1
        let (train, test) = try data.load(seed: seed)
        if let bad = indices.first(where: { !(0..<test.count).contains($0) }) {
            throw ValidationError("--indices \(bad) is outside the test set's 0..<\(test.count)")
        }
        let normalization = try model.normalization(else: data.normalization(for: train))
        let loader = BatchLoader(dataset: test, batchSize: 1, shuffle: false, dropLast: false, normalization: normalization, seed: seed)
        let batches = indices.map { loader.batch(epoch: 0, index: $0) }
        let pictures = indices.map { RGBImage(planar: Array(test.image($0)), width: test.width, height: test.height) }
        return (
            (batches.flatMap(\.images), [indices.count, test.channels, test.height, test.width]), pictures,
            batches.flatMap(\.labels), normalization
        )
    }

    /// A normalised (3, H, W) image back in 0…255 for display: through the inverse of the
    /// training normalisation when known, else stretched from its own range.
    private func picture(from planes: [Float], height: Int, width: Int, normalization: Normalization?) -> RGBImage {
        let (low, high) = (planes.min() ?? 0, planes.max() ?? 1)
        let plane = height * width
        let bytes = planes.enumerated().map { index, value -> UInt8 in
            let unit =
                normalization.map { value * $0.std[index / plane] + $0.mean[index / plane] }
                ?? (value - low) / max(high - low, 1e-6)
            return UInt8(max(0, min(255, (unit * 255).rounded())))
        }
        return RGBImage(planar: bytes, width: width, height: height)
    }
}
