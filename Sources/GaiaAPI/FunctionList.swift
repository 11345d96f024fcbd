public import Foundation
public import GaiaCore

/// The body of `GET /v1/functions`.
public struct FunctionList: Codable, Sendable, Equatable {
    /// One deployed function.
    public struct Item: Codable, Sendable, Equatable {
        /// Its name.
        public var name: String
        /// Its current revision.
        public var revision: Int
        /// Its execution mode.
        public var mode: ExecutionMode
        /// The rung it runs on now.
        public var backend: String
        /// Instances running or starting.
        public var instances: Int
        /// When the current revision was deployed.
        public var deployedAt: Date

        enum CodingKeys: String, CodingKey {
            case name, revision, mode, backend, instances
            case deployedAt = "deployed_at"
        }

        /// An item.
        public init(name: String, revision: Int, mode: ExecutionMode, backend: String, instances: Int, deployedAt: Date) {
            self.name = name
            self.revision = revision
            self.mode = mode
            self.backend = backend
            self.instances = instances
            self.deployedAt = deployedAt
        }
    }

    /// Every deployed function, by name.
    public var functions: [Item]

    /// A list.
    public init(functions: [Item]) {
        self.functions = functions
    }
}
