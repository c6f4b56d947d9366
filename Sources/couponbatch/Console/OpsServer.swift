import CouponKit
import FlyingFox
import Foundation
import Logging
import Postgres
import Synchronization

/// The scheduler's HTTP side: `/metrics`, `/healthz`, `/readyz` and the read-only console, on one
/// port. FlyingFox serves it on Swift concurrency; every database call is handed to a Dispatch
/// queue, because libpq blocks and must not hold a cooperative thread.
///
/// Bound to loopback it is open (the host's users are trusted as much as its files). Bound beyond
/// loopback every route but the probes needs `Authorization: Bearer $COUPONBATCH_HTTP_TOKEN`.
struct OpsServer: Sendable {
    let host: String
    let port: UInt16
    /// Required on every route but /healthz and /readyz; nil on loopback without a token set.
    let token: String?
    let connect: @Sendable () throws -> Connection
    let console: ConsolePages

    /// Starts serving in the background; returns the address once it listens.
    func start(logger: Logger) throws -> String {
        let server: HTTPServer
        do {
            server = HTTPServer(address: try .inet(ip4: host, port: port), timeout: 15, logger: .disabled)
        } catch {
            throw ConfigurationError("--http-host \(host): not an IPv4 address")
        }
        let routes = self
        let started = DispatchSemaphore(value: 0)
        let outcome = StartOutcome()
        Task {
            await server.appendRoute("GET /healthz") { _ in routes.healthz() }
            await server.appendRoute("GET /readyz") { _ in await routes.readyz() }
            await server.appendRoute("GET /metrics") { request in await routes.guarded(request) { await routes.metrics() } }
            await server.appendRoute("GET /*") { request in
                await routes.guarded(request) { await routes.console.respond(to: request) }
            }
            let serving = Task { try await server.run() }
            do {
                try await server.waitUntilListening(timeout: 5)
                if case .ip4(let address, let boundPort) = await server.listeningAddress {
                    outcome.set(.success("http://\(address):\(boundPort)"))
                }
            } catch {
                serving.cancel()
                outcome.set(.failure(ConfigurationError("cannot listen on \(routes.host):\(routes.port): \(error)")))
            }
            started.signal()
            _ = try? await serving.value
            logger.info("http server stopped")
        }
        started.wait()
        return try outcome.get().get()
    }

    func healthz() -> HTTPResponse {
        Self.text("ok\n")
    }

    /// Ready: the database answers and its schema is what this build expects.
    func readyz() async -> HTTPResponse {
        let problem: String? = await Blocking.run {
            do {
                let status = try MigrationStatus.read(try Migration.embedded(), try connect())
                if !status.pending.isEmpty {
                    return "migrations pending: \(status.pending.map(String.init).joined(separator: ", ")); run couponbatch migrate"
                }
                if !status.changed.isEmpty { return "applied migrations changed: \(status.changed)" }
                return nil
            } catch {
                return "database unreachable: \(error)"
            }
        }
        guard let problem else { return Self.text("ready\n") }
        return Self.text("not ready: \(problem)\n", status: .serviceUnavailable)
    }

    func metrics() async -> HTTPResponse {
        let body = await Blocking.run { MetricsBackend.render(refreshingWith: try? connect()) }
        return HTTPResponse(
            statusCode: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"], body: Data(body.utf8))
    }

    /// Runs `respond` only for a request that carries the token (when one is required).
    func guarded(_ request: HTTPRequest, _ respond: () async -> HTTPResponse) async -> HTTPResponse {
        guard let token else { return await respond() }
        let given = request.headers[.authorization] ?? ""
        guard Self.constantTimeEqual(given, "Bearer " + token) else {
            return HTTPResponse(
                statusCode: .unauthorized, headers: [.contentType: "text/plain; charset=utf-8", HTTPHeader("WWW-Authenticate"): "Bearer"],
                body: Data("a bearer token is required (COUPONBATCH_HTTP_TOKEN)\n".utf8))
        }
        return await respond()
    }

    /// Compares without an early exit, so response timing does not reveal how much of a guess matched.
    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }

    static func text(_ body: String, status: HTTPStatusCode = .ok) -> HTTPResponse {
        HTTPResponse(statusCode: status, headers: [.contentType: "text/plain; charset=utf-8"], body: Data(body.utf8))
    }

    /// Loopback addresses need no token; anything else does.
    static func isLoopback(_ host: String) -> Bool {
        host == "127.0.0.1" || host.hasPrefix("127.") || host == "localhost"
    }
}

/// The server's start result, handed from its task to the thread waiting in `start`.
private final class StartOutcome: Sendable {
    private let value = Mutex<Result<String, any Error>?>(nil)
    func set(_ result: Result<String, any Error>) { value.withLock { $0 = result } }
    func get() -> Result<String, any Error> {
        value.withLock { $0 } ?? .failure(ConfigurationError("the HTTP server did not start"))
    }
}

/// Hands blocking work (libpq) to a Dispatch queue and awaits its result.
enum Blocking {
    static let queue = DispatchQueue(label: "couponbatch.http.blocking", attributes: .concurrent)

    static func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }
}
