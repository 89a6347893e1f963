// swift-tools-version:6.0
import PackageDescription

// An app that uses rnnrt as a dependency: here by path, elsewhere by its git URL and a version.
let package = Package(
    name: "StreamFrames",
    dependencies: [
        .package(name: "rnnrt", path: "../.."),
    ],
    targets: [
        .executableTarget(name: "StreamFrames", dependencies: [.product(name: "RNNRT", package: "rnnrt")]),
    ]
)
