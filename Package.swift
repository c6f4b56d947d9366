// swift-tools-version:6.0
import PackageDescription

// Why each dependency earns its place:
// - swift-argument-parser: the CLI contract (subcommands, help, sysexits for usage errors).
// - Yams: job, template and plan files are YAML; its Node API gives line and column for errors.
// - swift-crypto: HMAC-SHA256 tags of coupon codes (issue codes that cannot be forged).
// - swift-log: the logging API libraries take a Logger through; we supply text and JSON handlers.
// - swift-metrics: the metrics API CouponKit records through (no backend in the library).
// - swift-prometheus: the executable's metrics backend, rendering Prometheus text for /metrics and
//   node-exporter textfiles (needs swift-atomics only).
// - FlyingFox: the HTTP server for /metrics, /healthz, /readyz and the read-only console. It needs
//   nothing beyond Foundation, so it adds seconds to a clean build; Hummingbird would bring SwiftNIO
//   and minutes to every CI build for a handful of GET routes.
let package = Package(
    name: "couponbatch",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "couponbatch", targets: ["couponbatch"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/swhitty/FlyingFox", exact: "0.27.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"])]
        ),
        .target(
            name: "Postgres",
            dependencies: ["CLibPQ"]
        ),
        .target(
            name: "CouponKit",
            dependencies: [
                "Postgres",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        // Build-time only: sql/*.sql become a Swift source of CouponKit (one binary that migrates).
        .executableTarget(name: "MigrationEmbedder"),
        .plugin(
            name: "EmbedMigrations", capability: .buildTool(), dependencies: ["MigrationEmbedder"],
            path: "Sources/EmbedMigrationsPlugin"),
        .executableTarget(
            name: "couponbatch",
            dependencies: [
                "CouponKit",
                "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "FlyingFox", package: "FlyingFox"),
            ]
        ),
        // Test-only helpers: a database of its own per test, and running the built binary.
        .target(name: "TestSupport", dependencies: ["Postgres"], path: "Tests/TestSupport"),
        .testTarget(name: "PostgresTests", dependencies: ["Postgres", "TestSupport"]),
        .testTarget(name: "CouponKitTests", dependencies: ["CouponKit", "Postgres", "TestSupport"]),
        .testTarget(name: "couponbatchTests", dependencies: ["CouponKit", "Postgres", "TestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
