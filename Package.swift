// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "rnnrt",
    products: [
        .library(name: "RNNRT", targets: ["RNNRT"]),
        .executable(name: "rnnrt", targets: ["rnnrt"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - C libraries (system)
        .systemLibrary(
            name: "CLibzip", pkgConfig: "libzip",
            providers: [.apt(["libzip-dev"])]),

        // MARK: - Implementation, bottom to top
        .target(name: "RNNRTKernels"),
        .target(name: "RNNRTCore", dependencies: ["RNNRTKernels"]),
        .target(name: "RNNRTCheckpoints", dependencies: ["RNNRTCore", "CLibzip"]),
        .target(name: "RNNRTLayers", dependencies: ["RNNRTCore", "RNNRTKernels"]),
        .target(name: "RNNRTGraph", dependencies: ["RNNRTCore", "RNNRTKernels", "RNNRTLayers"]),

        // MARK: - Public API
        .target(name: "RNNRT", dependencies: ["RNNRTCore", "RNNRTCheckpoints", "RNNRTLayers", "RNNRTGraph"]),
        .target(
            name: "RNNRTCLI",
            dependencies: ["RNNRT", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "rnnrt", dependencies: ["RNNRTCLI"]),

        // MARK: - Tests
        .target(name: "RNNRTTestSupport", dependencies: ["RNNRT"], path: "Tests/RNNRTTestSupport"),
        .testTarget(name: "RNNRTCoreTests", dependencies: ["RNNRTCore", "RNNRTTestSupport"]),
        .testTarget(name: "RNNRTCheckpointsTests", dependencies: ["RNNRTCheckpoints", "RNNRTTestSupport"]),
        .testTarget(name: "RNNRTLayersTests", dependencies: ["RNNRT", "RNNRTTestSupport"]),
        .testTarget(name: "RNNRTGraphTests", dependencies: ["RNNRTGraph", "RNNRTTestSupport"]),
        .testTarget(name: "RNNRTCLITests", dependencies: ["RNNRTCLI", "RNNRTTestSupport"]),
    ]
)
