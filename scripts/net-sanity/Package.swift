// swift-tools-version:6.0
// A release-build sanity figure for goroutine sockets, not a benchmark (the lab's
// `timeslice bench --only net` is): run it with
//   swift run -c release --package-path scripts/net-sanity net-sanity
import PackageDescription

let package = Package(
    name: "net-sanity",
    dependencies: [.package(name: "Timeslice", path: "../..")],
    targets: [
        .executableTarget(name: "net-sanity", dependencies: [.product(name: "Timeslice", package: "Timeslice")]),
    ],
    swiftLanguageModes: [.v5]
)
