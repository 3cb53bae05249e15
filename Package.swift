// swift-tools-version:6.0
import PackageDescription

// Layers (each depends only on the ones above it), see README "Architecture":
//   CTimeslice      machine: context switch, preemption trampoline, signal handlers, syscall shims
//   TimesliceHost   facts about the Linux host: CPU sets, sysfs topology, cgroups, kernel cmdline
//   Timeslice       the M:N runtime (G, M, P, scheduler, sysmon, preemption, placement)
//   TimesliceLab    experiments, workloads, measurement, results
//   timeslice       the command-line tool
let package = Package(
    name: "Timeslice",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Timeslice", targets: ["Timeslice"]),
        .library(name: "TimesliceLab", targets: ["TimesliceLab"]),
        .executable(name: "timeslice", targets: ["timeslice"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        .target(
            name: "CTimeslice",
            cSettings: [.unsafeFlags(["-O2", "-fno-omit-frame-pointer"])],
            linkerSettings: [.linkedLibrary("numa")]
        ),
        .target(name: "TimesliceHost", dependencies: ["CTimeslice"]),
        .target(
            name: "Timeslice",
            dependencies: ["CTimeslice", "TimesliceHost", .product(name: "Histogram", package: "hdrhistogram-swift")]
        ),
        .target(
            name: "TimesliceLab",
            dependencies: [
                "Timeslice", "TimesliceHost",
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                // The server workload's swift-nio runtime.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "timeslice",
            dependencies: ["TimesliceLab", "TimesliceHost", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // The preemption stress workload: goroutine bodies shared by the tests and by
        // timeslice-stress, the program `make static-stress` builds with --static-swift-stdlib.
        .target(name: "TimesliceStressWorkloads", dependencies: ["Timeslice"]),
        .executableTarget(name: "timeslice-stress", dependencies: ["Timeslice", "TimesliceStressWorkloads"]),
        .testTarget(name: "TimesliceTests", dependencies: ["Timeslice", "CTimeslice", "TimesliceStressWorkloads"]),
        .testTarget(name: "TimesliceHostTests", dependencies: ["TimesliceHost"]),
        .testTarget(name: "TimesliceLabTests", dependencies: ["TimesliceLab", "TimesliceHost", "Timeslice"]),
    ],
    swiftLanguageModes: [.v5]
)
