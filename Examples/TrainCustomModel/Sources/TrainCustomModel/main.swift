// Defines a small network of its own with Heed's Swift API (layers from HeedGraph, an
// attention module from HeedModels) and trains it on Heed's embedded synthetic set,
// printing the loss of every step.
//
//     swift run TrainCustomModel                      # 30 steps on the CPU reference backend
//     swift run TrainCustomModel --steps 3 --opencl   # on the default OpenCL device
import Foundation
import HeedData
import HeedGraph
import HeedModels
import HeedOpenCL
import HeedOps
import HeedReference

/// conv 3×3 → batch norm → ReLU; a stride of 2 halves the feature map.
final class ConvBNReLU: Module {
    let conv: Conv2d
    let bn: BatchNorm

    init(_ inChannels: Int, _ outChannels: Int, stride: Int, on backend: any Backend, random: inout SeededGenerator) throws {
        conv = try Conv2d(inChannels, outChannels, kernelSize: 3, stride: stride, padding: 1, on: backend, random: &random)
        bn = try BatchNorm(outChannels, on: backend)
        super.init()
        // The names make the checkpoint's tensor names: `stage1.conv.weight`, `stage1.bn.running_mean`, ...
        register(child: conv, as: "conv")
        register(child: bn, as: "bn")
    }

    func callAsFunction(_ x: Tensor) throws -> Tensor {
        try bn(conv(x)).relu()
    }
}

/// Three stages (32×32 → 16×16 → 8×8 → 4×4), global average pooling, a linear classifier,
/// and an attention module of "Pay Attention to the Activations" on the 8×8 features of the
/// second stage, whose class scores add to the classifier's.
final class SmallNet: Module {
    let stages: [ConvBNReLU]
    let classifier: Linear
    let attention: AttentionModule

    init(classes: Int, on backend: any Backend, seed: UInt64) throws {
        var random = SeededGenerator(seed: seed)
        stages = try [(3, 8, 2), (8, 16, 2), (16, 32, 2)].map { inChannels, outChannels, stride in
            try ConvBNReLU(inChannels, outChannels, stride: stride, on: backend, random: &random)
        }
        classifier = try Linear(32, classes, on: backend, random: &random)
        attention = try AttentionModule(channels: 16, classes: classes, heads: 2, orthogonal: false, on: backend, random: &random)
        super.init()
        for (index, stage) in stages.enumerated() { register(child: stage, as: "stage\(index)") }
        register(child: classifier, as: "classifier")
        register(child: attention, as: "attention")
    }

    /// Logits (N, classes) of images (N, 3, H, W).
    func callAsFunction(_ images: Tensor) throws -> Tensor {
        let second = try stages[1](stages[0](images))
        let attended = try attention(second).output  // (N, classes)
        return try classifier(stages[2](second).globalAveragePool()).adding(attended)
    }
}

var steps = 30
var useOpenCL = false
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    if argument == "--opencl" {
        useOpenCL = true
    } else if argument == "--steps", let count = arguments.popFirst().flatMap({ Int($0) }), count > 0 {
        steps = count
    } else {
        FileHandle.standardError.write(Data("usage: TrainCustomModel [--steps N] [--opencl]\n".utf8))
        exit(2)
    }
}

let backend: any Backend = useOpenCL ? try OpenCLBackend() : ReferenceBackend()
let batchSize = 32
// A small training split (20 batches): quick to generate, and a few steps see little more.
var synthetic = SyntheticFineGrained.Configuration()
synthetic.trainCount = 20 * batchSize
synthetic.testCount = 4 * batchSize
let data = SyntheticFineGrained.make(synthetic, seed: 1)
let normalization = Normalization.measured(on: data.train)
let train = BatchLoader(
    dataset: data.train, batchSize: batchSize, shuffle: true, dropLast: true,
    augmentation: Augmentation(padding: 4, horizontalFlip: true), normalization: normalization, seed: 1)
let test = BatchLoader(
    dataset: data.test, batchSize: batchSize, shuffle: false, dropLast: false,
    normalization: normalization, seed: 1)

func tensor(_ batch: Batch) throws -> Tensor {
    try Tensor(batch.images, shape: [batch.count, 3, data.train.height, data.train.width], on: backend)
}

let model = try SmallNet(classes: synthetic.classes, on: backend, seed: 1)
let optimizer = SGD(parameters: model.namedParameters, configuration: SGD.Configuration(learningRate: 0.1))
print("\(model.parameterCount) parameters on \(backend.name), batches of \(batchSize)")

// The loop Heed's Trainer runs, by hand: forward, loss, backward, one SGD step.
var step = 0
training: for epoch in 0... {
    for batch in train.batches(epoch: epoch) {
        let loss = try model(tensor(batch)).logSoftmax().nllLoss(labels: backend.makeBuffer(batch.labels))
        try loss.backward()
        try optimizer.step()  // also clears the gradients for the next step
        step += 1
        print(String(format: "step %3d  loss %.4f", step, try loss.item()))
        if step == steps { break training }
    }
}

// Evaluation: running statistics in batch norm, nothing recorded for backward.
model.eval()
var correct = 0
try Tensor.withoutGradients {
    for batch in test.batches(epoch: 0) {
        let logits = try model(tensor(batch)).values()
        for (index, label) in batch.labels.enumerated() {
            let row = logits[index * synthetic.classes..<(index + 1) * synthetic.classes]
            if row.firstIndex(of: row.max()!)! - row.startIndex == Int(label) { correct += 1 }
        }
    }
}
print(
    String(
        format: "test accuracy %.1f%% on %d images (chance %.0f%%)",
        100 * Double(correct) / Double(data.test.count), data.test.count, 100 / Double(synthetic.classes)))
