import ArgumentParser
import CouponKit
import Foundation

/// What every CSV import command takes: the file, and --json for scripts.
struct ImportOptions: ParsableArguments {
    @Argument(help: "The CSV file.")
    var file: String

    @Flag(help: "Print the outcome as one JSON object.")
    var json = false

    func validate() throws {
        guard FileManager.default.isReadableFile(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
    }

    /// A refused row on stderr, as `FILE:LINE: field: reason`.
    func report(_ rejection: CSVRejection) {
        printError("\(file):\(rejection.line): " + (rejection.field.map { "\($0): " } ?? "") + rejection.reason)
    }
}
