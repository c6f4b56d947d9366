import Foundation

/// Who holds a lease: host, pid and a random id, so two processes never look alike.
public struct RunnerIdentity: Sendable, CustomStringConvertible {
    public let owner: String

    public init() {
        let host = ProcessInfo.processInfo.hostName
        let random = String(UInt32.random(in: 0...UInt32.max), radix: 36)
        owner = "\(host):\(getpid()):\(random)"
    }

    public var description: String { owner }
}
