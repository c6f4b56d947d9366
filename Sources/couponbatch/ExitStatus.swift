import ArgumentParser
import CouponKit
import Foundation
import Postgres

/// sysexits codes of DESIGN.md.
enum ExitStatus: Int32 {
    case ok = 0
    case jobFailed = 1
    case usage = 64
    case dataError = 65
    case unavailable = 69
    case temporaryFailure = 75
    case configuration = 78

    init(_ category: FailureCategory) {
        switch category {
        case .jobFailed: self = .jobFailed
        case .badInput: self = .dataError
        case .unavailable: self = .unavailable
        case .temporary: self = .temporaryFailure
        case .configuration: self = .configuration
        }
    }
}

/// Exits with the code an error deserves, after printing it on stderr.
///
/// Usage errors, `--help` and `--version` go to ArgumentParser, which already exits 64 or 0.
func terminate(withFailure error: any Error) -> Never {
    if let categorized = error as? any CategorizedError {
        printError(categorized.description)
        exit(ExitStatus(categorized.category).rawValue)
    }
    if let status = error as? ExitCode {
        exit(status.rawValue)
    }
    Couponbatch.exit(withError: error)
}

func printError(_ message: String) {
    let text = message.hasSuffix("\n") ? message : message + "\n"
    FileHandle.standardError.write(Data(("couponbatch: " + text).utf8))
}
