// swift-tools-version:6.0
import PackageDescription

// Why each dependency earns its place:
// - swift-argument-parser: the CLI contract (subcommands, help, sysexits for usage errors).
// - Yams: job, template and plan files are YAML; its Node API gives line and column for errors.
// - swift-crypto: HMAC-SHA256 tags of coupon codes (issue codes that cannot be forged).
// - swift-log: the logging API libraries take a Logger through; we supply text and JSON handlers.
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
            ]
        ),
        .executableTarget(
            name: "couponbatch",
            dependencies: [
                "CouponKit",
                "Postgres",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
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
