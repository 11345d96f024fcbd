// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every target: Swift 6 mode, explicit existentials, explicit public imports.
let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "gaia",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gaia", targets: ["gaia"]),
        .library(name: "PythonSyntax", targets: ["PythonSyntax"]),
        .library(name: "GaiaCore", targets: ["GaiaCore"]),
        .library(name: "GaiaAnalyzer", targets: ["GaiaAnalyzer"]),
        .library(name: "GaiaRuntime", targets: ["GaiaRuntime"]),
        .library(name: "GaiaStore", targets: ["GaiaStore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.30.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.21.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.27.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
        .package(url: "https://github.com/vapor/multipart-kit", from: "4.7.0"),
    ],
    targets: [
        .target(
            name: "PythonSyntax",
            dependencies: [.product(name: "BigInt", package: "BigInt")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GaiaCore",
            dependencies: [.product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GaiaAnalyzer",
            dependencies: ["PythonSyntax", "GaiaCore", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GaiaStore",
            dependencies: ["GaiaCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .target(name: "CGaiaProcess"),
        .target(name: "CGaiaNVML", linkerSettings: [.linkedLibrary("dl")]),
        .target(
            name: "GaiaAPI",
            dependencies: ["GaiaCore"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GaiaRuntime",
            dependencies: [
                "GaiaCore", "GaiaAnalyzer", "GaiaStore", "PythonSyntax", "CGaiaProcess", "CGaiaNVML",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Resources/gaia_worker.py"), .copy("Resources/gaia_platforms.py")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GaiaSimulator",
            dependencies: ["GaiaCore", .product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GaiaServer",
            dependencies: [
                "GaiaAPI", "GaiaRuntime", "GaiaCore", "GaiaAnalyzer", "GaiaStore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "MultipartKit", package: "multipart-kit"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            ],
            resources: [.copy("Resources/openapi.json"), .copy("Resources/dashboard")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GaiaKube",
            dependencies: [
                "GaiaCore", "GaiaRuntime", "GaiaStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "gaia",
            dependencies: [
                "GaiaAPI",
                "PythonSyntax",
                "GaiaCore",
                "GaiaAnalyzer",
                "GaiaRuntime",
                "GaiaServer",
                "GaiaSimulator",
                "GaiaStore",
                "GaiaKube",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "MultipartKit", package: "multipart-kit"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "parse-bench",
            dependencies: ["PythonSyntax"],
            path: "bench/parse",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "worker-bench",
            dependencies: ["GaiaRuntime", "GaiaCore"],
            path: "bench/worker",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "coldstart-bench",
            dependencies: ["GaiaRuntime", "GaiaCore"],
            path: "bench/coldstart",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "switch-bench",
            dependencies: ["GaiaRuntime", "GaiaCore", "GaiaStore"],
            path: "bench/switch",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "share-bench",
            dependencies: ["GaiaRuntime", "GaiaCore", "GaiaStore"],
            path: "bench/share",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "overhead-bench",
            dependencies: [
                "GaiaRuntime", "GaiaServer", "GaiaStore", "GaiaCore",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "bench/overhead",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PythonSyntaxTests",
            dependencies: ["PythonSyntax"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GaiaAnalyzerTests",
            dependencies: ["GaiaAnalyzer", "GaiaCore", "PythonSyntax"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GaiaCoreTests",
            dependencies: ["GaiaCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GaiaStoreTests",
            dependencies: ["GaiaStore", "GaiaCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GaiaServerTests",
            dependencies: [
                "GaiaAPI", "GaiaServer", "GaiaRuntime", "GaiaStore", "GaiaCore",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GaiaSimulatorTests",
            dependencies: ["GaiaSimulator", "GaiaCore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "simulate-bench",
            dependencies: ["GaiaSimulator", "GaiaCore"],
            path: "bench/simulate",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GaiaKubeTests",
            dependencies: [
                "GaiaKube", "GaiaCore", "GaiaRuntime", "GaiaStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GaiaRuntimeTests",
            dependencies: ["GaiaRuntime", "GaiaCore", "GaiaStore"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
    ]
)
