import Foundation
import GaiaAPI
public import GaiaRuntime
public import HTTPTypes
public import Hummingbird
import NIOCore

/// Every error the API can answer with is an `HTTPResponseError` that writes
/// `{"error": {"code", "message", "traceback"?}}` with its own status, so Hummingbird answers
/// it without a hand-written middleware.
extension PlatformError: HTTPResponseError {
    /// The HTTP status.
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: statusCode) }

    /// The JSON error response.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        errorResponse(status, APIErrorBody(code: code, message: message))
    }
}

extension PoolError: HTTPResponseError {
    /// 503: retry shortly.
    public var status: HTTPResponse.Status { .serviceUnavailable }

    /// The JSON error response, with `Retry-After: 1`.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = errorResponse(status, APIErrorBody(code: "overloaded", message: description))
        response.headers[.retryAfter] = "1"
        return response
    }
}

extension WorkerError: HTTPResponseError {
    /// The status of the invocation records too (`FunctionRuntime.status(of:)`).
    public var status: HTTPResponse.Status { HTTPResponse.Status(code: FunctionRuntime.status(of: self)) }

    /// The JSON error response; a handler's error carries its traceback.
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body: APIErrorBody
        switch self {
        case .handlerFailed(let message, let traceback): body = APIErrorBody(code: "handler_error", message: message, traceback: traceback)
        case .badRequest: body = APIErrorBody(code: "bad_request", message: description)
        case .timedOut: body = APIErrorBody(code: "timeout", message: description)
        case .cancelled: body = APIErrorBody(code: "cancelled", message: description)
        default: body = APIErrorBody(code: "instance_failed", message: description)
        }
        return errorResponse(status, body)
    }
}

/// An invocation's error with the invocation's id: answered as the error itself would be, with
/// `Gaia-Invocation-Id` added, so a client finds the record of a failed call too.
struct IdentifiedError: HTTPResponseError {
    var error: any Error
    var invocationID: String

    var status: HTTPResponse.Status { (error as? any HTTPResponseError)?.status ?? HTTPResponse.Status(code: FunctionRuntime.status(of: error)) }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = try (error as? any HTTPResponseError)?.response(from: request, context: context)
            ?? errorResponse(status, APIErrorBody(code: "instance_failed", message: "\(error)"))
        response.headers[.gaiaInvocationID] = invocationID
        return response
    }
}

extension HTTPField.Name {
    /// `Gaia-Invocation-Id`: the id an invocation's record is stored under.
    static let gaiaInvocationID = HTTPField.Name("Gaia-Invocation-Id")!
}

/// A JSON response of an API type.
func jsonResponse(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
    let data = (try? APICoding.encoder().encode(value)).map { Array($0) } ?? Array("{}".utf8)
    return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
}

private func errorResponse(_ status: HTTPResponse.Status, _ body: APIErrorBody) -> Response {
    jsonResponse(body, status: status)
}

/// Makes every error answer the API's JSON error body: Hummingbird's own (no route for a method
/// and path, a malformed request) become `PlatformError`s with a code from their status.
struct JSONErrors<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError {
            let code = switch error.status.code {
            case 404: "not_found"
            case 405: "method_not_allowed"
            case 413: "too_large"
            case 400..<500: "bad_request"
            default: "internal"
            }
            let message = error.body ?? (error.status == .notFound
                ? "no route \(request.method) \(request.uri.path.prefix(200)); the API is described at /openapi.json"
                : error.status.reasonPhrase)
            throw PlatformError(code, message, status: Int(error.status.code))
        }
    }
}
