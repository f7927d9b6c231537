import ArgumentParser
import Foundation
import HeedData

/// `heed export-images`: a dataset's images as PNG files, laid out as an image folder.
struct ExportImages: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-images",
        abstract: "Write a dataset's images as PNG files, one sub-folder per class.",
        discussion: """
            Writes image i of --split as OUT/<class name>/<i>.png (i zero-padded to sort in order), \
            pixels unchanged (PNG is lossless): the layout `--dataset folder` reads from its train/ and \
            test/ folders, and files for `heed predict`. The synthetic set's images follow from --seed \
            and the --synthetic-* options, as in `heed train`.
            """)

    enum Split: String, ExpressibleByArgument, CaseIterable {
        case train, test
    }

    @OptionGroup(title: "Data") var data: DataOptions

    @Option(name: .long, help: "train or test.")
    var split: Split = .test

    @Option(name: .long, help: "Write the first N images only (default: all).")
    var count: Int?

    @Option(name: .long, help: "Seed of the synthetic set (the training run's --seed).")
    var seed: UInt64 = 1

    @Option(name: .long, help: "Folder to write into.")
    var out: String

    func validate() throws {
        if let count, count < 1 { throw ValidationError("--count must be at least 1") }
    }

    func run() throws {
        let (train, test) = try data.load(seed: seed)
        let dataset = split == .train ? train : test
        let total = min(count ?? dataset.count, dataset.count)
        let digits = String(dataset.count - 1).count
        let folder = URL(fileURLWithPath: out)
        for index in 0..<total {
            let number = String(repeating: "0", count: digits - String(index).count) + String(index)
            let url = folder.appendingPathComponent(dataset.classNames[Int(dataset.labels[index])])
                .appendingPathComponent("\(number).png")
            try RGBImage(planar: Array(dataset.image(index)), width: dataset.width, height: dataset.height).writePNG(to: url)
        }
        print("wrote \(total) \(dataset.name) images to \(out)/<class>/")
    }
}
