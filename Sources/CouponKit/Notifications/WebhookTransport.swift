import Foundation
import Synchronization

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `type: webhook`: POSTs `{"notifications": [...]}` with a `Couponbatch-Signature` header, through
/// Foundation's URLSession (already in the toolchain, so no dependency to build; on Linux it is
/// libcurl underneath, keeping connections alive between batches).
///
/// Redirects are not followed (a signed POST is not re-sent to another address; the 3xx is
/// reported as a refusal). The timeout bounds the whole request, connecting included.
final class WebhookTransport: NotificationTransport, Sendable {
    let url: URL
    let signature: WebhookSignature
    let timeoutSeconds: Double
    private let session: URLSession

    init(url: URL, secret: [UInt8], timeoutSeconds: Double) {
        self.url = url
        self.signature = WebhookSignature(secret: secret)
        self.timeoutSeconds = timeoutSeconds
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = timeoutSeconds
        configuration.timeoutIntervalForResource = timeoutSeconds
        configuration.httpMaximumConnectionsPerHost = 1
        configuration.httpShouldSetCookies = false
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration, delegate: RefuseRedirects(), delegateQueue: nil)
    }

    deinit { session.finishTasksAndInvalidate() }

    var leaseSeconds: Double { timeoutSeconds * 2 + 30 }

    func start(_ lines: [Data]) -> PendingSend {
        var body = Data()
        body.reserveCapacity(lines.reduce(20) { $0 + $1.count + 1 })
        body.append(contentsOf: Array("{\"notifications\":[".utf8))
        for (index, line) in lines.enumerated() {
            if index > 0 { body.append(UInt8(ascii: ",")) }
            body.append(line)
        }
        body.append(contentsOf: Array("]}".utf8))
        var request = URLRequest(url: url, cachePolicy: .reloadIgnoringLocalCacheData, timeoutInterval: timeoutSeconds)
        request.httpMethod = "POST"
        request.httpBody = body
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.setValue("couponbatch", forHTTPHeaderField: "User-Agent")
        request.setValue(
            signature.header(body: body, timestamp: Int64(Date().timeIntervalSince1970)),
            forHTTPHeaderField: WebhookSignature.headerName)
        let result = Mutex<SendOutcome?>(nil)
        let done = DispatchSemaphore(value: 0)
        let task = session.dataTask(with: request) { _, response, error in
            result.withLock { $0 = Self.outcome(response: response, error: error) }
            done.signal()
        }
        task.resume()
        let timeoutSeconds = timeoutSeconds
        return PendingSend {
            // URLSession enforces the timeout; this is only a backstop should it not.
            if done.wait(timeout: .now() + .milliseconds(Int((timeoutSeconds + 5) * 1000))) == .timedOut {
                task.cancel()
                return .retry(error: "no answer within \(Int(timeoutSeconds)) s", afterSeconds: nil)
            }
            return result.withLock { $0 } ?? .retry(error: "no result", afterSeconds: nil)
        }
    }

    static func outcome(response: URLResponse?, error: (any Error)?) -> SendOutcome {
        if let error {
            let code = (error as? URLError)?.code
            if code == .timedOut { return .retry(error: "timed out", afterSeconds: nil) }
            return .retry(error: "connection error: \(code.map { "\($0.rawValue)" } ?? "\(type(of: error))")", afterSeconds: nil)
        }
        guard let http = response as? HTTPURLResponse else { return .retry(error: "not an HTTP response", afterSeconds: nil) }
        let status = http.statusCode
        switch status {
        case 200..<300:
            return .delivered
        case 429, 503:
            return .retry(
                error: "HTTP \(status)",
                afterSeconds: RetryAfter.seconds(http.value(forHTTPHeaderField: "Retry-After"), now: Date()))
        case 408, 500..<600:
            return .retry(error: "HTTP \(status)", afterSeconds: nil)
        case 300..<400:
            return .reject(error: "HTTP \(status) (redirects are not followed)")
        default:
            return .reject(error: "HTTP \(status)")
        }
    }
}

/// Keeps a signed POST where it was addressed.
private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(
        _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}

/// The `Retry-After` header: delay seconds or an HTTP date.
enum RetryAfter {
    static func seconds(_ value: String?, now: Date) -> Double? {
        guard let value = value?.trimmingCharacters(in: .whitespaces), !value.isEmpty else { return nil }
        if let seconds = Double(value), seconds >= 0 { return seconds }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return max(0, date.timeIntervalSince(now))
    }
}
