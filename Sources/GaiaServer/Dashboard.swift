import Foundation
import GaiaRuntime
import HTTPTypes
import Hummingbird
import NIOCore

/// The web dashboard: static HTML, CSS and JavaScript modules shipped as resources of this target
/// (no build step), read once and served at `/` and `/dashboard/{file}`. The page reads only the
/// documented API (`/openapi.json`).
enum Dashboard {
    /// A file's bytes and content type.
    struct Asset: Sendable {
        var bytes: ByteBuffer
        var contentType: String
    }

    /// Every file of the dashboard, by name (`index.html`, `app.js`…).
    static let assets: [String: Asset] = {
        guard let folder = Bundle.module.url(forResource: "dashboard", withExtension: nil),
            let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path)
        else { return [:] }
        var assets: [String: Asset] = [:]
        for name in names {
            guard let data = try? Data(contentsOf: folder.appendingPathComponent(name)) else { continue }
            assets[name] = Asset(bytes: ByteBuffer(bytes: data), contentType: contentType(of: name))
        }
        return assets
    }()

    static func contentType(of name: String) -> String {
        switch (name as NSString).pathExtension {
        case "html": "text/html; charset=utf-8"
        case "js": "text/javascript; charset=utf-8"
        case "css": "text/css; charset=utf-8"
        case "svg": "image/svg+xml"
        default: "application/octet-stream"
        }
    }

    /// `/` (with `?token=TOKEN` once: a valid token becomes an HttpOnly, SameSite=Strict cookie, so
    /// the page's own API calls carry it) and `/dashboard/{file}`.
    static func routes(tokens: Tokens?) -> RouteCollection<BasicRequestContext> {
        let routes = RouteCollection()
        routes.get("/") { request, _ -> Response in
            if let token = request.uri.queryParameters.get("token") {
                guard let tokens, tokens.scopes(of: token) != nil else {
                    throw PlatformError("unauthorized", "that token is not valid here", status: 401)
                }
                var headers: HTTPFields = [.location: "/"]
                headers[.setCookie] = "\(Authenticate<BasicRequestContext>.cookie)=\(token); Path=/; HttpOnly; SameSite=Strict"
                return Response(status: .seeOther, headers: headers)
            }
            return try response("index.html")
        }
        routes.get("/dashboard/{file}") { _, context in try response(try context.parameters.require("file")) }
        return routes
    }

    static func response(_ name: String) throws -> Response {
        guard let asset = assets[name] else {
            throw HTTPError(.notFound, message: "no dashboard file '\(name)'")
        }
        return Response(
            status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "no-cache"], body: .init(byteBuffer: asset.bytes))
    }
}
