// swift-tools-version:6.1
// A package downstream of Heed: it depends on Heed by path, as an application would
// by URL, and uses only Heed's library products.
import PackageDescription

let package = Package(
    name: "TrainCustomModel",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "Heed", path: "../..")
    ],
    targets: [
        .executableTarget(
            name: "TrainCustomModel",
            dependencies: [
                .product(name: "HeedData", package: "Heed"),
                .product(name: "HeedGraph", package: "Heed"),
                .product(name: "HeedModels", package: "Heed"),
                .product(name: "HeedOps", package: "Heed"),
                .product(name: "HeedOpenCL", package: "Heed"),
                .product(name: "HeedReference", package: "Heed"),
            ]
        )
    ]
)
