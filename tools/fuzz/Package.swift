// swift-tools-version:6.0
// libFuzzer harnesses for rnnrt's readers and graph executor (tools/fuzz/README.md). A package of its own, so the
// project's package stays free of fuzzer flags; build with tools/fuzz/build.sh.
import PackageDescription

let package = Package(
    name: "rnnrt-fuzz",
    dependencies: [.package(name: "rnnrt", path: "../..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .target(name: "FuzzSupport", dependencies: ["CFuzzDriver", .product(name: "RNNRT", package: "rnnrt")]),
        .executableTarget(name: "fuzz-onnx", dependencies: ["FuzzSupport"], path: "Sources/FuzzONNX"),
        .executableTarget(name: "fuzz-checkpoint", dependencies: ["FuzzSupport"], path: "Sources/FuzzCheckpoint"),
        .executableTarget(name: "fuzz-npy", dependencies: ["FuzzSupport"], path: "Sources/FuzzNPY"),
    ]
)
