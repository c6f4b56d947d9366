import Postgres

/// What kind of failure an error is, as the CLI reports it (DESIGN.md's sysexits).
///
/// Library errors say which category they belong to; only the executable turns a category
/// into an exit code, in one place.
public enum FailureCategory: Sendable, Equatable {
    /// A job ran and failed (exit 1).
    case jobFailed
    /// Bad input data: a CSV row, a forged code (exit 65).
    case badInput
    /// The database cannot be reached (exit 69).
    case unavailable
    /// A temporary failure worth retrying (exit 75).
    case temporary
    /// Bad configuration: job, template or plan files, migrations, a missing secret (exit 78).
    case configuration
}

/// An error that knows its `FailureCategory`.
public protocol CategorizedError: Error, CustomStringConvertible {
    var category: FailureCategory { get }
}

extension PostgresError: CategorizedError {
    public var category: FailureCategory {
        switch kind {
        case .connectionFailed: return .unavailable
        case .connectionLost: return .temporary
        case .server, .decoding, .client: return isTransient ? .temporary : .jobFailed
        }
    }
}

/// A configuration problem found by CouponKit itself (not a definition file error).
public struct ConfigurationError: CategorizedError, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var category: FailureCategory { .configuration }
    public var description: String { message }
}

/// Bad input data (exit 65).
public struct InputError: CategorizedError, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var category: FailureCategory { .badInput }
    public var description: String { message }
}
