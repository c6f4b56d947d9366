import Foundation
import Postgres

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Doctor's "sinks" check: can this host reach every sink of `sinks.yaml`? A webhook gets a TCP
/// connect to its host and port (nothing is sent, so the receiver sees no request), a file sink a
/// writable directory. Only scheme, host and port are printed: a URL's path or query may carry a
/// token, and secrets are never read here.
public enum SinkReachability {
    /// A connect slower than this is as good as unreachable for a doctor run.
    public static let connectTimeoutSeconds = 3.0

    public static func check(_ deployment: Deployment?, _: Connection?) -> DoctorCheck {
        guard let deployment else {
            return DoctorCheck("sinks", .warn, "not checked: the job files do not load", action: "fix the job files first")
        }
        if deployment.sinks.isEmpty { return DoctorCheck("sinks", .ok, "none defined") }
        var reached: [String] = []
        var problems: [(level: DoctorCheck.Level, text: String, action: String)] = []
        for sink in deployment.sinks.values.sorted(by: { $0.name < $1.name }) {
            switch sink.destination {
            case .stdout:
                reached.append("\(sink.name) (stdout)")
            case .file(let path):
                let directory = (path as NSString).deletingLastPathComponent
                let dir = directory.isEmpty ? "." : directory
                if FileManager.default.isWritableFile(atPath: dir) {
                    reached.append("\(sink.name) (\(dir) writable)")
                } else {
                    problems.append(
                        (.fail, "\(sink.name): directory \(dir) is missing or not writable",
                         "create \(dir) and let this user write to it"))
                }
            case .webhook(let url, _, let timeout):
                let host = url.host ?? ""
                let port = url.port ?? (url.scheme == "https" ? 443 : 80)
                let shown = "\(url.scheme ?? "http")://\(host):\(port)"
                let seconds = min(Double(timeout), connectTimeoutSeconds)
                if let error = tcpConnect(host: host, port: port, timeoutSeconds: seconds) {
                    problems.append(
                        (.warn, "\(sink.name): \(shown) \(error)",
                         "check the URL, DNS and firewall from this host; undelivered notifications wait in the outbox"))
                } else {
                    reached.append("\(sink.name) (\(shown) accepts connections)")
                }
            }
        }
        guard !problems.isEmpty else { return DoctorCheck("sinks", .ok, reached.joined(separator: ", ")) }
        let level: DoctorCheck.Level = problems.contains { $0.level == .fail } ? .fail : .warn
        var actions: [String] = []
        for problem in problems where !actions.contains(problem.action) { actions.append(problem.action) }
        return DoctorCheck(
            "sinks", level, (problems.map(\.text) + reached).joined(separator: ", "), action: actions.joined(separator: "; "))
    }

    /// nil when a TCP connection to host:port opens within the timeout, else why not.
    static func tcpConnect(host: String, port: Int, timeoutSeconds: Double) -> String? {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
            hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else { return "does not resolve" }
        defer { freeaddrinfo(list) }
        var last = "refused the connection"
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            if fd < 0 { continue }
            defer { close(fd) }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            if connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 { return nil }
            guard errno == EINPROGRESS else { continue }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = poll(&poller, 1, Int32(timeoutSeconds * 1000))
            if ready == 0 {
                last = "did not answer within \(String(format: "%g", timeoutSeconds)) s"
                continue
            }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            if ready > 0, getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) == 0, failure == 0 { return nil }
        }
        return last
    }
}
