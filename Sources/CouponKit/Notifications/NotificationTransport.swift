import Foundation

/// What became of one batch sent to a sink.
public enum SendOutcome: Sendable, Equatable {
    /// Acknowledged (a 2xx, or written and fsync'ed): the batch is `delivered`.
    case delivered
    /// Worth retrying (5xx, 408, 429, timeouts, connection errors); `afterSeconds` is the
    /// receiver's Retry-After, when it gave one.
    case retry(error: String, afterSeconds: Double?)
    /// Refused for good (other 4xx, redirects): the batch is `dead` at once.
    case reject(error: String)
}

/// Sends a batch of encoded notifications somewhere. One value per sink per deliverer; used
/// by one thread at a time.
protocol NotificationTransport {
    /// Starts sending `lines` (the notifications' JSON, one each); the deliverer claims its next
    /// batch while the sink works on this one, then waits for the outcome.
    func start(_ lines: [Data]) -> PendingSend
    /// How long a claim lasts: longer than the slowest send may take.
    var leaseSeconds: Double { get }
}

extension NotificationTransport {
    func send(_ lines: [Data]) -> SendOutcome { start(lines).wait() }
}

/// A batch on its way to a sink.
final class PendingSend {
    private let waitForOutcome: () -> SendOutcome

    init(wait: @escaping () -> SendOutcome) { waitForOutcome = wait }

    /// Already done (a file written and fsync'ed).
    init(done outcome: SendOutcome) { waitForOutcome = { outcome } }

    /// Blocks until the sink answered (or the transport gave up); call once.
    func wait() -> SendOutcome { waitForOutcome() }
}

/// `type: file`: appends NDJSON and fsyncs once per batch; `type: stdout` writes to standard output.
struct FileTransport: NotificationTransport {
    /// nil is standard output.
    let path: String?
    var leaseSeconds: Double { 60 }

    func start(_ lines: [Data]) -> PendingSend { PendingSend(done: append(lines)) }

    private func append(_ lines: [Data]) -> SendOutcome {
        var buffer = Data()
        for line in lines {
            buffer.append(line)
            buffer.append(0x0A)
        }
        guard let path else {
            FileHandle.standardOutput.write(buffer)
            return .delivered
        }
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty, !FileManager.default.fileExists(atPath: directory) {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return .retry(error: "cannot open \(path): \(String(cString: strerror(errno)))", afterSeconds: nil) }
        defer { close(fd) }
        let written = buffer.withUnsafeBytes { raw -> Bool in
            guard let base = raw.baseAddress else { return true }
            var offset = 0
            while offset < raw.count {
                let n = write(fd, base + offset, raw.count - offset)
                if n < 0 {
                    if errno == EINTR { continue }
                    return false
                }
                offset += n
            }
            return true
        }
        guard written else { return .retry(error: "cannot write \(path): \(String(cString: strerror(errno)))", afterSeconds: nil) }
        guard fsync(fd) == 0 else { return .retry(error: "cannot fsync \(path): \(String(cString: strerror(errno)))", afterSeconds: nil) }
        return .delivered
    }
}
