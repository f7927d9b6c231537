// swift-tools-version:6.1
// Heed: attention-augmented convolutional networks trained on OpenCL devices.
// Layers, bottom to top (docs/design.md §1): C shims → device layer
// (Backend protocol, OpenCL + CLBlast) and reference backend → graph → models → `heed`.
import PackageDescription

/// OpenCL C sources, one kernel family per file, and the preludes put ahead of the families
/// that use them (`reductions`: work-group sums and maxima); each is embedded in the binary.
let kernelFamilies = [
    "blas", "conv", "pooling", "elementwise", "normalization", "optimizer", "random", "softmax", "loss", "attention", "sampling", "layout",
    "gemm_cpu", "grouped_conv", "reductions", "columns",
]

let package = Package(
    name: "Heed",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "heed", targets: ["heed"]),
        .library(name: "HeedOps", targets: ["HeedOps"]),
        .library(name: "HeedOpenCL", targets: ["HeedOpenCL"]),
        .library(name: "HeedReference", targets: ["HeedReference"]),
        .library(name: "HeedGraph", targets: ["HeedGraph"]),
        .library(name: "HeedModels", targets: ["HeedModels"]),
        .library(name: "HeedData", targets: ["HeedData"]),
        .library(name: "HeedTraining", targets: ["HeedTraining"]),
        .library(name: "HeedDistributed", targets: ["HeedDistributed"]),
        .library(name: "HeedVisualization", targets: ["HeedVisualization"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // `swift package generate-documentation`: the DocC catalog in Sources/HeedTraining.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        // MARK: C system libraries

        .systemLibrary(
            name: "COpenCL",
            pkgConfig: "OpenCL",
            providers: [.apt(["ocl-icd-opencl-dev", "pocl-opencl-icd"])]
        ),
        .systemLibrary(
            name: "CCLBlast",
            pkgConfig: "clblast",
            providers: [.apt(["libclblast-dev"])]
        ),

        // Open MPI, for data-parallel training under `mpirun` (docs/distributed.md).
        .systemLibrary(
            name: "CMPI",
            pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]
        ),

        // CLBlast's tuners (C++ templates) behind C functions, for `heed tune` on GPUs.
        .target(
            name: "CCLBlastTuner",
            dependencies: ["COpenCL"],
            linkerSettings: [.linkedLibrary("clblast")]
        ),

        // MARK: Kernels

        .target(
            name: "HeedKernels",
            path: "Kernels",
            exclude: ["README.md"],
            resources: kernelFamilies.map { .embedInCode("\($0).cl") }
        ),

        // MARK: Device layer and reference backend

        // The Backend protocol, op descriptors and errors: no OpenCL.
        .target(name: "HeedOps"),
        // The OpenCL runtime, CLBlast calls and the kernels.
        .target(
            name: "HeedOpenCL",
            dependencies: ["COpenCL", "CCLBlast", "CCLBlastTuner", "HeedKernels", "HeedOps", "HeedSupport"]
        ),
        .target(
            name: "HeedReference",
            dependencies: ["HeedOps"]
        ),
        // Device-against-reference checks, shared by `heed verify` and the tests.
        .target(
            name: "HeedVerify",
            dependencies: ["HeedOps", "HeedReference"]
        ),

        // MARK: Graph layer and data

        .target(name: "HeedSupport"),
        // JPEG and PNG through libjpeg-turbo and libpng (C: libjpeg reports errors by longjmp).
        .target(
            name: "CImageCodecs",
            linkerSettings: [.linkedLibrary("jpeg"), .linkedLibrary("png")]
        ),
        .target(
            name: "HeedData",
            dependencies: ["CImageCodecs", "HeedOps", "HeedSupport"]
        ),
        // Attention-map figures (colour map, bitmap font, canvas), drawn on the CPU.
        .target(
            name: "HeedVisualization",
            dependencies: ["HeedData"]
        ),
        .target(
            name: "HeedGraph",
            dependencies: ["HeedOps", "HeedSupport"]
        ),

        // MARK: Models and training

        .target(
            name: "HeedModels",
            dependencies: ["HeedOps", "HeedGraph"]
        ),
        // Data parallelism over MPI: the process group, gradient averaging, state broadcast.
        .target(
            name: "HeedDistributed",
            dependencies: ["CMPI", "HeedGraph"]
        ),
        // Its DocC catalog, HeedTraining.docc, holds the articles on the whole library: a
        // catalog belongs to one target, and in a combined build its articles can link to
        // the symbols of the targets it depends on: for this top library, all but the backends.
        .target(
            name: "HeedTraining",
            dependencies: ["HeedData", "HeedDistributed", "HeedOps", "HeedGraph", "HeedModels", "HeedSupport"]
        ),

        // MARK: Benchmarks

        // The cases of benchmarks/suites.json (also read by the peers in benchmarks/peers/)
        // and their runner, for `heed bench`.
        .target(
            name: "HeedBench",
            dependencies: ["HeedOps", "HeedOpenCL", "HeedGraph", "HeedModels", "HeedSupport"],
            path: "benchmarks",
            exclude: [
                "README.md", "RESULTS.md", "compare_seeds.sh", "scaling.sh", "long-run.sh", "long-run.json", "loader.sh", "peers",
                "results", "LoaderBench",
            ],
            sources: ["HeedBench"],
            resources: [.embedInCode("suites.json")]
        ),

        // The streaming photo loader alone, for benchmarks/loader.sh (no device).
        .executableTarget(
            name: "heed-loader-bench",
            dependencies: ["HeedData", "HeedOps", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "benchmarks/LoaderBench"
        ),

        // `heed tune`: kernel parameters searched per device, each candidate checked
        // against the reference before it is timed.
        .target(
            name: "HeedTuning",
            dependencies: ["CCLBlastTuner", "HeedBench", "HeedOpenCL", "HeedOps", "HeedReference", "HeedVerify"]
        ),

        // MARK: Command-line tool

        .executableTarget(
            name: "heed",
            dependencies: [
                "HeedBench",
                "HeedData",
                "HeedDistributed",
                "HeedOps",
                "HeedOpenCL",
                "HeedGraph",
                "HeedModels",
                "HeedReference",
                "HeedSupport",
                "HeedTraining",
                "HeedTuning",
                "HeedVerify",
                "HeedVisualization",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // MARK: Tests

        .target(
            name: "HeedTestSupport",
            dependencies: ["HeedOps", "HeedReference", "HeedVerify"],
            path: "Tests/HeedTestSupport"
        ),
        // The shared OpenCL backend of a test process, for the targets that test OpenCL.
        .target(
            name: "HeedOpenCLTestSupport",
            dependencies: ["HeedOpenCL", "HeedOps", "HeedTestSupport"],
            path: "Tests/HeedOpenCLTestSupport"
        ),
        .testTarget(
            name: "HeedOpenCLTests",
            dependencies: [
                "HeedKernels", "HeedOpenCL", "HeedOps", "HeedGraph", "HeedReference", "HeedSupport", "HeedVerify", "HeedTestSupport",
                "HeedOpenCLTestSupport",
            ]
        ),
        .testTarget(
            name: "HeedReferenceTests",
            dependencies: ["HeedOps", "HeedReference", "HeedTestSupport", "HeedVerify"]
        ),
        .testTarget(
            name: "HeedGraphTests",
            dependencies: ["HeedGraph", "HeedOps", "HeedReference", "HeedSupport", "HeedTestSupport"]
        ),
        // Whole networks' composed gradients, in Double on the reference backend.
        .testTarget(
            name: "HeedModelsTests",
            dependencies: ["HeedGraph", "HeedModels", "HeedOps", "HeedReference", "HeedTestSupport"]
        ),
        .testTarget(
            name: "HeedDataTests",
            dependencies: ["HeedData", "HeedSupport"]
        ),
        .testTarget(
            name: "HeedVisualizationTests",
            dependencies: ["HeedData", "HeedVisualization"]
        ),
        .testTarget(
            name: "HeedTrainingTests",
            dependencies: [
                "HeedData", "HeedOps", "HeedOpenCL", "HeedGraph", "HeedModels", "HeedSupport", "HeedTraining",
                "HeedTestSupport", "HeedOpenCLTestSupport", "HeedVerify",
            ]
        ),
        // Reads the package graph: the CPU-only layers have no path to OpenCL.
        .testTarget(name: "HeedLayeringTests"),
        .testTarget(
            name: "HeedBenchTests",
            dependencies: ["HeedBench"]
        ),
        .testTarget(
            name: "HeedTuningTests",
            dependencies: [
                "HeedKernels", "HeedOpenCL", "HeedOps", "HeedReference", "HeedTuning", "HeedVerify", "HeedTestSupport",
                "HeedOpenCLTestSupport",
            ]
        ),
        .testTarget(
            name: "HeedCLITests",
            dependencies: ["heed", "HeedData", "HeedGraph", "HeedModels", "HeedTestSupport", "HeedOpenCLTestSupport"]
        ),
    ]
)
