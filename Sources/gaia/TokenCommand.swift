import ArgumentParser
import AsyncHTTPClient
import Foundation
import GaiaAPI
import GaiaAnalyzer
import GaiaCore
import GaiaRuntime
import MultipartKit
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Yams

/// `gaia token create|ls|rm`: the API's bearer tokens (admin scope needed).
struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Make, list and revoke API tokens (scopes: admin, invoke, read).",
        subcommands: [Create.self, List.self, Remove.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "create", abstract: "Make a token; it is printed this once.")
        @Argument(help: "What it is for (e.g. ci).") var name: String
        @Option(name: .customLong("scope"), help: "admin, invoke or read; repeat for several (default invoke).") var scopes: [String] = []
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let body = CreateToken(name: name, scopes: scopes.isEmpty ? ["invoke"] : scopes)
            let response = try await server.send(.POST, "/v1/tokens", body: Array(try APICoding.encoder().encode(body)))
            let created = try APICoding.decoder().decode(CreatedToken.self, from: Data(response.body))
            print(created.token)
            FileHandle.standardError.write(Data("token \(created.info.id) (\(created.info.scopes.joined(separator: ", "))): keep it; it is not shown again\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "ls", abstract: "List tokens (never the tokens themselves).")
        @Option(name: .shortAndLong, help: "text, json or yaml.") var output: OutputFormat = .text
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let list = try await server.get("/v1/tokens", as: TokenList.self)
            if try output.print(list) { return }
            for t in list.tokens { print("\(t.id)  \(t.scopes.joined(separator: ",").padding(toLength: 18, withPad: " ", startingAt: 0))  \(t.name)") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rm", abstract: "Revoke a token by id.")
        @Argument(help: "The token's id (gaia token ls).") var id: String
        @OptionGroup var server: ServerOptions

        func run() async throws {
            _ = try await server.send(.DELETE, "/v1/tokens/\(id)")
            print("revoked \(id)")
        }
    }
}
