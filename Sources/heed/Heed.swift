import ArgumentParser

@main
struct Heed: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heed",
        abstract: "Train attention-augmented convolutional networks on OpenCL devices.",
        discussion: """
            Device choice, for every command that runs on one: --device P:D, else the \
            HEED_DEVICE environment variable, else the first GPU, else the first OpenCL device. \
            `heed devices` lists them.
            """,
        version: "0.1.0",
        subcommands: [
            Devices.self, Verify.self, Tune.self, Bench.self, Train.self, Predict.self, Evaluate.self, AttentionMaps.self, ExportImages.self, Plot.self,
        ]
    )

}
