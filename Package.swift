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
        .systemLibrary(name: "CProtobufC", pkgConfig: "libprotobuf-c", providers: [.apt(["libprotobuf-c-dev"])]),
        .target(name: "CONNXProto", dependencies: ["CProtobufC"]),

        // MARK: - Implementation, bottom to top
        .target(name: "CRNNRTKernels"),
        .target(name: "RNNRTKernels", dependencies: ["CRNNRTKernels"]),
        .target(name: "RNNRTCore", dependencies: ["RNNRTKernels"]),
        .target(name: "RNNRTCheckpoints", dependencies: ["RNNRTCore", "RNNRTKernels", "CLibzip"]),
        .target(name: "RNNRTLayers", dependencies: ["RNNRTCore", "RNNRTKernels", "CRNNRTKernels"]),
        .target(name: "RNNRTGraph", dependencies: ["RNNRTCore", "RNNRTKernels", "RNNRTLayers"]),
        .target(name: "RNNRTONNX", dependencies: ["RNNRTCore", "RNNRTGraph", "CONNXProto"]),

        // MARK: - Public API
        .target(name: "RNNRT", dependencies: ["RNNRTCore", "RNNRTCheckpoints", "RNNRTLayers", "RNNRTGraph", "RNNRTONNX"]),
        .target(
            name: "RNNRTCLI",
            dependencies: ["RNNRT", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "rnnrt", dependencies: ["RNNRTCLI"]),

        // MARK: - Tests
        .target(name: "RNNRTTestSupport", dependencies: ["RNNRT"], path: "Tests/RNNRTTestSupport"),
        .testTarget(name: "RNNRTKernelsTests", dependencies: ["RNNRTKernels", "RNNRTCore"]),
        .testTarget(name: "RNNRTCoreTests", dependencies: ["RNNRTCore", "RNNRTTestSupport"]),
        .testTarget(name: "RNNRTCheckpointsTests", dependencies: ["RNNRTCheckpoints", "RNNRTLayers", "RNNRTTestSupport"]),
        .testTarget(name: "RNNRTLayersTests", dependencies: ["RNNRT", "RNNRTTestSupport"]),
        // Executor tests load their fixture models with RNNRTONNX and their inputs with RNNRTCheckpoints' NPY.
        .testTarget(name: "RNNRTGraphTests", dependencies: ["RNNRTGraph", "RNNRTONNX", "RNNRTCheckpoints", "RNNRTTestSupport"]),
        .testTarget(name: "RNNRTONNXTests", dependencies: ["RNNRTONNX", "RNNRTTestSupport"]),
        .testTarget(name: "RNNRTTests", dependencies: ["RNNRT", "RNNRTTestSupport"]),
        .testTarget(name: "RNNRTCLITests", dependencies: ["RNNRTCLI", "RNNRTTestSupport"]),
    ]
)
