public import Foundation

/// The body of `POST /v1/tokens`.
public struct CreateToken: Codable, Sendable, Equatable {
    /// What it is for (`ci`, `dashboard for alice`).
    public var name: String
    /// `admin`, `invoke`, `read` (at least one).
    public var scopes: [String]

    /// A request.
    public init(name: String, scopes: [String]) {
        self.name = name
        self.scopes = scopes
    }
}

/// A token as listed (never the token itself).
public struct TokenInfo: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var scopes: [String]
    public var createdAt: Date

    enum CodingKeys: String, CodingKey {
        case id, name, scopes
        case createdAt = "created_at"
    }

    /// A value.
    public init(id: String, name: String, scopes: [String], createdAt: Date) {
        self.id = id
        self.name = name
        self.scopes = scopes
        self.createdAt = createdAt
    }
}

/// The answer of `POST /v1/tokens`: the token, shown this once.
public struct CreatedToken: Codable, Sendable, Equatable {
    public var info: TokenInfo
    public var token: String

    /// A value.
    public init(info: TokenInfo, token: String) {
        self.info = info
        self.token = token
    }
}

/// The body of `GET /v1/tokens`.
public struct TokenList: Codable, Sendable, Equatable {
    public var tokens: [TokenInfo]

    /// A list.
    public init(tokens: [TokenInfo]) {
        self.tokens = tokens
    }
}
